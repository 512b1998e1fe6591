#pragma once

// The simulated backend server: one CAF broker owning its listening socket and every
// connection accepted on it. It answers the line protocol (protocols/line_codec.hpp),
// holds replies for the configured delay with timer messages to itself (never a sleep,
// so one slow request delays no other connection), refuses connections past max_conns,
// drops a chaos share right after accept, holds the first reply of a connection for the
// hang time, and closes connections idle for longer than the idle timeout.
//
// In: the control messages of `backend_actor` (from the director, the service's control
// endpoint or tests). Out: replies on its sockets and log lines. Links: none; the owner
// keeps it alive and sends it an exit to stop.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "protocols/backend_messages.hpp"
#include "protocols/type_ids.hpp"

namespace l4sim::actors {

/// The control interface of a backend server.
using backend_actor =
    caf::typed_actor<caf::reacts_to<caf::put_atom, delay_atom, protocols::duration_value>,
                     caf::reacts_to<caf::put_atom, max_conns_atom, uint32_t>,
                     caf::reacts_to<caf::put_atom, chaos_atom, uint32_t>,
                     caf::reacts_to<caf::put_atom, hang_atom, protocols::duration_value>,
                     caf::reacts_to<caf::put_atom, caf::timeout_atom, protocols::duration_value>,
                     caf::reacts_to<caf::put_atom, proxy_atom, bool>, caf::reacts_to<kill_atom>,
                     caf::replies_to<restart_atom>::with<uint16_t>,
                     caf::replies_to<caf::get_atom, stats_atom>::with<protocols::backend_stats>>;

/// How a backend server behaves; every field can also be changed at run time except
/// `id`, `host` and `port`.
struct backend_config {
  std::string id = "server";
  std::string host = "127.0.0.1";   ///< address to listen on
  uint16_t port = 0;                ///< 0 picks a free port
  caf::timespan delay{0};           ///< added before every reply but STREAM_ACK
  uint32_t max_conns = 0;           ///< 0 = unlimited
  caf::timespan idle_timeout{0};    ///< 0 = never close idle connections
  uint32_t chaos_pct = 0;           ///< share of connections dropped right after accept
  caf::timespan hang{0};            ///< extra hold on each connection's first reply
  uint64_t seed = 1;                ///< seeds the chaos draws
  caf::timespan stats_interval{0};  ///< period of the one-line stats log; 0 = off
  bool log = true;                  ///< print events (capacity, kill, restart, stats)
  /// Each connection starts with a PROXY protocol header (v1 or v2) naming the real
  /// client; a connection whose header is bad is closed and counted (`proxy_errors`).
  bool accept_proxy = false;
};

/// A spawned backend and the port it listens on.
struct backend_handle {
  backend_actor actor;
  uint16_t port = 0;
};

/// Opens the listening socket and spawns the broker; fails (e.g. port in use) without
/// spawning anything.
caf::expected<backend_handle> spawn_backend(caf::actor_system& sys, backend_config cfg);

class broker_io;

/// Spawns a backend whose listener and connections `io` provides (the virtual network's,
/// actors/vnet/vnet.hpp); `cfg.port` is the port it already listens on.
backend_actor spawn_backend_on(caf::actor_system& sys, backend_config cfg,
                               std::shared_ptr<broker_io> io);

/// Renders the one-line stats log of a backend.
std::string format_backend_stats(const protocols::backend_stats& st);

}  // namespace l4sim::actors
