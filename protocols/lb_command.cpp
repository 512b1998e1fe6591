#include "protocols/lb_command.hpp"

#include <vector>

#include <fmt/format.h>

namespace l4sim::protocols {

namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < line.size()) {
    auto start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) {
      break;
    }
    auto end = line.find_first_of(" \t", start);
    out.push_back(line.substr(start, end == std::string_view::npos ? end : end - start));
    at = end == std::string_view::npos ? line.size() : end;
  }
  return out;
}

}  // namespace

std::string lb_command_help() {
  return "add NAME host:port [weight=N] [maxconn=N], rm NAME, drain NAME, ready NAME, "
         "weight NAME N, algo NAME, stats, quit";
}

std::optional<lb_command> parse_lb_command(std::string_view line, std::string& why) {
  auto w = words(line);
  if (w.empty()) {
    why = "empty command";
    return std::nullopt;
  }
  struct shape {
    std::string_view word;
    lb_verb verb;
    size_t min_args;
    size_t max_args;
  };
  static const shape shapes[] = {
      {"add", lb_verb::add, 2, 8},       {"rm", lb_verb::rm, 1, 1},
      {"drain", lb_verb::drain, 1, 1},   {"ready", lb_verb::ready, 1, 1},
      {"weight", lb_verb::weight, 2, 2}, {"algo", lb_verb::algo, 1, 1},
      {"stats", lb_verb::stats, 0, 0},   {"quit", lb_verb::quit, 0, 0},
  };
  const shape* found = nullptr;
  for (auto& s : shapes) {
    if (s.word == w[0]) {
      found = &s;
    }
  }
  if (found == nullptr) {
    why = fmt::format("unknown command \"{}\" ({})", w[0], lb_command_help());
    return std::nullopt;
  }
  auto args = w.size() - 1;
  if (args < found->min_args || args > found->max_args) {
    why = fmt::format("\"{}\": wrong number of arguments ({})", line, lb_command_help());
    return std::nullopt;
  }
  lb_command cmd;
  cmd.verb = found->verb;
  if (args > 0) {
    cmd.name.assign(w[1]);
  }
  if (cmd.verb == lb_verb::add) {
    if (cmd.name.find_first_of("=,") != std::string::npos) {
      why = fmt::format("add: \"{}\" is not a backend name", cmd.name);
      return std::nullopt;
    }
    std::string entry = cmd.name + "=" + std::string{w[2]};
    for (size_t i = 3; i < w.size(); ++i) {
      entry += " " + std::string{w[i]};
    }
    if (entry.find(',') != std::string::npos) {
      why = fmt::format("add {}: one backend at a time (no commas)", cmd.name);
      return std::nullopt;
    }
    std::string bad;
    auto list = parse_backend_list(entry, bad);
    if (!list) {
      why = fmt::format("add {}: {}", cmd.name, bad);
      return std::nullopt;
    }
    cmd.entry = list->front();
  }
  if (cmd.verb == lb_verb::weight) {
    auto n = parse_uint(w[2], max_backend_weight);
    if (!n || *n == 0) {
      why = fmt::format("weight {}: \"{}\" is not a whole number in 1..{}", cmd.name, w[2],
                        max_backend_weight);
      return std::nullopt;
    }
    cmd.weight = static_cast<uint32_t>(*n);
  }
  return cmd;
}

}  // namespace l4sim::protocols
