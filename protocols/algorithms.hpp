#pragma once

// The balancing algorithms by name: the one table the scenario loader, `lb`'s options and
// the picker's policy factory (actors/balancer/balancing.cpp) share.

#include <string>
#include <vector>

namespace l4sim::protocols {

/// The algorithm names, in the order help texts list them.
inline const std::vector<std::string>& algorithm_names() {
  static const std::vector<std::string> names{"rr", "lc", "rand", "p2c", "hash", "maglev"};
  return names;
}

/// Renders the names as `rr|lc|rand|...`.
inline std::string algorithm_list() {
  std::string text;
  for (auto& n : algorithm_names()) {
    text += (text.empty() ? "" : "|") + n;
  }
  return text;
}

}  // namespace l4sim::protocols
