#include "apps/common/env_cli.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace l4sim::apps {

env_cli::env_cli(std::string name, std::string description)
    : name_(std::move(name)), app_(std::make_unique<CLI::App>(std::move(description), name_)) {}

env_cli::~env_cli() = default;

void env_cli::option(const std::string& flag, const std::string& env, const std::string& help,
                     std::string fallback, bool required) {
  auto& e = entries_[env];
  e.flag = flag;
  e.fallback = std::move(fallback);
  e.required = required;
  auto text = fmt::format("{} [env {}{}]", help, env,
                          e.fallback.empty() ? std::string{required ? ", required" : ""}
                                             : fmt::format(", default {}", e.fallback));
  app_->add_option(flag, e.value, text)->envname(env);
}

void env_cli::flag(const std::string& flag, const std::string& env, const std::string& help) {
  auto& e = entries_[env];
  e.flag = flag;
  e.is_switch = true;
  // Read from the environment in parse(): CLI11 would take any value as "on".
  app_->add_flag(flag, e.given, fmt::format("{} [env {}=1]", help, env));
}

std::optional<int> env_cli::parse(int argc, char** argv) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app_->exit(e);
  } catch (const CLI::ParseError& e) {
    app_->exit(e);
    return 2;
  }
  for (auto& [env, e] : entries_) {
    if (e.is_switch) {
      auto* raw = std::getenv(env.c_str());
      e.value = e.given ? "1" : raw != nullptr ? raw : "";
    }
    if (e.value.empty()) {
      e.value = e.fallback;
    }
  }
  for (auto& [env, e] : entries_) {
    if (e.required && e.value.empty()) {
      fmt::print(stderr, "{}: {} is required (or pass {})\n", name_, env, e.flag);
      return 2;
    }
  }
  return std::nullopt;
}

void env_cli::parse_env(const std::map<std::string, std::string>& env) {
  for (auto& [key, value] : env) {
    auto i = entries_.find(key);
    if (i == entries_.end()) {
      throw config_error{fmt::format("{}: {} is not one of its variables", name_, key)};
    }
    i->second.value = value;
  }
  for (auto& [key, e] : entries_) {
    if (e.value.empty()) {
      e.value = e.fallback;
    }
    if (e.required && e.value.empty()) {
      fail(key, "is required");
    }
  }
}

std::string env_cli::text(const std::string& env) const {
  auto i = entries_.find(env);
  return i == entries_.end() ? std::string{} : i->second.value;
}

void env_cli::fail(const std::string& env, const std::string& why) const {
  auto i = entries_.find(env);
  auto flag = i == entries_.end() ? std::string{} : fmt::format(" ({})", i->second.flag);
  throw config_error{fmt::format("{}{}: {}", env, flag, why)};
}

uint64_t env_cli::number(const std::string& env, uint64_t max) const {
  auto raw = text(env);
  auto value = protocols::parse_uint(raw, max);
  if (!value) {
    fail(env, fmt::format("\"{}\" is not a whole number between 0 and {}", raw, max));
  }
  return *value;
}

bool env_cli::enabled(const std::string& env) const {
  auto raw = text(env);
  for (auto* yes : {"1", "true", "yes", "on"}) {
    if (raw == yes) {
      return true;
    }
  }
  for (auto* no : {"", "0", "false", "no", "off"}) {
    if (raw == no) {
      return false;
    }
  }
  fail(env, fmt::format("\"{}\" is neither 1/true/yes nor 0/false/no", raw));
}

uint16_t env_cli::port(const std::string& env, bool allow_zero) const {
  auto raw = text(env);
  auto value = protocols::parse_uint(raw, 65535);
  if (!value || (*value == 0 && !allow_zero)) {
    fail(env, fmt::format("\"{}\" is not a port number ({}-65535)", raw, allow_zero ? 0 : 1));
  }
  return static_cast<uint16_t>(*value);
}

protocols::duration env_cli::duration(const std::string& env, protocols::duration bare_unit) const {
  auto raw = text(env);
  auto value = protocols::parse_duration(raw, bare_unit);
  if (!value) {
    fail(env,
         fmt::format("\"{}\" is not a duration (e.g. 150ms, 3s, 0.2s, or a plain number)", raw));
  }
  return *value;
}

double env_cli::decimal(const std::string& env) const {
  auto raw = text(env);
  auto value = protocols::parse_decimal(raw);
  if (!value) {
    fail(env, fmt::format("\"{}\" is not a non-negative number", raw));
  }
  return *value;
}

std::vector<protocols::backend_entry> env_cli::backends(const std::string& env) const {
  std::string why;
  auto entries = protocols::parse_backend_list(text(env), why);
  if (!entries) {
    fail(env, why);
  }
  return *entries;
}

std::optional<protocols::endpoint> env_cli::control_endpoint(const std::string& env) const {
  auto raw = text(env);
  if (raw.empty()) {
    return std::nullopt;
  }
  if (auto ep = protocols::parse_endpoint(raw)) {
    return ep;
  }
  // host:0 picks a port on that host (parse_endpoint wants a port to connect to).
  if (auto colon = raw.rfind(':'); colon != std::string::npos && raw.substr(colon + 1) == "0") {
    if (auto ep = protocols::parse_endpoint(raw.substr(0, colon) + ":1")) {
      ep->port = 0;
      return ep;
    }
  }
  auto port = protocols::parse_uint(raw, 65535);
  if (!port) {
    fail(env, fmt::format("\"{}\" is neither a port nor host:port", raw));
  }
  return protocols::endpoint{"127.0.0.1", static_cast<uint16_t>(*port)};
}

}  // namespace l4sim::apps
