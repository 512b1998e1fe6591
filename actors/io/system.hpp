#pragma once

#include <optional>
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

/// CAF 0.17's scheduler policies. `stealing` (CAF's default) gives each worker thread its own
/// queue and, after every job, polls for more: 100 spins, then 500 x a 50 us sleep, then a
/// 10 ms timed wait, over and over while idle. `sharing` keeps one queue whose workers wait
/// on a condition variable until a job comes: nothing runs while nothing is to do.
enum class scheduler_kind { sharing, stealing };

/// "sharing" or "stealing".
std::string_view to_string(scheduler_kind kind);

/// The kind named `text` ("sharing", "stealing"); nullopt for anything else.
std::optional<scheduler_kind> parse_scheduler_kind(std::string_view text);

/// Widens every pipe this process holds to the system's maximum (1 MiB here: 131,072
/// pending jobs instead of 8,192). Call it once an actor system was constructed. Each CAF
/// multiplexer takes jobs from other threads through a pipe whose writers block when it is
/// full, and CAF 0.17.6 can deadlock there: its clock thread, shipping a timer to a broker,
/// blocks on the full pipe while holding the clock's lock, and the loop, the pipe's only
/// reader, blocks on that lock to set a timer. Seen in `sim run` at 2,000 clients/s with
/// 7,900 clients told to stop at once; a wider pipe puts that far past what 20,000 fds allow.
void widen_loop_pipes();

/// Sets the scheduler policy of the actor system `cfg` will start.
void configure_scheduler(caf::actor_system_config& cfg, scheduler_kind kind);

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
