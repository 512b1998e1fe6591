#include "apps/sim/report.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "actors/clients/client_stats.hpp"
#include "protocols/text_escape.hpp"

namespace l4sim::apps {

namespace {

using protocols::run_record;

/// timeseries.csv's columns per backend, in order; the chart plots `_active` by its position.
constexpr const char* backend_columns[] = {"_up",      "_active",   "_new",     "_bytes", "_queued",
                                           "_ejected", "_draining", "_retries", "_weight"};

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

/// The record with its samples in time order (one that waited on a slow or dead backend is
/// recorded after later ones).
run_record in_time_order(run_record record) {
  std::stable_sort(record.samples.begin(), record.samples.end(),
                   [](const auto& a, const auto& b) { return a.at < b.at; });
  return record;
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

}  // namespace

/// Returns the full path of `program` found on $PATH, or "" when it is not installed.
std::string find_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    auto end = std::min(dirs.find(':', start), dirs.size());
    auto dir = dirs.substr(start, end - start);
    auto candidate = (std::filesystem::path{dir.empty() ? "." : dir} / program).string();
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return {};
}

/// Runs `gnuplot script` in `dir` without a shell (fork and exec with an argv, so no byte of
/// the folder's name or the script is ever interpreted); returns its exit status, or -1
/// when it could not be run. Its output goes to /dev/null: chart.gp stays there to retry.
int run_gnuplot(const std::string& gnuplot, const std::string& dir, const std::string& script) {
  std::vector<std::string> args{gnuplot, script};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  auto pid = ::fork();
  if (pid < 0) {
    return -1;
  }
  if (pid == 0) {
    // Only async-signal-safe calls here: the parent has other threads.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // sim blocks SIGINT/SIGTERM for itself
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      if (null > STDERR_FILENO) {
        ::close(null);
      }
    }
    if (::chdir(dir.c_str()) != 0) {
      ::_exit(126);
    }
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

nlohmann::json report_json(const run_summary& run) {
  using nlohmann::json;
  auto record = in_time_order(run.done.record);
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
      uint64_t max_queued = 0;
      for (auto& sample : record.samples) {
        max_queued = std::max(max_queued, value_of(sample.queued, id));
      }
      backends[id] = {{"connections", value_of(last.total, id)},
                      {"refused", value_of(last.refused, id)},
                      {"failures", value_of(last.failures, id)},
                      {"retries", value_of(last.retries, id)},
                      {"queued_at_end", value_of(last.queued, id)},
                      {"max_queued", max_queued},
                      {"queue_timeouts", value_of(last.queue_timeouts, id)},
                      {"ejections", value_of(last.ejections, id)},
                      {"ejected_at_end", last.ejected.count(id) ? last.ejected.at(id) : false},
                      {"draining_at_end", last.draining.count(id) ? last.draining.at(id) : false},
                      {"bytes", value_of(last.bytes, id)},
                      {"weight_at_end", value_of(last.weight, id)},
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
  auto record = in_time_order(run.done.record);
  auto ids = backend_ids(record);
  std::string out = "t";
  for (auto& id : ids) {
    for (const char* column : backend_columns) {
      out += ',' + protocols::csv_field(id + column);
    }
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
      auto flag = [&](const std::map<std::string, bool>& m) {
        return m.count(id) && m.at(id) ? 1 : 0;
      };
      out += fmt::format(",{},{},{},{},{},{},{},{},{}", healthy ? 1 : 0, value_of(s->active, id),
                         total - std::min(total, previous_total[id]), value_of(s->bytes, id),
                         value_of(s->queued, id), flag(s->ejected), flag(s->draining),
                         value_of(s->retries, id), value_of(s->weight, id));
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
    return fmt::format("cannot create {}: {}", protocols::escape_control(dir), ec.message());
  }
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream out{fs::path{dir} / name};
    out << text;
    return static_cast<bool>(out);
  };
  // Invalid UTF-8 from a file becomes U+FFFD instead of an exception.
  auto json = report_json(run).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!write("report.json", json + "\n") || !write("timeseries.csv", timeseries_csv(run))) {
    return fmt::format("cannot write into {}", protocols::escape_control(dir));
  }
  // Per-backend active connections over time, with the timeline marked.
  auto ids = backend_ids(run.done.record);
  std::string gp = fmt::format(
      "set terminal pngcairo size 1100,520 font ',10'\n"
      "set output 'chart.png'\n"
      "set datafile separator ','\n"
      "set title {}\n"
      "set xlabel 'scenario time (s)'\nset ylabel 'active connections'\n"
      "set key outside right\nset grid\nset yrange [0:*]\nset xrange [0:{}]\n",
      protocols::gnuplot_quoted(run.scn.name + ": active connections per backend"),
      seconds(run.scn.length));
  int label = 0;
  for (auto& n : run.done.notes) {
    if (n.text.rfind("topology", 0) == 0 || n.text.rfind("end of run", 0) == 0) {
      continue;
    }
    bool health = n.text.rfind("[health]", 0) == 0;
    gp += fmt::format(
        "set arrow from {0},graph 0 to {0},graph 1 nohead dt {1} lc rgb '{2}'\n"
        "set label {3} {4} at {0},graph {5} rotate by 90 right font ',8' tc rgb '{2}'\n",
        seconds(n.at), health ? 3 : 2, health ? "#aa3333" : "#333333", ++label,
        protocols::gnuplot_quoted(n.text), health ? 0.55 : 0.98);
  }
  gp += "plot ";
  for (size_t i = 0; i < ids.size(); ++i) {
    gp += fmt::format("{}'timeseries.csv' using 1:{} with steps lw 2 title {}", i == 0 ? "" : ", ",
                      3 + i * std::size(backend_columns), protocols::gnuplot_quoted(ids[i]));
  }
  gp += "\n";
  if (!write("chart.gp", gp)) {
    return fmt::format("cannot write into {}", protocols::escape_control(dir));
  }
  if (auto gnuplot = find_program("gnuplot"); !gnuplot.empty()) {
    if (run_gnuplot(gnuplot, dir, "chart.gp") != 0) {
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
                       protocols::escape_control(v.text), protocols::escape_control(v.expected),
                       protocols::escape_control(v.observed));
  }
  out += fmt::format("verdict: {} ({}/{} expectations met)",
                     passed == verdicts.size() ? "PASS" : "FAIL", passed, verdicts.size());
  return out;
}

}  // namespace l4sim::apps
