#include "protocols/scenario/scenario_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "protocols/algorithms.hpp"
#include "protocols/backend_list.hpp"
#include "protocols/scenario/scenario_yaml.hpp"
#include "protocols/text_escape.hpp"
#include "protocols/units.hpp"

namespace l4sim::protocols {

namespace {

using detail::error_sink;
using detail::map_reader;

/// How a per-type client parameter is written.
enum class param_syntax {
  count,              ///< a whole number >= 1
  duration,           ///< a duration >= 0
  positive_duration,  ///< a duration > 0
};

/// One parameter a client type accepts under `clients.params.<type>`.
struct param_spec {
  const char* type;
  const char* key;
  param_syntax syntax;
  const char* not_above;  ///< another key of the same type this one must not exceed, or ""
};

/// THE table of per-type client parameters; types missing here take none.
constexpr param_spec param_table[] = {
    {"real", "requests_min", param_syntax::count, "requests_max"},
    {"real", "requests_max", param_syntax::count, ""},
    {"real", "think_min", param_syntax::duration, "think_max"},
    {"real", "think_max", param_syntax::duration, ""},
    {"stream", "interval", param_syntax::positive_duration, ""},
    {"slow", "byte_gap_min", param_syntax::duration, "byte_gap_max"},
    {"slow", "byte_gap_max", param_syntax::duration, ""},
};

const std::vector<std::string> top_keys{"name",     "description", "duration", "seed",   "backends",
                                        "balancer", "clients",     "timeline", "expect", "network"};

std::vector<std::string> params_of(const std::string& type) {
  std::vector<std::string> keys;
  for (const auto& spec : param_table) {
    if (type == spec.type) {
      keys.emplace_back(spec.key);
    }
  }
  return keys;
}

/// Validates one type's parameters and returns them as written.
std::map<std::string, std::string> read_params_of(error_sink& sink, const YAML::Node& node,
                                                  const std::string& type) {
  map_reader map{sink, node, fmt::format("clients.params.{}", type), params_of(type)};
  std::map<std::string, std::string> out;
  std::map<std::string, double> numbers;  // for the min <= max checks
  for (const auto& spec : param_table) {
    auto value = type == spec.type ? map.find(spec.key) : std::nullopt;
    if (!value) {
      continue;
    }
    auto what = map.what(spec.key);
    if (spec.syntax == param_syntax::count) {
      if (auto n = detail::read_count(sink, *value, what, 1, 1'000'000)) {
        numbers[spec.key] = static_cast<double>(*n);
        out[spec.key] = value->Scalar();
      }
    } else if (auto d = detail::read_duration(sink, *value, what,
                                              spec.syntax == param_syntax::positive_duration)) {
      numbers[spec.key] = static_cast<double>(d->count());
      out[spec.key] = value->Scalar();
    }
  }
  for (const auto& spec : param_table) {
    std::string upper = spec.not_above;
    if (type == spec.type && !upper.empty() && numbers.count(spec.key) > 0 &&
        numbers.count(upper) > 0 && numbers[spec.key] > numbers[upper]) {
      sink.add(*map.find(spec.key), fmt::format("{}: {} is above {} ({})", map.what(spec.key),
                                                out[spec.key], upper, out[upper]));
    }
  }
  return out;
}

void read_params(error_sink& sink, const YAML::Node& node, scenario_clients& clients) {
  map_reader map{sink, node, "clients.params", client_types()};
  for (const auto& type : map.present()) {
    clients.params[type] = read_params_of(sink, *map.find(type), type);
  }
}

void read_balancer(error_sink& sink, const YAML::Node& node, scenario_balancer& out) {
  map_reader map{
      sink,
      node,
      "balancer",
      {"algorithm", "health", "connect_timeout", "retries", "client_timeout", "server_timeout",
       "tunnel_timeout", "client_fin_timeout", "max_conns", "send_proxy", "hash_balance",
       "retry_backoff", "queue_timeout", "drain_timeout", "slow_start", "outlier"}};
  map.choice_into("algorithm", out.algorithm, algorithm_names());
  map.duration_into("connect_timeout", out.connect_timeout, true);
  map.count_into("retries", out.retries, 0, 100);
  // Idle timeouts: 0 turns one off.
  map.duration_into("client_timeout", out.client_timeout);
  map.duration_into("server_timeout", out.server_timeout);
  map.duration_into("tunnel_timeout", out.tunnel_timeout);
  map.duration_into("client_fin_timeout", out.client_fin_timeout);
  map.count_into("max_conns", out.max_conns, 0, 1'000'000);
  map.duration_into("queue_timeout", out.queue_timeout);
  map.duration_into("drain_timeout", out.drain_timeout);
  map.duration_into("slow_start", out.slow_start);
  if (auto backoff = map.find("retry_backoff")) {
    map_reader b{sink, *backoff, "balancer.retry_backoff", {"base", "cap"}};
    b.duration_into("base", out.retry_backoff_base);
    b.duration_into("cap", out.retry_backoff_cap);
    if (b.is_map() && out.retry_backoff_cap < out.retry_backoff_base) {
      sink.add(*backoff, fmt::format("balancer.retry_backoff: cap {} is below base {}",
                                     format_duration(out.retry_backoff_cap),
                                     format_duration(out.retry_backoff_base)));
    }
  }
  if (auto outlier = map.find("outlier")) {
    map_reader o{
        sink, *outlier, "balancer.outlier", {"consecutive", "base_ejection", "max_percent"}};
    o.count_into("consecutive", out.outlier_consecutive, 0, 1000);
    o.duration_into("base_ejection", out.outlier_base_ejection, true);
    o.count_into("max_percent", out.outlier_max_percent, 0, 100);
  }
  map.choice_into("send_proxy", out.send_proxy, {"none", "v1", "v2"});
  if (map.count_into("hash_balance", out.hash_balance, 0, 1000) && out.hash_balance != 0 &&
      out.hash_balance < 100) {
    sink.add(*map.find("hash_balance"),
             "hash_balance in balancer: 0 (off) or 100..1000 (% of a backend's weighted share)");
  }
  if (auto health = map.find("health")) {
    map_reader h{sink, *health, "balancer.health", {"interval", "timeout", "rise", "fall"}};
    h.duration_into("interval", out.health.interval, true);
    h.duration_into("timeout", out.health.timeout, true);
    h.count_into("rise", out.health.rise, 1, 100);
    h.count_into("fall", out.health.fall, 1, 100);
  }
}

void read_clients(error_sink& sink, const YAML::Node& node, scenario_clients& out) {
  map_reader map{
      sink,
      node,
      "clients",
      {"rate", "arrival", "mix", "max_active", "connect_timeout", "params", "source_addresses"}};
  if (auto rate = map.find("rate")) {
    if (auto value = detail::read_rate(sink, *rate, map.what("rate"))) {
      out.rate = *value;
    }
  }
  map.choice_into("arrival", out.arrival, {"uniform", "poisson"});
  if (auto mix = map.find("mix")) {
    if (auto value = detail::read_mix(sink, *mix, "clients.mix")) {
      out.mix = *value;
    }
  }
  map.count_into("max_active", out.max_active, 0, 1'000'000);
  // 127.0.1.1-127.0.1.254 (actors/clients/spawner.hpp, max_source_addresses).
  map.count_into("source_addresses", out.source_addresses, 0, 254);
  map.duration_into("connect_timeout", out.connect_timeout, true);
  if (auto params = map.find("params")) {
    read_params(sink, *params, out);
  }
}

/// Splits `text` into a decimal number and the unit after it.
std::optional<std::pair<double, std::string>> number_and_unit(const std::string& text) {
  auto at = text.find_first_not_of("0123456789.");
  auto number = parse_decimal(std::string_view{text}.substr(0, at));
  if (!number) {
    return std::nullopt;
  }
  return std::make_pair(*number, at == std::string::npos ? std::string{} : text.substr(at));
}

/// Reads a rate of bytes: `10MB/s`, `100Mbit/s`, `1Gbit/s`, `512KB/s`; 0 = unlimited.
std::optional<uint64_t> read_bandwidth(error_sink& sink, const YAML::Node& node,
                                       const std::string& what) {
  auto text = detail::read_text(sink, node, what);
  if (!text) {
    return std::nullopt;
  }
  static const std::map<std::string, double> units{
      {"B/s", 1},         {"KB/s", 1e3},       {"MB/s", 1e6},       {"GB/s", 1e9},
      {"bit/s", 1.0 / 8}, {"kbit/s", 1e3 / 8}, {"Mbit/s", 1e6 / 8}, {"Gbit/s", 1e9 / 8}};
  auto parsed = number_and_unit(*text);
  auto unit = parsed ? units.find(parsed->second) : units.end();
  if (parsed && parsed->first == 0 && parsed->second.empty()) {
    return 0;
  }
  if (unit == units.end() || parsed->first * unit->second < 1000 ||
      parsed->first * unit->second > 1e12) {
    sink.add(node, fmt::format("{}: \"{}\" is not a bandwidth from 1KB/s to 1000GB/s (write e.g. "
                               "100Mbit/s, 10MB/s, or 0 for unlimited)",
                               what, *text));
    return std::nullopt;
  }
  return static_cast<uint64_t>(parsed->first * unit->second);
}

/// Reads a share: `0.5%` or a fraction `0.005`, below 100%.
std::optional<double> read_loss(error_sink& sink, const YAML::Node& node, const std::string& what) {
  auto text = detail::read_text(sink, node, what);
  if (!text) {
    return std::nullopt;
  }
  auto parsed = number_and_unit(*text);
  std::optional<double> share;
  if (parsed && parsed->second == "%") {
    share = parsed->first / 100;
  } else if (parsed && parsed->second.empty()) {
    share = parsed->first;
  }
  if (!share || *share >= 1) {
    sink.add(node, fmt::format("{}: \"{}\" is not a share of SYNs below 100% (write e.g. 1% or "
                               "0.01)",
                               what, *text));
    return std::nullopt;
  }
  return share;
}

/// Reads a size in bytes: `64KiB`, `1MiB`, `4096`, from 1 KiB to 64 MiB.
std::optional<uint64_t> read_size(error_sink& sink, const YAML::Node& node,
                                  const std::string& what) {
  auto text = detail::read_text(sink, node, what);
  if (!text) {
    return std::nullopt;
  }
  static const std::map<std::string, double> units{
      {"", 1}, {"B", 1}, {"KiB", 1024}, {"MiB", 1024 * 1024}, {"KB", 1e3}, {"MB", 1e6}};
  auto parsed = number_and_unit(*text);
  auto unit = parsed ? units.find(parsed->second) : units.end();
  if (unit == units.end() || parsed->first * unit->second < 1024 ||
      parsed->first * unit->second > 64.0 * 1024 * 1024) {
    sink.add(node, fmt::format("{}: \"{}\" is not a size from 1KiB to 64MiB (write e.g. 128KiB)",
                               what, *text));
    return std::nullopt;
  }
  return static_cast<uint64_t>(parsed->first * unit->second);
}

void read_network(error_sink& sink, const YAML::Node& node, scenario_network& out) {
  map_reader map{sink, node, "network", {"latency", "jitter", "bandwidth", "loss", "window"}};
  if (!map.is_map()) {
    return;
  }
  for (const auto& key : map.present()) {
    auto mark = map.find(key)->Mark();
    out.given.emplace_back(key, source_location{mark.line + 1, mark.column + 1});
  }
  if (map.duration_into("latency", out.latency) && out.latency > std::chrono::seconds{10}) {
    sink.add(*map.find("latency"), "latency in network: at most 10s");
  }
  if (map.duration_into("jitter", out.jitter) && out.jitter > std::chrono::seconds{10}) {
    sink.add(*map.find("jitter"), "jitter in network: at most 10s");
  }
  if (auto value = map.find("bandwidth")) {
    if (auto bw = read_bandwidth(sink, *value, map.what("bandwidth"))) {
      out.bandwidth = *bw;
    }
  }
  if (auto value = map.find("loss")) {
    if (auto share = read_loss(sink, *value, map.what("loss"))) {
      out.loss = *share;
    }
  }
  if (auto value = map.find("window")) {
    if (auto size = read_size(sink, *value, map.what("window"))) {
      out.window = *size;
    }
  }
}

std::vector<mix_entry> default_mix() {
  return {{"real", 50}, {"fire_and_forget", 20}, {"stream", 15}, {"idle", 10}, {"slow", 5}};
}

/// Fills a scenario from a parsed document; every problem goes to `sink`. A non-empty
/// `file_stem` is the name the scenario must have.
scenario read_scenario(error_sink& sink, const YAML::Node& root, const std::string& file_stem) {
  scenario out;
  out.clients.mix = default_mix();
  if (root.IsNull()) {
    sink.add(YAML::Mark{}, "empty file: expected a scenario map with name, duration, backends");
    return out;
  }
  map_reader map{sink, root, "scenario", top_keys};
  if (!map.is_map()) {
    return out;
  }
  if (auto name = map.require("name")) {
    if (auto text = detail::read_text(sink, *name, map.what("name"))) {
      out.name = *text;
      if (detail::check_id(sink, *name, map.what("name"), out.name) && !file_stem.empty() &&
          out.name != file_stem) {
        sink.add(*name, fmt::format("name in scenario: \"{}\" must equal the file's base name "
                                    "\"{}\"",
                                    out.name, file_stem));
      }
    }
  }
  if (auto description = map.find("description")) {
    if (description->IsScalar()) {
      out.description = description->Scalar();
    } else {
      sink.add(*description, fmt::format("description in scenario: expected text, got {}",
                                         detail::describe(*description)));
    }
  }
  if (auto length = map.require("duration")) {
    if (auto value = detail::read_duration(sink, *length, map.what("duration"), true)) {
      out.length = *value;
    }
  }
  map.count_into("seed", out.seed, 0, UINT64_MAX);
  detail::scenario_scope scope;
  scope.length = out.length;
  if (auto backends = map.require("backends")) {
    if (!backends->IsSequence() || backends->size() == 0) {
      sink.add(*backends, fmt::format("backends in scenario: expected a list of at least one "
                                      "backend ({{id: ..., ...}}), got {}",
                                      detail::describe(*backends)));
    } else {
      for (const auto& item : *backends) {
        auto backend = detail::read_backend(sink, item, "backend");
        if (!backend) {
          continue;
        }
        if (!scope.declared.insert(backend->id).second) {
          sink.add(item, fmt::format("duplicate backend id \"{}\"", backend->id));
          continue;
        }
        out.backends.push_back(*backend);
      }
    }
  }
  scope.ever = scope.declared;
  if (auto balancer = map.find("balancer")) {
    read_balancer(sink, *balancer, out.balancer);
  }
  if (auto clients = map.find("clients")) {
    read_clients(sink, *clients, out.clients);
  }
  if (auto network = map.find("network")) {
    read_network(sink, *network, out.network);
  }
  if (auto timeline = map.find("timeline")) {
    out.timeline = detail::read_timeline(sink, *timeline, scope);
  }
  if (auto expect = map.find("expect")) {
    out.expect = detail::read_expectations(sink, *expect, scope);
  }
  return out;
}

load_result finish(error_sink& sink, scenario value) {
  load_result result;
  result.errors = sink.take();
  if (result.errors.empty()) {
    result.value = std::move(value);
  }
  return result;
}

load_result parse(const std::string& yaml, error_sink& sink, const std::string& file_stem,
                  const std::vector<scenario_override>& sets) {
  try {
    auto root = YAML::Load(yaml);
    if (!sets.empty()) {
      return detail::load_with_overrides(root, sets, [&](const YAML::Node& tree) {
        error_sink each{sink.file()};
        auto value = read_scenario(each, tree, file_stem);
        return finish(each, std::move(value));
      });
    }
    auto value = read_scenario(sink, root, file_stem);
    return finish(sink, std::move(value));
  } catch (const YAML::Exception& e) {
    sink.add(e.mark, fmt::format("YAML syntax error: {}", e.msg));
  } catch (const std::exception& e) {
    sink.add(YAML::Mark::null_mark(), fmt::format("cannot read: {}", e.what()));
  }
  return finish(sink, scenario{});
}

}  // namespace

namespace detail {

std::optional<scenario_backend> read_backend(error_sink& sink, const YAML::Node& node,
                                             const std::string& section) {
  auto before = sink.size();
  map_reader map{sink,
                 node,
                 section,
                 {"id", "delay", "max_conns", "idle_timeout", "chaos", "hang", "weight", "maxconn",
                  "accept_proxy"}};
  if (!map.is_map()) {
    return std::nullopt;
  }
  scenario_backend out;
  out.where = {node.Mark().line + 1, node.Mark().column + 1};
  if (auto id = map.require("id")) {
    if (auto text = read_text(sink, *id, map.what("id"))) {
      check_id(sink, *id, map.what("id"), *text);
      out.id = *text;
    }
  }
  map.duration_into("delay", out.delay);
  map.count_into("max_conns", out.max_conns, 0, 1'000'000);
  map.duration_into("idle_timeout", out.idle_timeout);
  map.count_into("chaos", out.chaos_pct, 0, 100);
  map.duration_into("hang", out.hang);
  map.count_into("weight", out.weight, 1, max_backend_weight);
  map.count_into("maxconn", out.lb_max_conns, 0, max_backend_conns);
  std::string accept_proxy = "false";
  map.choice_into("accept_proxy", accept_proxy, {"false", "true"});
  out.accept_proxy = accept_proxy == "true";
  // A backend with a bad value still has its id, so that events naming it do not add
  // "unknown backend" errors on top; the scenario as a whole is rejected anyway.
  if (out.id.empty() && sink.size() != before) {
    return std::nullopt;
  }
  return out;
}

}  // namespace detail

std::string load_error::to_string() const {
  // Messages quote the file's text: nothing in it may act on the terminal.
  if (line == 0) {
    return escape_control(fmt::format("{}: {}", file, message));
  }
  return escape_control(fmt::format("{}:{}:{}: {}", file, line, column, message));
}

std::string load_result::error_text() const {
  std::string out;
  for (const auto& error : errors) {
    out += error.to_string();
    out += '\n';
  }
  return out;
}

load_result load_scenario_text(const std::string& yaml, const std::string& name_for_errors,
                               const std::vector<scenario_override>& sets) {
  error_sink sink{name_for_errors};
  auto result = parse(yaml, sink, "", sets);
  if (result.value) {
    result.value->file = name_for_errors;
  }
  return result;
}

load_result load_scenario_file(const std::string& path,
                               const std::vector<scenario_override>& sets) {
  error_sink sink{path};
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    sink.add(YAML::Mark::null_mark(), "cannot open the file");
    return finish(sink, scenario{});
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto result = parse(text.str(), sink, std::filesystem::path{path}.stem().string(), sets);
  if (result.value) {
    result.value->file = path;
  }
  return result;
}

load_result with_length(const scenario& scn, duration length, const std::string& source) {
  error_sink sink{scn.file};
  auto mark = [](source_location where) {
    YAML::Mark m;
    m.line = where.line - 1;
    m.column = where.column - 1;
    return m;
  };
  auto end = fmt::format("the end of the run ({})", source);
  for (const auto& event : scn.timeline) {
    if (event.at > length) {
      sink.add(mark(event.where), fmt::format("{} at {}: after {}", to_string(event.kind),
                                              format_duration(event.at), end));
    }
  }
  for (const auto& e : scn.expect) {
    if (e.kind == expect_kind::health && e.after + e.within > length) {
      sink.add(mark(e.where),
               fmt::format("expectation {}: its deadline {} (after {} + within {}) is after {}",
                           e.text, format_duration(e.after + e.within), format_duration(e.after),
                           format_duration(e.within), end));
    }
    bool windowed = e.kind == expect_kind::new_connections || e.kind == expect_kind::spread ||
                    e.kind == expect_kind::share;
    if (windowed && std::max(e.from, e.to.value_or(e.from)) > length) {
      sink.add(mark(e.where),
               fmt::format("expectation {}: its window [{}, {}] ends after {}", e.text,
                           format_duration(e.from), e.to ? format_duration(*e.to) : "end", end));
    }
  }
  auto out = scn;
  out.length = length;
  return finish(sink, std::move(out));
}

std::string scenario_path(const std::string& name_or_path, const std::string& scenarios_dir) {
  auto is_path =
      name_or_path.find('/') != std::string::npos ||
      (name_or_path.size() >= 5 && name_or_path.compare(name_or_path.size() - 5, 5, ".yaml") == 0);
  if (is_path) {
    return name_or_path;
  }
  return (std::filesystem::path{scenarios_dir} / (name_or_path + ".yaml")).string();
}

load_result find_scenario(const std::string& name_or_path, const std::string& scenarios_dir,
                          const std::vector<scenario_override>& sets) {
  auto path = scenario_path(name_or_path, scenarios_dir);
  std::error_code ec;
  if (path != name_or_path && !std::filesystem::exists(path, ec)) {
    std::vector<std::string> names;
    for (const auto& summary : list_scenarios(scenarios_dir)) {
      names.push_back(summary.name);
    }
    load_result result;
    result.errors.push_back(
        load_error{path, 0, 0,
                   fmt::format("no scenario named \"{}\" in {} (known: {})", name_or_path,
                               scenarios_dir, names.empty() ? "none" : detail::join(names))});
    return result;
  }
  return load_scenario_file(path, sets);
}

std::vector<scenario_summary> list_scenarios(const std::string& dir) {
  std::vector<scenario_summary> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{dir, ec}) {
    if (!entry.is_regular_file(ec) || entry.path().extension() != ".yaml") {
      continue;
    }
    scenario_summary summary{entry.path().stem().string(), "", entry.path().string()};
    auto loaded = load_scenario_file(summary.path);
    if (loaded.ok()) {
      summary.description = loaded.value->description;
      std::replace(summary.description.begin(), summary.description.end(), '\n', ' ');
    } else {
      summary.description = fmt::format("(invalid: {})", loaded.errors.front().to_string());
    }
    out.push_back(std::move(summary));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace l4sim::protocols
