#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/fwd.hpp>
#include <caf/send.hpp>

namespace l4sim::actors {

/// Registers l4sim's message types and error category and loads CAF's I/O module.
/// Every actor system that runs l4sim actors is configured through this one call.
void configure_system(caf::actor_system_config& cfg);

/// Renders any CAF error as text without needing an actor system, e.g. for `main`.
std::string describe(const caf::error& err);

/// Writes one whole line to stdout (a newline is added), even with several threads
/// printing at once.
void log_line(std::string_view line);

/// An actor's timer: sends `xs...` to `self` after `delay`, with no sender. CAF 0.17.6's
/// delayed_send(this, ...) names the actor as the sender, and such a message still in flight
/// when the system stops forms a cycle with the actor that is never freed (LeakSanitizer:
/// 4 of 40 runs of the backend idle-timeout test leaked the backend; 0 of 40 without the
/// sender).
template <class Self, class... Ts>
void send_later(Self* self, caf::timespan delay, Ts&&... xs) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, std::forward<Ts>(xs)...);
}

}  // namespace l4sim::actors
