#pragma once

// The listener: a broker owning the balancer's listening socket. For every accepted
// connection it tells the picker and forks a session broker (actors/session.hpp), which
// it links: when the listener goes, every session goes with it.
//
// It accepts with its own handler on CAF's multiplexer (CAF's doorman spins on EMFILE and
// takes one connection per wake-up): up to a batch per wake-up, never past `max_conns`
// sessions. At the cap it stops accepting, so the kernel's backlog holds the rest, and
// resumes when a session ends. When accept() fails for want of fds or memory it pauses,
// logs once, and retries when a session ends or after a short delay. While any idle
// timeout is on, it sends every session a `tick_atom` each sweep period.
//
// In: `close_atom` (stop accepting, keep the sessions), `(delete_atom, backend id)` (the
// picker, at a removed backend's drain timeout: passed to every session, and the sessions
// of that backend close), stats requests (sessions alive),
// the list of session actors (for inspection).
// Out: `accepted_atom` to the picker, `tick_atom` to the sessions.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/balancer/session.hpp"
#include "actors/io/system.hpp"

namespace l4sim::actors {

/// The listener's interface.
using listener_actor =
    caf::typed_actor<caf::reacts_to<caf::close_atom>, caf::reacts_to<caf::delete_atom, std::string>,
                     caf::replies_to<caf::get_atom, stats_atom>::with<uint64_t>,
                     caf::replies_to<caf::get_atom, sessions_atom>::with<std::vector<caf::actor>>>;

/// Where the balancer listens and what its sessions need.
struct listener_config {
  std::string host = "127.0.0.1";
  uint16_t port = 0;          ///< 0 picks a free port
  uint32_t max_conns = 4000;  ///< sessions at most; 0 = no cap
  std::string id = "lb";      ///< name in logs
  bool log = true;
  bool reuse_port = false;  ///< SO_REUSEPORT: other loops' listeners share the port
  session_deps sessions;
};

/// A spawned listener and its port.
struct listener_handle {
  listener_actor actor;
  uint16_t port = 0;
};

/// Opens the listening socket and spawns the listener; fails without spawning anything.
caf::expected<listener_handle> spawn_listener(caf::actor_system& sys, listener_config cfg);

/// Further I/O loops of one balancer. CAF 0.17 runs every broker of an actor system on its
/// middleman's one thread, so each further loop is an actor system of its own with a dialer
/// and a listener on the same port (SO_REUSEPORT; the kernel spreads connections over the
/// loops). Their sessions use the one picker of the main system, which stays the owner of the
/// registry. Destroying this stops the loops' actors and waits for their systems.
class listener_loops {
 public:
  listener_loops() = default;
  listener_loops(const listener_loops&) = delete;
  listener_loops& operator=(const listener_loops&) = delete;
  ~listener_loops();

  /// Starts `n` loops listening on `cfg.port` (which must be set: the main listener's); the
  /// listener must have been opened with `reuse_port`. Each loop's actor system runs
  /// `scheduler`'s policy. Fails without leaving any running.
  static caf::expected<std::shared_ptr<listener_loops>> spawn(
      size_t n, listener_config cfg, scheduler_kind scheduler = scheduler_kind::sharing);

  /// Returns the loops' listeners.
  const std::vector<listener_actor>& listeners() const { return listeners_; }

  /// Sends every listener `close_atom` (stop accepting, keep the sessions).
  void close() const;

  /// Stops every actor of the loops (sessions go with their listener).
  void stop() const;

 private:
  std::vector<std::unique_ptr<caf::actor_system_config>> cfgs_;
  std::vector<std::unique_ptr<caf::actor_system>> systems_;
  std::vector<listener_actor> listeners_;
  std::vector<caf::actor> dialers_;
};

}  // namespace l4sim::actors
