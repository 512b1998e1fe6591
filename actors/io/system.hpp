#pragma once

#include <string>
#include <string_view>

#include <caf/fwd.hpp>

namespace l4sim::actors {

/// Registers l4sim's message types and error category and loads CAF's I/O module.
/// Every actor system that runs l4sim actors is configured through this one call.
void configure_system(caf::actor_system_config& cfg);

/// Renders any CAF error as text without needing an actor system, e.g. for `main`.
std::string describe(const caf::error& err);

/// Writes one whole line to stdout (a newline is added), even with several threads
/// printing at once.
void log_line(std::string_view line);

}  // namespace l4sim::actors
