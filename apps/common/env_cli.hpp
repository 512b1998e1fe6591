#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "protocols/backend_list.hpp"
#include "protocols/units.hpp"

namespace CLI {
class App;
}

namespace l4sim::apps {

/// A configuration value that is missing or malformed; the message names the variable.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The options of a service binary: each one is a flag and an environment variable at once
/// (the flag wins), as the original tool was configured by environment variables.
/// Values are checked by the typed getters, which name the variable in their errors.
class env_cli {
 public:
  /// Creates the option set of the program `name`.
  env_cli(std::string name, std::string description);
  ~env_cli();

  /// Declares `--flag` bound to the variable `env`; an empty `fallback` with `required`
  /// makes it mandatory.
  void option(const std::string& flag, const std::string& env, const std::string& help,
              std::string fallback = {}, bool required = false);

  /// Declares the switch `--flag`, also turned on by the variable `env` set to 1, true or
  /// yes (0, false, no or empty leave it off).
  void flag(const std::string& flag, const std::string& env, const std::string& help);

  /// Parses the command line and the environment. Returns an exit code when the program
  /// should stop now (0 after --help, 2 on a bad command line), nothing otherwise.
  std::optional<int> parse(int argc, char** argv);

  /// Takes the values from `env` alone, as a service started with exactly that
  /// environment would see them (what sim renders for its services is read back through
  /// this in tests). Throws a config_error for a variable that is not an option or a
  /// missing required one.
  void parse_env(const std::map<std::string, std::string>& env);

  /// Returns the raw text of `env` (flag, variable or fallback).
  std::string text(const std::string& env) const;

  /// Returns `env` as an integer in [0, max].
  uint64_t number(const std::string& env, uint64_t max) const;

  /// Returns the switch `env`: whether its flag was given or its variable says yes.
  bool enabled(const std::string& env) const;

  /// Returns `env` as a TCP port; 0 only when `allow_zero`.
  uint16_t port(const std::string& env, bool allow_zero = false) const;

  /// Returns `env` as a duration; a bare number counts in `bare_unit`.
  protocols::duration duration(const std::string& env, protocols::duration bare_unit) const;

  /// Returns `env` as a non-negative decimal number.
  double decimal(const std::string& env) const;

  /// Returns `env` as a backend list, `[name=]host:port[ weight=N]` comma-separated (see
  /// protocols/backend_list.hpp for how unnamed entries are named).
  std::vector<protocols::backend_entry> backends(const std::string& env) const;

  /// Returns `env` as an optional `[host:]port` control endpoint bound to 127.0.0.1 by
  /// default (port 0 picks one); nothing when unset.
  std::optional<protocols::endpoint> control_endpoint(const std::string& env) const;

  /// Throws a config_error naming `env` and what was wrong.
  [[noreturn]] void fail(const std::string& env, const std::string& why) const;

 private:
  struct entry {
    std::string flag;
    std::string fallback;
    bool required = false;
    std::string value;
    bool is_switch = false;
    bool given = false;  ///< a switch's flag was on the command line
  };

  std::string name_;
  std::unique_ptr<CLI::App> app_;
  std::map<std::string, entry> entries_;
};

}  // namespace l4sim::apps
