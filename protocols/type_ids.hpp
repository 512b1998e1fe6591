#pragma once

// The one CAF type ID block of l4sim: every custom message type and atom.
// Keep it in one place: CAF numbers the entries by their order.

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include "protocols/backend_messages.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/client_messages.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(l4sim, caf::first_custom_type_id)

// -- backend server ----------------------------------------------------------
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::backend_stats))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::duration_value))

CAF_ADD_ATOM(l4sim, l4sim, kill_atom, "kill")
CAF_ADD_ATOM(l4sim, l4sim, restart_atom, "restart")
CAF_ADD_ATOM(l4sim, l4sim, delay_atom, "delay")
CAF_ADD_ATOM(l4sim, l4sim, max_conns_atom, "max_conns")
CAF_ADD_ATOM(l4sim, l4sim, chaos_atom, "chaos")
CAF_ADD_ATOM(l4sim, l4sim, hang_atom, "hang")
CAF_ADD_ATOM(l4sim, l4sim, stats_atom, "stats")
CAF_ADD_ATOM(l4sim, l4sim, sweep_atom, "sweep")
CAF_ADD_ATOM(l4sim, l4sim, reply_atom, "reply")

// -- balancer ----------------------------------------------------------------
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::backend_spec))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::backend_pick))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::backend_row))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::balancer_stats))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::session_finished))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::backend_health_changed))

CAF_ADD_ATOM(l4sim, l4sim, pick_atom, "pick")
CAF_ADD_ATOM(l4sim, l4sim, opened_atom, "opened")
CAF_ADD_ATOM(l4sim, l4sim, failed_atom, "failed")
CAF_ADD_ATOM(l4sim, l4sim, algo_atom, "algo")
CAF_ADD_ATOM(l4sim, l4sim, resume_atom, "resume")
CAF_ADD_ATOM(l4sim, l4sim, dialed_atom, "dialed")
CAF_ADD_ATOM(l4sim, l4sim, accepted_atom, "accepted")
CAF_ADD_ATOM(l4sim, l4sim, sessions_atom, "sessions")
CAF_ADD_ATOM(l4sim, l4sim, resolve_atom, "resolve")
CAF_ADD_ATOM(l4sim, l4sim, drain_atom, "drain")
CAF_ADD_ATOM(l4sim, l4sim, ready_atom, "ready")
CAF_ADD_ATOM(l4sim, l4sim, weight_atom, "weight")
CAF_ADD_ATOM(l4sim, l4sim, queued_atom, "queued")
CAF_ADD_ATOM(l4sim, l4sim, retry_atom, "retry")
CAF_ADD_ATOM(l4sim, l4sim, eject_atom, "eject")
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::balancer_settings))
CAF_ADD_ATOM(l4sim, l4sim, settings_atom, "settings")
CAF_ADD_ATOM(l4sim, l4sim, proxy_atom, "proxy")

// -- clients -----------------------------------------------------------------
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::client_mix))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::client_profile))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::client_finished))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::client_type_row))
CAF_ADD_TYPE_ID(l4sim, (l4sim::protocols::client_stats))

CAF_ADD_ATOM(l4sim, l4sim, rate_atom, "rate")
CAF_ADD_ATOM(l4sim, l4sim, mix_atom, "mix")
CAF_ADD_ATOM(l4sim, l4sim, finish_atom, "finish")
CAF_ADD_ATOM(l4sim, l4sim, arrive_atom, "arrive")

CAF_END_TYPE_ID_BLOCK(l4sim)
