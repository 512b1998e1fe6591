#pragma once

// Dotted overrides of scenario keys (`sim run NAME --set balancer.algorithm=lc`): applied to
// the parsed YAML tree before the loader validates it, so an overridden value is checked
// exactly like one written in the file. A path walks maps by key and lists by the `id` of
// an entry (`backends.server-3.delay`) or by 0-based position (`timeline.0.at`); missing
// map keys are created, so `balancer.health.interval=1s` works on a file without `health`.
// The value is read as YAML: `2s`, `lc`, `{real: 100}`, `[5s, end]`. Errors a value or a
// key causes name the override (`--set balancer.algorithm=xx: algorithm in balancer: ...`).

#include <functional>
#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace l4sim::protocols {

struct load_result;

/// One `KEY=VALUE` override as given on the command line or in an experiment file.
struct scenario_override {
  std::string source;             ///< how errors name it, e.g. `--set clients.rate=50/s`
  std::vector<std::string> path;  ///< e.g. `clients`, `rate`
  std::string value;              ///< e.g. `50/s`
};

/// An override, or why the text is not one.
struct parsed_override {
  scenario_override value;
  std::string error;  ///< empty when `value` is usable
};

/// Splits `KEY=VALUE` at the first `=`; `flag` (`--set`) prefixes `source` and errors. No
/// `=`, an empty key or an empty path component (`a..b`) is an error naming the text.
parsed_override parse_override(const std::string& flag, const std::string& text);

/// Renders a path as `a.b.c`.
std::string dotted(const std::vector<std::string>& path);

namespace detail {

/// Applies one override to a document in place; returns why it cannot (a list entry that
/// does not exist, a path through a plain value, a value that is not YAML), or "".
std::string apply_override(YAML::Node& root, const scenario_override& o);

/// Loads `root` with every override applied, through `read` (the loader's validation of a
/// whole document). When the result has errors, each is attributed to the first override
/// after which it appears and renamed after it (no line: the text is the override's).
load_result load_with_overrides(const YAML::Node& root, const std::vector<scenario_override>& sets,
                                const std::function<load_result(const YAML::Node&)>& read);

}  // namespace detail

}  // namespace l4sim::protocols
