#pragma once

// The commands `lb` reads on its stdin, pure: one line in, a command or the reason it is
// not one out. `add NAME host:port [weight=N] [maxconn=N]`, `rm NAME`, `drain NAME`,
// `ready NAME`, `weight NAME N`, `algo NAME`, `stats`, `quit`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/backend_list.hpp"

namespace l4sim::protocols {

/// What a command line asks for.
enum class lb_verb { add, rm, drain, ready, weight, algo, stats, quit };

/// One parsed command line.
struct lb_command {
  lb_verb verb = lb_verb::stats;
  std::string name;     ///< the backend (or algorithm for `algo`)
  backend_entry entry;  ///< `add`: the new backend as a backend list entry
  uint32_t weight = 1;  ///< `weight`
};

/// Parses one line; returns nothing, with the reason naming the command in `why`, for an
/// unknown command, a missing or extra argument, a bad endpoint, option or weight.
std::optional<lb_command> parse_lb_command(std::string_view line, std::string& why);

/// The commands and their arguments, for the help line.
std::string lb_command_help();

}  // namespace l4sim::protocols
