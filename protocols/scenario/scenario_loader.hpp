#pragma once

// Reads scenario files (YAML) into the `scenario` model and validates all of it before
// anything runs: unknown keys, wrong types, bad values, duplicate ids, events and
// expectations on backends that do not exist. Every problem becomes a `load_error` with
// file, line and column; nothing throws. The schema is documented in docs/scenarios.md.

#include <optional>
#include <string>
#include <vector>

#include "protocols/scenario/overrides.hpp"
#include "protocols/scenario/scenario.hpp"

namespace l4sim::protocols {

/// One problem found in a scenario file.
struct load_error {
  std::string file;  ///< the path, or the name given for text
  int line = 0;      ///< 1-based; 0 = unknown
  int column = 0;    ///< 1-based; 0 = unknown
  std::string message;

  /// Renders `file:line:column: message`, e.g.
  /// `scenarios/x.yaml:12:5: unknown key "dealy" in backend (known: id, delay, ...)`.
  std::string to_string() const;
};

/// The outcome of loading: a scenario when there were no errors, else every error found.
struct load_result {
  std::optional<scenario> value;  ///< set if and only if `errors` is empty
  std::vector<load_error> errors;

  /// Returns whether the scenario loaded without errors.
  bool ok() const { return value.has_value(); }

  /// Renders every error, one per line.
  std::string error_text() const;
};

/// Parses and validates scenario text; `name_for_errors` stands for the file in errors and
/// in the scenario's `file`; `sets` are applied before validation (overrides.hpp).
load_result load_scenario_text(const std::string& yaml, const std::string& name_for_errors,
                               const std::vector<scenario_override>& sets = {});

/// Reads, parses and validates a scenario file; its `name` must equal the file's base name.
/// `sets` are applied before validation.
load_result load_scenario_file(const std::string& path,
                               const std::vector<scenario_override>& sets = {});

/// Returns `scn` with its duration set to `length` (e.g. `sim run --duration`), or an error
/// at the line and column of every timeline event and expectation window (a health
/// expectation's `after + within`) that would fall after it; `source` names the new length
/// in messages, e.g. "--duration 12s".
load_result with_length(const scenario& scn, duration length, const std::string& source);

/// Returns the path a scenario NAME or path stands for: anything with a `/` or ending in
/// `.yaml` is a path, any other text is `<scenarios_dir>/<NAME>.yaml`.
std::string scenario_path(const std::string& name_or_path, const std::string& scenarios_dir);

/// Resolves `name_or_path` with `scenario_path` and loads it; a missing file is an error
/// that lists the scenarios available in `scenarios_dir`.
load_result find_scenario(const std::string& name_or_path, const std::string& scenarios_dir,
                          const std::vector<scenario_override>& sets = {});

/// One entry of `list_scenarios`.
struct scenario_summary {
  std::string name;         ///< the file's base name
  std::string description;  ///< one line; `(invalid: <first error>)` for a bad file
  std::string path;
};

/// Returns every `*.yaml` scenario in `dir`, sorted by name; nothing if `dir` is unreadable.
std::vector<scenario_summary> list_scenarios(const std::string& dir);

}  // namespace l4sim::protocols
