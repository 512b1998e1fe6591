#include "protocols/scenario/scenario_yaml.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "protocols/text_escape.hpp"

namespace l4sim::protocols::detail {

void error_sink::add(const YAML::Mark& mark, std::string message) {
  // yaml-cpp marks are 0-based and -1 when unknown; ours are 1-based and 0 when unknown.
  int line = mark.is_null() ? 0 : mark.line + 1;
  int column = mark.is_null() ? 0 : mark.column + 1;
  errors_.push_back(load_error{file_, line, column, std::move(message)});
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) {
    return "a map";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  if (node.IsScalar()) {
    return fmt::format("\"{}\"", node.Scalar());
  }
  return "nothing";
}

std::string flow_text(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << node;
  return out.good() ? std::string{out.c_str()} : std::string{};
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) {
      out += ", ";
    }
    out += name;
  }
  return out;
}

std::optional<std::string> read_text(error_sink& sink, const YAML::Node& node,
                                     std::string_view what) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    sink.add(node, fmt::format("{}: expected a single value, got {}", what, describe(node)));
    return std::nullopt;
  }
  return node.Scalar();
}

bool check_id(error_sink& sink, const YAML::Node& node, std::string_view what,
              const std::string& text) {
  auto problem = id_problem(text);
  if (problem.empty()) {
    return true;
  }
  sink.add(node, fmt::format("{}: \"{}\" {}; an id is 1 to {} letters, digits, '.', '_' or '-'",
                             what, text, problem, max_id_length));
  return false;
}

