#pragma once

// The spawner's pure core: when the next client arrives and what it is. Gaps come from
// the arrival process at the current rate; kinds from the weighted mix; every client gets
// its own seed for the draws of its behaviour. Gaps and tickets come from separate
// streams of the one seed, so the same seed gives the same sequence of client kinds and
// parameters whatever the arrival process or rate.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <caf/timespan.hpp>

#include "protocols/client_messages.hpp"

namespace l4sim::actors {

/// How arrivals are spread in time.
enum class arrival_process {
  uniform,  ///< evenly spaced, 1/rate apart
  poisson,  ///< exponential gaps with mean 1/rate
};

/// Returns "uniform" or "poisson".
std::string to_string(arrival_process x);

/// Parses "uniform" or "poisson".
std::optional<arrival_process> parse_arrival_process(std::string_view text);

/// Returns the original tool's mix: real 50, fire_and_forget 20, stream 15, idle 10, slow 5.
protocols::client_mix default_mix();

/// Parses `real=50,stream=15` (kinds left out weigh 0); nothing when a kind is unknown, a
/// weight is not a whole number, or every weight is 0.
std::optional<protocols::client_mix> parse_mix(std::string_view text);

/// Renders a mix as `real=50,fire_and_forget=20,...` (kinds of weight 0 left out).
std::string format_mix(const protocols::client_mix& mix);

/// One client to spawn.
struct client_ticket {
  uint64_t id = 0;  ///< 1, 2, 3, ... in arrival order
  protocols::client_kind kind = protocols::client_kind::real;
  uint64_t seed = 0;  ///< seeds the client's behaviour
};

/// The arrival schedule and the mix draws of one spawner.
class arrivals {
 public:
  /// Starts a schedule at `rate` clients per second.
  arrivals(double rate, arrival_process process, protocols::client_mix mix, uint64_t seed);

  /// Returns the time until the next arrival, or nothing while the rate is 0.
  std::optional<caf::timespan> next_gap();

  /// Draws the next client's kind and seed.
  client_ticket next_ticket();

  /// Changes the rate (clients per second, 0 pauses); negative or non-finite is ignored.
  void set_rate(double rate);

  /// Changes the mix; a mix whose weights are all 0 is ignored. Returns whether it took.
  bool set_mix(const protocols::client_mix& mix);

  /// Returns the rate in clients per second.
  double rate() const { return rate_; }

  /// Returns the mix.
  const protocols::client_mix& mix() const { return mix_; }

 private:
  double rate_;
  arrival_process process_;
  protocols::client_mix mix_;
  std::mt19937_64 gap_rng_;
  std::mt19937_64 ticket_rng_;
  uint64_t next_id_ = 1;
  double carry_ns_ = 0;  // rounding remainder of the gaps handed out so far
};

}  // namespace l4sim::actors
