#pragma once

// Internals of the scenario loader, shared by its .cpp files and nobody else: an error
// sink that stamps file, line and column, a map reader that rejects unknown and duplicate
// keys, and readers for each kind of scalar (duration, count, decimal, rate, choice).

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

// GCC 12 sees a dangling pointer in yaml-cpp's node iterators; a known false positive.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#include <yaml-cpp/yaml.h>
#pragma GCC diagnostic pop
#else
#include <yaml-cpp/yaml.h>
#endif

#include "protocols/scenario/scenario.hpp"
#include "protocols/scenario/scenario_loader.hpp"

namespace l4sim::protocols::detail {

/// Collects the errors of one file, each stamped with a position.
class error_sink {
 public:
  /// Creates a sink whose errors name `file`.
  explicit error_sink(std::string file) : file_(std::move(file)) {}

  /// Records `message` at a YAML mark (0-based; a null mark gives an unknown position).
  void add(const YAML::Mark& mark, std::string message);

  /// Records `message` at the position of `node`.
  void add(const YAML::Node& node, std::string message) { add(node.Mark(), std::move(message)); }

  /// Returns the file name errors carry.
  const std::string& file() const { return file_; }

  /// Returns how many errors were recorded.
  size_t size() const { return errors_.size(); }

  /// Moves the errors out.
  std::vector<load_error> take() { return std::move(errors_); }

 private:
  std::string file_;
  std::vector<load_error> errors_;
};

/// Returns "a map", "a list", "a value" or "nothing", for "expected X, got Y" messages.
std::string describe(const YAML::Node& node);

/// Renders a node compactly in YAML flow style, e.g. `{at: 10s, kill: server-1}`.
std::string flow_text(const YAML::Node& node);

/// Returns the scalar text of `node`, or reports `what` as needing a single value.
std::optional<std::string> read_text(error_sink& sink, const YAML::Node& node,
                                     std::string_view what);

/// Checks that `text` (read from `node`) is a usable id (`is_safe_id`); reports it if not.
bool check_id(error_sink& sink, const YAML::Node& node, std::string_view what,
              const std::string& text);

/// Reads a duration with a unit (`150ms`, `3s`, `2m`; a bare `0` is allowed).
std::optional<duration> read_duration(error_sink& sink, const YAML::Node& node,
                                      std::string_view what, bool positive = false);

/// Reads a whole number in [min, max].
std::optional<uint64_t> read_count(error_sink& sink, const YAML::Node& node, std::string_view what,
                                   uint64_t min, uint64_t max);

/// Reads a decimal number in [min, max].
std::optional<double> read_decimal(error_sink& sink, const YAML::Node& node, std::string_view what,
                                   double min, double max);

/// Reads a rate per second: `2/s`, `0.5/s`, `120/m`, `3600/h` or a plain number.
std::optional<double> read_rate(error_sink& sink, const YAML::Node& node, std::string_view what);

/// Reads one of `allowed`.
std::optional<std::string> read_choice(error_sink& sink, const YAML::Node& node,
                                       std::string_view what,
                                       const std::vector<std::string>& allowed);

/// Reads a client mix `{type: weight, ...}`: known types, at least one weight above 0;
/// entries come out in `client_types()` order.
std::optional<std::vector<mix_entry>> read_mix(error_sink& sink, const YAML::Node& node,
                                               std::string_view what);

/// Joins names with ", ".
std::string join(const std::vector<std::string>& names);

/// A YAML map whose keys were checked against the ones its section knows.
class map_reader {
 public:
  /// Checks that `node` is a map, reports keys not in `known` and duplicate keys.
  map_reader(error_sink& sink, const YAML::Node& node, std::string section,
             std::vector<std::string> known);

  /// Returns whether the node was a map (if not, an error was reported).
  bool is_map() const { return is_map_; }

  /// Returns the node itself.
  const YAML::Node& node() const { return node_; }

  /// Returns the value under `key`, if present.
  std::optional<YAML::Node> find(std::string_view key) const;

  /// Returns the value under `key`, or reports it missing.
  std::optional<YAML::Node> require(std::string_view key);

  /// Returns the known keys present, in file order.
  const std::vector<std::string>& present() const { return present_; }

  /// Returns "`key` in `section`", the subject of a value error.
  std::string what(std::string_view key) const;

  /// Reads an optional duration into `out`; returns whether one was read.
  bool duration_into(std::string_view key, duration& out, bool positive = false);

  /// Reads an optional whole number in [min, max] into `out`.
  template <class Int>
  bool count_into(std::string_view key, Int& out, uint64_t min, uint64_t max) {
    if (auto node = find(key)) {
      if (auto value = read_count(sink_, *node, what(key), min, max)) {
        out = static_cast<Int>(*value);
        return true;
      }
    }
    return false;
  }

  /// Reads an optional text into `out`.
  bool text_into(std::string_view key, std::string& out);

  /// Reads an optional choice among `allowed` into `out`.
  bool choice_into(std::string_view key, std::string& out, const std::vector<std::string>& allowed);

 private:
  error_sink& sink_;
  YAML::Node node_;
  std::string section_;
  bool is_map_ = false;
  std::vector<std::string> present_;
  std::vector<std::pair<std::string, YAML::Node>> values_;
};

/// The limits a scenario's events and expectations are checked against.
struct scenario_scope {
  duration length{0};
  std::set<std::string> declared;  ///< backends of the `backends` section
  std::set<std::string> ever;      ///< declared or added by the timeline
};

/// Reads one backend map (`backends` entries and `add_backend`); errors go to `sink`, and
/// the backend comes back whenever its id could be read.
std::optional<scenario_backend> read_backend(error_sink& sink, const YAML::Node& node,
                                             const std::string& section);

/// Reads the `timeline` list, sorts it stably by time and checks every backend it names
/// exists at that time; adds the backends it adds to `scope.ever`.
std::vector<timeline_event> read_timeline(error_sink& sink, const YAML::Node& node,
                                          scenario_scope& scope);

/// Reads the `expect` list against the backends in `scope.ever`.
std::vector<expectation> read_expectations(error_sink& sink, const YAML::Node& node,
                                           const scenario_scope& scope);

}  // namespace l4sim::protocols::detail
