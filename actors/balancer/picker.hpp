#pragma once

// The picker: the balancer's registry of backends (address, weight, health, open and
// total connections, bytes, failures) and the balancing policy that chooses among them.
//
// A backend takes new connections while it is UP, not draining and not ejected
// (actors/balancer/outlier.hpp), and below its `max_conns`. When every such backend is
// full, the client waits in a FIFO queue of the backend the policy picks among the full
// ones (HAProxy's maxconn and queue): the session is told (`queued_atom`) and stops reading
// from its client; the pick is answered when a slot opens there, or fails with
// `queue_timeout` after `queue_timeout`. Clients queued at a backend that goes DOWN, drains
// or is ejected are dispatched again.
//
// Runtime membership: `add` (a new backend, ramping up under slow start), `delete` (drain,
// then removed once its last connection ends or at `drain_timeout`, when the listener is
// told to close what is left), `drain`, `ready`, `weight`; each answers a line saying what
// it did, or an error naming the backend.
//
// In: pick requests from sessions (with the backends to avoid on a retry and, for the
// hashing algorithms, the client's key: see `client_key`), connection events from sessions
// (opened, failed, retried, released, finished), health transitions
// from the health monitor, new addresses of backends whose names re-resolved (`put_atom`),
// algorithm switches, membership commands, stats requests, its own timers (queue timeouts,
// ends of ejections and drains), and subscriptions (`join_atom`) to the health
// transitions, which it forwards, and the listener that closes sessions. Out: picks, stats,
// `queued_atom` to a queued session, `(delete_atom, id)` to the listener. It links and
// monitors nothing; the balancer owns it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/balancer/outlier.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/type_ids.hpp"

namespace l4sim::actors {

/// What closes the sessions still open to a removed backend at its drain timeout (the
/// listener).
using session_closer_actor = caf::typed_actor<caf::reacts_to<caf::delete_atom, std::string>>;

/// The membership commands of a running balancer, each answered by a line saying what it
/// did or an error naming the backend: add, remove (drain, then drop), drain, make ready,
/// set the weight.
using membership_actor =
    caf::typed_actor<caf::replies_to<caf::add_atom, protocols::backend_spec>::with<std::string>,
                     caf::replies_to<caf::delete_atom, std::string>::with<std::string>,
                     caf::replies_to<drain_atom, std::string>::with<std::string>,
                     caf::replies_to<ready_atom, std::string>::with<std::string>,
                     caf::replies_to<weight_atom, std::string, uint32_t>::with<std::string>>;

/// The picker's interface.
using picker_actor = membership_actor::extend<
    caf::replies_to<pick_atom, std::vector<std::string>>::with<protocols::backend_pick>,
    caf::replies_to<pick_atom, std::vector<std::string>,
                    std::string>::with<protocols::backend_pick>,
    caf::reacts_to<opened_atom, std::string>, caf::reacts_to<failed_atom, std::string>,
    caf::reacts_to<retry_atom, std::string>, caf::reacts_to<caf::close_atom, std::string>,
    caf::reacts_to<protocols::session_finished>, caf::reacts_to<protocols::backend_health_changed>,
    caf::reacts_to<accepted_atom>,
    caf::reacts_to<accepted_atom, uint64_t>,  // the listener's count of one batch of accepts
    caf::reacts_to<caf::put_atom, protocols::backend_spec>,
    caf::reacts_to<caf::join_atom, caf::actor>,
    caf::reacts_to<caf::join_atom, session_closer_actor>,
    caf::reacts_to<caf::timeout_atom, uint64_t>,        // a queued client's deadline
    caf::reacts_to<eject_atom, std::string, uint64_t>,  // an ejection ends
    caf::reacts_to<drain_atom, std::string, uint64_t>,  // a removal's drain timeout
    caf::replies_to<caf::put_atom, algo_atom, std::string>::with<std::string>,
    caf::replies_to<caf::get_atom, stats_atom>::with<protocols::balancer_stats>>;

/// One backend as the balancer knows it.
using picker_backend = protocols::backend_spec;

/// The picker's start-up configuration.
struct picker_config {
  std::vector<picker_backend> backends;
  std::string algorithm = "rr";  ///< see protocols::algorithm_names
  uint64_t seed = 1;             ///< seeds `rand` and `p2c`
  bool log = true;               ///< log algorithm switches and membership changes
  uint32_t hash_balance = 125;   ///< `hash`'s load bound, % of the weighted share; 0 = off
  caf::timespan queue_timeout =
      std::chrono::seconds{5};  ///< in a full backend's queue; 0 = no queue
  caf::timespan drain_timeout = std::chrono::seconds{30};  ///< of a removed backend
  caf::timespan slow_start{0};                             ///< ramp after coming UP; 0 = off
  outlier_config outlier;
};

/// Spawns a picker; fails on an unknown algorithm or an empty backend list.
caf::expected<picker_actor> spawn_picker(caf::actor_system& sys, picker_config cfg);

class picker_fast_path;

/// Spawns a picker and returns, beside it, its fast path for the sessions of live I/O loops.
caf::expected<std::pair<picker_actor, std::shared_ptr<picker_fast_path>>>
spawn_picker_with_fast_path(caf::actor_system& sys, picker_config cfg);

/// The picker's registry as the I/O loops reach it without a message: a session picks and
/// reports on its own thread instead of waking the picker's (two thread switches and a pipe
/// write into the loop per pick, one switch per report). Each call takes the registry's lock
/// if it is free and does only what needs no message of the picker's own (no queue to
/// serve, no timer, no removal, no ejection); otherwise it returns false (or no pick) and the
/// caller sends the message instead, which the picker handles as before. Once a session sent
/// one report, it sends the rest too: the picker applies them in order, so a fast report
/// overtaking a message in its mailbox could count a connection closed before it opened.
/// Virtual runs leave it out: their order is the scheduler's, deterministic.
class picker_fast_path {
 public:
  struct core;
  explicit picker_fast_path(std::shared_ptr<core> c) : core_(std::move(c)) {}

  /// A backend with a free slot, chosen by the policy, as the picker would pick it; none
  /// when clients queue anywhere, every backend is full or unusable, or the lock is busy.
  std::optional<protocols::backend_pick> pick(const std::vector<std::string>& exclude,
                                              const std::string& key);
  bool opened(const std::string& id);
  bool retried(const std::string& id);
  bool released(const std::string& id);  ///< a pick not used (`close_atom`)
  bool finished(const protocols::session_finished& msg);
  bool accepted(uint64_t n);

 private:
  std::shared_ptr<core> core_;
};

/// Renders the stats table a user watches: one row per backend.
std::string format_stats_table(const std::string& title, const protocols::balancer_stats& st);

}  // namespace l4sim::actors
