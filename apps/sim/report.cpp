#include "apps/sim/report.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "actors/clients/client_stats.hpp"
#include "actors/director/outcomes.hpp"

namespace l4sim::apps {

namespace {

using protocols::run_record;

double seconds(protocols::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::vector<std::string> backend_ids(const run_record& record) {
  std::set<std::string> seen;
  std::vector<std::string> ids;
  for (auto& s : record.samples) {
    for (auto& [id, total] : s.total) {
      if (seen.insert(id).second) {
        ids.push_back(id);
      }
    }
  }
  return ids;
}

/// The last sample at or before `at`, or the first one.
const run_record::sample* sample_at(const run_record& record, protocols::duration at) {
  const run_record::sample* found = nullptr;
  for (auto& s : record.samples) {
    if (s.at > at) {
      break;
    }
    found = &s;
  }
  if (found == nullptr && !record.samples.empty()) {
    found = &record.samples.front();
  }
  return found;
}

template <class Map>
uint64_t value_of(const Map& m, const std::string& key) {
  auto i = m.find(key);
  return i == m.end() ? 0 : static_cast<uint64_t>(i->second);
}

std::string quote_gnuplot(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

}  // namespace

nlohmann::json report_json(const run_summary& run) {
  using nlohmann::json;
  auto& record = run.done.record;
  json verdicts = json::array();
  size_t passed = 0;
  for (auto& v : run.done.verdicts) {
    passed += v.passed ? 1 : 0;
    verdicts.push_back({{"expectation", v.text},
                        {"passed", v.passed},
                        {"expected", v.expected},
                        {"observed", v.observed}});
  }
  json backends = json::object();
  if (!record.samples.empty()) {
    auto& last = record.samples.back();
    for (auto& id : backend_ids(record)) {
      backends[id] = {{"connections", value_of(last.total, id)},
                      {"refused", value_of(last.refused, id)},
                      {"bytes", value_of(last.bytes, id)},
                      {"healthy_at_end", last.healthy.count(id) ? last.healthy.at(id) : true}};
    }
  }
  json clients = json::object();
  for (auto& [type, out] : record.clients) {
    json latency = json::object();
    for (auto& [pct, d] : out.latency) {
      latency[pct >= 100 ? std::string{"max"} : fmt::format("p{:g}", pct)] = seconds(d);
    }
    clients[type] = {{"started", out.started},
                     {"completed", out.completed},
                     {"failed", out.failed},
                     {"latency_seconds", latency}};
  }
  json events = json::array();
  for (auto& n : run.done.notes) {
    events.push_back({{"at_seconds", seconds(n.at)}, {"event", n.text}});
  }
  return {{"scenario", run.scn.name},
          {"file", run.scn.file},
          {"description", run.scn.description},
          {"seed", run.scn.seed},
          {"duration_seconds", seconds(run.scn.length)},
          {"time_scale", run.time_scale},
          {"passed", passed == run.done.verdicts.size() && run.done.error.empty()},
          {"error", run.done.error},
          {"verdicts", verdicts},
          {"summary", {{"backends", backends}, {"clients", clients}}},
          {"events", events}};
}

std::string timeseries_csv(const run_summary& run) {
  auto& record = run.done.record;
  auto ids = backend_ids(record);
  std::string out = "t";
  for (auto& id : ids) {
    out += fmt::format(",{0}_up,{0}_active,{0}_new,{0}_bytes", id);
  }
  out += ",clients_started,clients_active,clients_completed,clients_failed\n";
  auto end = static_cast<int64_t>(std::ceil(seconds(run.scn.length)));
  std::map<std::string, uint64_t> previous_total;
  for (int64_t t = 0; t <= end; ++t) {
    auto* s = sample_at(record, std::chrono::seconds{t});
    if (s == nullptr) {
      break;
    }
    out += std::to_string(t);
    for (auto& id : ids) {
      auto total = value_of(s->total, id);
      auto healthy = s->healthy.count(id) ? s->healthy.at(id) : true;
      out += fmt::format(",{},{},{},{}", healthy ? 1 : 0, value_of(s->active, id),
                         total - std::min(total, previous_total[id]), value_of(s->bytes, id));
      previous_total[id] = total;
    }
    out += fmt::format(",{},{},{},{}\n", s->clients_started, s->clients_active,
                       s->clients_completed, s->clients_failed);
  }
  return out;
}

std::string write_report(const std::string& dir, const run_summary& run) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return fmt::format("cannot create {}: {}", dir, ec.message());
  }
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream out{fs::path{dir} / name};
    out << text;
    return static_cast<bool>(out);
  };
  if (!write("report.json", report_json(run).dump(2) + "\n") ||
      !write("timeseries.csv", timeseries_csv(run))) {
    return fmt::format("cannot write into {}", dir);
  }
  // Per-backend active connections over time, with the timeline marked.
  auto ids = backend_ids(run.done.record);
  std::string gp = fmt::format(
      "set terminal pngcairo size 1100,520 font ',10'\n"
      "set output 'chart.png'\n"
      "set datafile separator ','\n"
      "set title \"{}: active connections per backend\"\n"
      "set xlabel 'scenario time (s)'\nset ylabel 'active connections'\n"
      "set key outside right\nset grid\nset yrange [0:*]\nset xrange [0:{}]\n",
      quote_gnuplot(run.scn.name), seconds(run.scn.length));
  int label = 0;
  for (auto& n : run.done.notes) {
    if (n.text.rfind("topology", 0) == 0 || n.text.rfind("end of run", 0) == 0) {
      continue;
    }
    bool health = n.text.rfind("[health]", 0) == 0;
    gp += fmt::format(
        "set arrow from {0},graph 0 to {0},graph 1 nohead dt {1} lc rgb '{2}'\n"
        "set label {3} \"{4}\" at {0},graph {5} rotate by 90 right font ',8' tc rgb '{2}'\n",
        seconds(n.at), health ? 3 : 2, health ? "#aa3333" : "#333333", ++label,
        quote_gnuplot(n.text), health ? 0.55 : 0.98);
  }
  gp += "plot ";
  for (size_t i = 0; i < ids.size(); ++i) {
    gp += fmt::format("{}'timeseries.csv' using 1:{} with steps lw 2 title \"{}\"",
                      i == 0 ? "" : ", ", 3 + i * 4, quote_gnuplot(ids[i]));
  }
  gp += "\n";
  if (!write("chart.gp", gp)) {
    return fmt::format("cannot write into {}", dir);
  }
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    auto cmd = fmt::format("cd '{}' && gnuplot chart.gp 2>/dev/null", dir);
    if (std::system(cmd.c_str()) != 0) {
      return "gnuplot failed to draw chart.png (chart.gp is there to retry)";
    }
  }
  return {};
}

std::string format_verdicts(const std::vector<protocols::verdict>& verdicts) {
  std::string out = "expectations\n";
  size_t passed = 0;
  for (auto& v : verdicts) {
    passed += v.passed ? 1 : 0;
    out += fmt::format("  {}  {}\n        expected {}; observed {}\n", v.passed ? "PASS" : "FAIL",
                       v.text, v.expected, v.observed);
  }
  out += fmt::format("verdict: {} ({}/{} expectations met)",
                     passed == verdicts.size() ? "PASS" : "FAIL", passed, verdicts.size());
  return out;
}

}  // namespace l4sim::apps