std::optional<duration> read_duration(error_sink& sink, const YAML::Node& node,
                                      std::string_view what, bool positive) {
  auto text = read_text(sink, node, what);
  if (!text) {
    return std::nullopt;
  }
  auto value = parse_duration(*text, std::chrono::seconds{1});
  if (!value) {
    sink.add(node, fmt::format("{}: \"{}\" is not a duration (write e.g. 150ms, 3s, 0.5s, 2m)",
                               what, *text));
    return std::nullopt;
  }
  bool bare = text->find_first_not_of("0123456789.") == std::string::npos;
  if (bare && value->count() != 0) {
    sink.add(node, fmt::format("{}: \"{}\" needs a unit (write e.g. {}ms or {}s)", what, *text,
                               *text, *text));
    return std::nullopt;
  }
  if (positive && value->count() == 0) {
    sink.add(node, fmt::format("{}: must be more than 0s", what));
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> read_count(error_sink& sink, const YAML::Node& node, std::string_view what,
                                   uint64_t min, uint64_t max) {
  auto text = read_text(sink, node, what);
  if (!text) {
    return std::nullopt;
  }
  auto value = parse_uint(*text);
  if (!value || *value < min || *value > max) {
    sink.add(node,
             fmt::format("{}: \"{}\" is not a whole number in {}..{}", what, *text, min, max));
    return std::nullopt;
  }
  return value;
}

std::optional<double> read_decimal(error_sink& sink, const YAML::Node& node, std::string_view what,
                                   double min, double max) {
  auto text = read_text(sink, node, what);
  if (!text) {
    return std::nullopt;
  }
  auto value = parse_decimal(*text);
  if (!value || *value < min || *value > max) {
    sink.add(node, fmt::format("{}: \"{}\" is not a number in {:g}..{:g}", what, *text, min, max));
    return std::nullopt;
  }
  return value;
}

std::optional<double> read_rate(error_sink& sink, const YAML::Node& node, std::string_view what) {
  static constexpr double max_rate = 100'000;
  auto text = read_text(sink, node, what);
  if (!text) {
    return std::nullopt;
  }
  auto slash = text->find('/');
  auto number = parse_decimal(std::string_view{*text}.substr(0, slash));
  auto unit = slash == std::string::npos ? std::string{"s"} : text->substr(slash + 1);
  double per = unit == "s" ? 1 : unit == "m" || unit == "min" ? 60 : unit == "h" ? 3600 : 0;
  if (!number || per == 0) {
    sink.add(node, fmt::format("{}: \"{}\" is not a rate (write e.g. 2/s, 0.5/s, 30/m or 2)", what,
                               *text));
    return std::nullopt;
  }
  auto rate = *number / per;
  if (rate > max_rate) {
    sink.add(node, fmt::format("{}: \"{}\" is above {:g}/s", what, *text, max_rate));
    return std::nullopt;
  }
  return rate;
}

std::optional<std::string> read_choice(error_sink& sink, const YAML::Node& node,
                                       std::string_view what,
                                       const std::vector<std::string>& allowed) {
  auto text = read_text(sink, node, what);
  if (!text) {
    return std::nullopt;
  }
  if (std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
    sink.add(node, fmt::format("{}: \"{}\" is not one of {}", what, *text, join(allowed)));
    return std::nullopt;
  }
  return text;
}

std::optional<std::vector<mix_entry>> read_mix(error_sink& sink, const YAML::Node& node,
                                               std::string_view what) {
  auto before = sink.size();
  map_reader map{sink, node, std::string{what}, client_types()};
  if (!map.is_map()) {
    return std::nullopt;
  }
  std::vector<mix_entry> mix;
  bool any = false;
  for (const auto& type : client_types()) {
    mix_entry entry{type, 0};
    if (map.count_into(type, entry.weight, 0, 1'000'000)) {
      any = any || entry.weight > 0;
      mix.push_back(entry);
    }
  }
  if (sink.size() != before) {
    return std::nullopt;
  }
  if (!any) {
    sink.add(node, fmt::format("{}: needs at least one weight above 0 (types: {})", what,
                               join(client_types())));
    return std::nullopt;
  }
  return mix;
}

map_reader::map_reader(error_sink& sink, const YAML::Node& node, std::string section,
                       std::vector<std::string> known)
    : sink_(sink), node_(node), section_(std::move(section)) {
  if (!node.IsMap()) {
    sink_.add(node, fmt::format("{}: expected a map ({{key: value, ...}}), got {}", section_,
                                describe(node)));
    return;
  }
  is_map_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // A copy: `it->first` lives in a proxy that dies with this statement.
    YAML::Node key = it->first;
    if (!key.IsScalar()) {
      sink_.add(key, fmt::format("{}: keys must be plain names, got {}", section_, describe(key)));
      continue;
    }
    const auto& name = key.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      sink_.add(key,
                fmt::format("unknown key \"{}\" in {} (known: {})", name, section_, join(known)));
      continue;
    }
    if (find(name)) {
      sink_.add(key, fmt::format("duplicate key \"{}\" in {}", name, section_));
      continue;
    }
    present_.push_back(name);
    values_.emplace_back(name, it->second);
  }
}

std::optional<YAML::Node> map_reader::find(std::string_view key) const {
  for (const auto& [name, value] : values_) {
    if (name == key) {
      return value;
    }
  }
  return std::nullopt;
}

std::optional<YAML::Node> map_reader::require(std::string_view key) {
  auto value = find(key);
  if (!value && is_map_) {
    sink_.add(node_, fmt::format("{} is missing required key \"{}\"", section_, key));
  }
  return value;
}

std::string map_reader::what(std::string_view key) const {
  return fmt::format("{} in {}", key, section_);
}

bool map_reader::duration_into(std::string_view key, duration& out, bool positive) {
  if (auto node = find(key)) {
    if (auto value = read_duration(sink_, *node, what(key), positive)) {
      out = *value;
      return true;
    }
  }
  return false;
}

bool map_reader::text_into(std::string_view key, std::string& out) {
  if (auto node = find(key)) {
    if (auto value = read_text(sink_, *node, what(key))) {
      out = *value;
      return true;
    }
  }
  return false;
}

bool map_reader::choice_into(std::string_view key, std::string& out,
                             const std::vector<std::string>& allowed) {
  if (auto node = find(key)) {
    if (auto value = read_choice(sink_, *node, what(key), allowed)) {
      out = *value;
      return true;
    }
  }
  return false;
}

}  // namespace l4sim::protocols::detail
