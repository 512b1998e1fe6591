#pragma once

// The spawner: creates simulated clients (actors/client.hpp) at a configured rate and mix
// against one target (a balancer or a backend), tracks them, aggregates their outcomes per
// kind (actors/client_stats.hpp) and logs a one-line summary periodically. When the run
// ends (its duration passed, or `finish_atom`) it stops spawning, tells every client to
// finish, and answers the run's final stats once the last one reported.
//
// In: the messages of `spawner_actor` (rate and mix changes, finish, wait for the end,
// stats). Out: summary log lines; `client_stats` replies. Owns: the clients (monitored,
// sent an exit when the spawner goes away) and, unless given one, its own dialer.

#include <array>
#include <cstdint>
#include <string>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "actors/clients/arrivals.hpp"
#include "actors/clients/client.hpp"
#include "actors/io/dialer.hpp"
#include "protocols/client_messages.hpp"
#include "protocols/type_ids.hpp"

namespace l4sim::actors {

/// The spawner's interface: steer the arrival process, end the run, read the aggregates.
/// `finish_atom` and `wait_for_atom` both answer with the final stats once every client
/// ended; `finish_atom` also starts the end. Rate is in clients per second (0 pauses).
using spawner_actor =
    caf::typed_actor<caf::reacts_to<caf::put_atom, rate_atom, double>,
                     caf::reacts_to<caf::put_atom, mix_atom, protocols::client_mix>,
                     caf::replies_to<finish_atom>::with<protocols::client_stats>,
                     caf::replies_to<caf::wait_for_atom>::with<protocols::client_stats>,
                     caf::replies_to<caf::get_atom, stats_atom>::with<protocols::client_stats>>;

/// Returns the default profile of every kind, indexed by kind.
std::array<protocols::client_profile, protocols::client_kind_count> default_profiles();

/// How a spawner runs.
struct spawner_config {
  std::string id = "clients";         ///< prefix of log lines
  std::string address = "127.0.0.1";  ///< numeric address of the target
  uint16_t port = 0;                  ///< target port
  double rate = 2;                    ///< clients per second; fractional allowed, 0 = paused
  arrival_process arrival = arrival_process::uniform;
  protocols::client_mix mix = default_mix();
  uint64_t seed = 1;          ///< same seed, same kinds and parameters
  uint32_t max_active = 0;    ///< open clients at most; 0 = unlimited
  caf::timespan duration{0};  ///< the run ends by itself after this; 0 = never
  caf::timespan connect_timeout{std::chrono::seconds{3}};
  /// 0: clients connect from the system's choice of address. N (1..max_source_addresses):
  /// client k connects from 127.0.1.(1 + k mod N), so N distinct client addresses reach a
  /// loopback target (the `hash` algorithm and PROXY headers tell them apart).
  uint32_t source_addresses = 0;
  caf::timespan stats_interval{0};                      ///< period of the summary line; 0 = off
  caf::timespan finish_grace{std::chrono::seconds{5}};  ///< wait for finishing clients
  std::array<protocols::client_profile, protocols::client_kind_count> profiles =
      default_profiles();  ///< the parameters of each kind, indexed by kind
  dialer_actor dialer;     ///< a shared dialer; the spawner makes its own if unset
  io_factory io;           ///< the clients' socket layer; unset: real sockets
  bool log = true;         ///< print the start line and the summary lines
};

/// The most distinct source addresses clients can be spread over (127.0.1.1-127.0.1.254).
inline constexpr uint32_t max_source_addresses = 254;

/// Returns the source address of client `id` among `n` (see `source_addresses`); empty for
/// n = 0.
std::string client_source_address(uint64_t id, uint32_t n);

/// Spawns a spawner; the first client starts at once.
spawner_actor spawn_spawner(caf::actor_system& sys, spawner_config cfg);

}  // namespace l4sim::actors
