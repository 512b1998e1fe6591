#pragma once

// The whole balancer in one call: dialer, picker, health monitor, listener and, when asked,
// a periodic stats table. Used by the `lb` service and by sim's in-process stage
// (actors/director/local_stage.hpp).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/balancer/health_monitor.hpp"
#include "actors/balancer/listener.hpp"
#include "actors/balancer/picker.hpp"

namespace l4sim::actors {

/// What a director, `lb`'s stdin or a remote `sim` may do with a running balancer: read its
/// stats and the settings it was started with, switch its algorithm, follow its health
/// transitions, and change its membership (add, remove, drain, ready, weight; each answers
/// what it did or an error naming the backend). It forwards to the picker and the health monitor;
/// the `lb` service publishes it.
using balancer_control_actor = membership_actor::extend<
    caf::replies_to<caf::get_atom, stats_atom>::with<protocols::balancer_stats>,
    caf::replies_to<caf::get_atom, settings_atom>::with<protocols::balancer_settings>,
    caf::replies_to<caf::put_atom, algo_atom, std::string>::with<std::string>,
    caf::reacts_to<caf::join_atom, caf::actor>>;

/// Everything that configures a balancer.
struct balancer_config {
  std::string id = "lb";
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::vector<picker_backend> backends;
  std::string algorithm = "rr";
  uint64_t seed = 1;
  uint32_t hash_balance = 125;  ///< `hash`'s load bound, % of the weighted share; 0 = off
  health_config health;
  session_config session;           ///< connect timeout, retries, idle timeouts, buffer sizes
  uint32_t max_conns = 4000;        ///< proxied connections at most; past it the backlog waits
  caf::timespan stats_interval{0};  ///< period of the stats table log; 0 = off
  caf::timespan queue_timeout = std::chrono::seconds{5};   ///< wait for a full backend; 0 = none
  caf::timespan drain_timeout = std::chrono::seconds{30};  ///< of a removed backend
  caf::timespan slow_start{0};  ///< weight ramp after a backend comes UP; 0 = off
  outlier_config outlier;       ///< passive health; `consecutive` 0 = off
  std::string access_log;       ///< one line per connection: "stdout", a file, "" = off
  bool log = true;
  uint32_t loops = 1;  ///< I/O loops accepting and relaying (listener_loops beyond the first)
  /// CAF scheduler policy of the balancer's actor systems (the loops', and the main one's
  /// where the process creates it: `lb` reads it before starting its system).
  scheduler_kind scheduler = scheduler_kind::sharing;
};

/// The actors of a running balancer.
struct balancer_handle {
  std::string id;
  uint16_t port = 0;
  listener_actor listener;
  picker_actor picker;
  health_actor health;
  dialer_actor dialer;
  resolver_actor resolver;
  caf::actor reporter;    ///< invalid when the stats log is off
  caf::actor access_log;  ///< invalid when the access log is off
  balancer_control_actor control;
  std::shared_ptr<listener_loops> loops;  ///< null with one loop

  /// Stops accepting on every loop; open sessions stay.
  void close() const;

  /// Stops accepting, closes every session and stops every actor.
  void stop() const;
};

/// Returns the settings of `cfg` that `get settings` answers.
protocols::balancer_settings settings_of(const balancer_config& cfg);

/// Spawns the control actor of a balancer made of `picker` and `health`, started with
/// `settings`.
balancer_control_actor spawn_balancer_control(caf::actor_system& sys, picker_actor picker,
                                              health_actor health,
                                              protocols::balancer_settings settings = {});

/// Spawns a balancer; fails (bad algorithm, port in use, no backends) without leaving
/// anything running.
caf::expected<balancer_handle> spawn_balancer(caf::actor_system& sys, balancer_config cfg);

}  // namespace l4sim::actors
