#pragma once

#include <optional>

#include "protocols/units.hpp"

namespace l4sim::apps {

/// Blocks SIGINT and SIGTERM in the calling thread and so in every thread started after
/// it (construct it before the actor system), and lets `main` wait for them in one place.
class signal_guard {
 public:
  signal_guard();

  /// Waits for SIGINT/SIGTERM; returns the signal, or 0 when `timeout` passed first.
  int wait(std::optional<protocols::duration> timeout = std::nullopt);
};

}  // namespace l4sim::apps
