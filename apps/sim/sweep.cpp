#include "apps/sim/sweep.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/common/process.hpp"
#include "apps/sim/report.hpp"
#include "apps/sim/sweep_mode.hpp"
#include "protocols/scenario/scenario_loader.hpp"
#include "protocols/text_escape.hpp"

namespace l4sim::apps {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

/// One run of the grid.
struct planned_run {
  size_t point = 0;
  uint64_t seed = 0;
  std::string identity;  ///< everything that makes its result what it is
  std::string name;      ///< its folder under runs/
};

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h = (h ^ c) * 1099511628211ULL;
  }
  return h;
}

std::vector<protocols::scenario_override> overrides_at(const sweep_spec& spec,
                                                       const grid_point& p) {
  auto out = spec.fixed;
  for (size_t a = 0; a < spec.axes.size(); ++a) {
    auto parsed = protocols::parse_override(spec.axis_sources[a], spec.axes[a].key + "=" + p[a]);
    out.push_back(parsed.value);
  }
  return out;
}

std::vector<planned_run> plan(const sweep_spec& spec, const std::vector<grid_point>& points) {
  std::vector<planned_run> out;
  for (size_t i = 0; i < points.size(); ++i) {
    for (auto seed : spec.seeds) {
      planned_run r;
      r.point = i;
      r.seed = seed;
      // A live run's identity is what it was before virtual time, so older folders resume.
      r.identity = spec.live
                       ? fmt::format("scenario={}\ntime_scale={}\nseed={}\n", spec.target,
                                     spec.time_scale, seed)
                       : fmt::format("scenario={}\nmode=virtual\nseed={}\n", spec.target, seed);
      for (const auto& f : spec.fixed) {
        r.identity += fmt::format("set {}={}\n", protocols::dotted(f.path), f.value);
      }
      std::string label;
      for (size_t a = 0; a < spec.axes.size(); ++a) {
        r.identity += fmt::format("vary {}={}\n", spec.axes[a].key, points[i][a]);
        label += file_safe(points[i][a]).substr(0, 24) + "_";
      }
      r.name = fmt::format("{}seed{}-{:016x}", label, seed, fnv1a(r.identity));
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::string self_path() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string{"/proc/self/exe"} : p.string();
}

bool write_atomically(const fs::path& path, const std::string& text) {
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out << text;
    if (!out) {
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

std::string read_text(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Reads a finished run's folder; nothing when it is not one of this plan's.
std::optional<run_row> read_run(const fs::path& dir, const planned_run& r, const grid_point& p,
                                const std::string& mode) {
  try {
    auto meta = nlohmann::json::parse(read_text(dir / "run.json"));
    if (meta.value("identity", "") != r.identity) {
      return std::nullopt;
    }
    run_row row;
    row.point = p;
    row.seed = r.seed;
    row.exit_code = meta.value("exit", 0);
    row.mode = mode;
    row.metrics = metrics_of(nlohmann::json::parse(read_text(dir / "report" / "report.json")));
    return row;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string format_eta(double seconds) {
  auto s = static_cast<long>(seconds + 0.5);
  return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60)
                   : fmt::format("{}m{:02}s", s / 60, s % 60);
}

/// A child under way.
struct running_child {
  pid_t pid = -1;
  size_t run = 0;
  fs::path work;
  clock_type::time_point started;
  clock_type::time_point deadline;
};

}  // namespace

unsigned default_jobs() {
  return std::max(1U, std::thread::hardware_concurrency());
}

std::string check_grid(const sweep_spec& spec) {
  std::string errors;
  for (const auto& p : grid_points(spec.axes)) {
    auto loaded = protocols::find_scenario(spec.target, spec.scenarios_dir, overrides_at(spec, p));
    if (!loaded.ok()) {
      auto text = loaded.error_text();
      // Each bad value once, not once per point it appears in.
      if (errors.find(text) == std::string::npos) {
        errors += text;
      }
    }
  }
  return errors;
}

sweep_outcome run_sweep(const sweep_spec& spec, signal_guard& signals) {
  sweep_outcome outcome;
  auto points = grid_points(spec.axes);
  auto runs = plan(spec, points);
  auto base = protocols::find_scenario(spec.target, spec.scenarios_dir, spec.fixed);
  if (!base.ok()) {
    fmt::print(stderr, "{}", base.error_text());
    outcome.rc = 2;
    return outcome;
  }
  fs::path out{spec.out};
  auto runs_dir = out / "runs";
  std::error_code ec;
  if (spec.fresh) {
    fs::remove_all(runs_dir, ec);
  } else if (auto why = mode_conflict(spec); !why.empty()) {
    fmt::print(stderr, "sim sweep: {}\n", why);
    outcome.rc = 2;
    return outcome;
  }
  fs::create_directories(runs_dir, ec);
  if (ec || !record_mode(spec)) {
    fmt::print(stderr, "sim sweep: cannot create {}: {}\n", protocols::escape_control(spec.out),
               ec ? ec.message() : std::string{"cannot write sweep.json"});
    outcome.rc = 2;
    return outcome;
  }
  // What an interrupted sweep left under way is started again from nothing.
  for (const auto& entry : fs::directory_iterator{runs_dir, ec}) {
    if (entry.path().filename().string().rfind(".work-", 0) == 0) {
      fs::remove_all(entry.path(), ec);
    }
  }
  std::vector<size_t> pending;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!read_run(runs_dir / runs[i].name, runs[i], points[runs[i].point], mode_name(spec))) {
      pending.push_back(i);
    }
  }
  auto total = runs.size();
  auto already = total - pending.size();
  fmt::print(stderr, "sweep: {} runs ({} points x {} seeds), {} done already, {} at a time, {}\n",
             total, points.size(), spec.seeds.size(), already, spec.jobs, mode_text(spec));
  auto exe = self_path();
  // How long a virtual run takes depends on its traffic more than on its length, and
  // `sim run --virtual` gives up by itself after ten minutes of wall time (reporting why):
  // the sweep only kills a child that outlives that.
  auto patience =
      spec.live
          ? std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(
                std::chrono::duration<double>(base.value->length).count() * spec.time_scale)) +
                90s
          : std::chrono::milliseconds{std::chrono::minutes{10} + 60s};
  std::vector<running_child> running;
  size_t next = 0;
  size_t finished = 0;
  size_t failed = 0;
  auto t0 = clock_type::now();
  auto stop_all = [&] {
    for (auto& c : running) {
      ::kill(c.pid, SIGKILL);
      reap_process(c.pid, 5000);
      fs::remove_all(c.work, ec);
    }
    running.clear();
  };
  while (next < pending.size() || !running.empty()) {
    while (running.size() < spec.jobs && next < pending.size()) {
      auto& r = runs[pending[next++]];
      running_child c;
      c.run = pending[next - 1];
      c.work = runs_dir / (".work-" + r.name);
      fs::create_directories(c.work, ec);
      process_spec ps;
      ps.argv = {exe,
                 "--scenarios",
                 spec.scenarios_dir,
                 "run",
                 spec.target,
                 "--seed",
                 std::to_string(r.seed),
                 "--json",
                 "--report",
                 (c.work / "report").string()};
      if (spec.live) {
        ps.argv.insert(ps.argv.end(), {"--time-scale", fmt::format("{}", spec.time_scale)});
      } else {
        ps.argv.emplace_back("--virtual");
      }
      for (const auto& o : overrides_at(spec, points[r.point])) {
        ps.argv.push_back("--set");
        ps.argv.push_back(protocols::dotted(o.path) + "=" + o.value);
      }
      int log =
          ::open((c.work / "output.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ps.output_fd = log;
      ps.die_with_parent = true;
      c.pid = start_process(ps);
      if (log >= 0) {
        ::close(log);
      }
      if (c.pid < 0) {
        fmt::print(stderr, "sweep: cannot start a run: {}\n", std::strerror(errno));
        stop_all();
        outcome.rc = 1;
        return outcome;
      }
      c.started = clock_type::now();
      c.deadline = c.started + patience;
      running.push_back(std::move(c));
    }
    if (signals.wait(100ms) != 0) {
      stop_all();
      fmt::print(stderr,
                 "sweep: interrupted; the {} finished runs are kept, run the same command "
                 "again to resume\n",
                 already + finished);
      outcome.rc = 130;
      return outcome;
    }
    for (size_t i = 0; i < running.size();) {
      auto& c = running[i];
      int status = 0;
      auto got = ::waitpid(c.pid, &status, WNOHANG);
      if (got == 0 && clock_type::now() > c.deadline) {
        ::kill(c.pid, SIGKILL);
        status = reap_process(c.pid, 5000);
        got = c.pid;
      }
      if (got == 0) {
        ++i;
        continue;
      }
      // A Ctrl-C reaches the children too: a run that ended because of it is no result.
      if (signals.wait(0ns) != 0) {
        stop_all();
        fmt::print(stderr, "sweep: interrupted; run the same command again to resume\n");
        outcome.rc = 130;
        return outcome;
      }
      auto& r = runs[c.run];
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      bool complete = (code == 0 || code == 1) && fs::exists(c.work / "report" / "report.json");
      std::string label;
      for (size_t a = 0; a < spec.axes.size(); ++a) {
        label += fmt::format("{}={} ", spec.axes[a].key, points[r.point][a]);
      }
      label = protocols::escape_control(label);
      if (code == 2) {
        fmt::print(stderr, "sweep: {}seed {}: bad input:\n{}", label, r.seed,
                   protocols::escape_control(read_text(c.work / "output.txt"), true));
        running.erase(running.begin() + static_cast<long>(i));
        stop_all();
        outcome.rc = 2;
        return outcome;
      }
      double took = std::chrono::duration<double>(clock_type::now() - c.started).count();
      if (complete) {
        nlohmann::json meta{{"identity", r.identity}, {"seed", r.seed}, {"exit", code}};
        std::ofstream{c.work / "run.json"} << meta.dump(2) << "\n";
        // Everything the run made moves into place at once.
        fs::remove_all(runs_dir / r.name, ec);
        fs::rename(c.work, runs_dir / r.name, ec);
        ++finished;
      } else {
        ++failed;
        auto kept = runs_dir / (".failed-" + r.name);
        fs::remove_all(kept, ec);
        fs::rename(c.work, kept, ec);
        fmt::print(stderr, "sweep: {}seed {}: did not finish (status {}); its output is in {}\n",
                   label, r.seed, status, protocols::escape_control(kept.string()));
      }
      auto done_now = finished + failed;
      double elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
      auto left = pending.size() - done_now;
      fmt::print(stderr, "sweep: [{}/{}] {}seed {}: {} ({:.1f}s); {} running; ETA {}\n",
                 already + done_now, total, label, r.seed,
                 !complete   ? "ERROR"
                 : code == 0 ? "PASS"
                             : "FAIL",
                 took, running.size() - 1,
                 format_eta(elapsed / static_cast<double>(done_now) * static_cast<double>(left)));
      running.erase(running.begin() + static_cast<long>(i));
    }
  }
  // Every table comes from the finished folders, this session's and earlier ones alike.
  for (const auto& r : runs) {
    if (auto row = read_run(runs_dir / r.name, r, points[r.point], mode_name(spec))) {
      outcome.rows.push_back(std::move(*row));
    }
  }
  outcome.totals = summarize(spec.axes, outcome.rows);
  outcome.totals.mode = mode_name(spec);
  if (!write_atomically(out / "runs.csv", runs_csv(spec.axes, outcome.rows)) ||
      !write_atomically(out / "summary.csv", summary_csv(spec.axes, outcome.totals))) {
    fmt::print(stderr, "sweep: cannot write into {}\n", protocols::escape_control(spec.out));
    outcome.rc = 1;
    return outcome;
  }
  auto metrics = spec.chart_metrics.empty() ? outcome.totals.metrics : spec.chart_metrics;
  write_atomically(out / "summary.md", fmt::format("Played in {}.\n\n", mode_text(spec)) +
                                           summary_markdown(spec.axes, outcome.totals, metrics));
  auto charts_dir = out / "charts";
  fs::create_directories(charts_dir, ec);
  std::string script;
  auto files = charts(spec.axes, outcome.totals, metrics, spec.title, script);
  for (const auto& f : files) {
    write_atomically(charts_dir / f.data_name, f.data);
  }
  write_atomically(charts_dir / "charts.gp", script);
  if (auto gnuplot = find_program("gnuplot"); !gnuplot.empty() && !files.empty()) {
    if (run_gnuplot(gnuplot, charts_dir.string(), "charts.gp") != 0) {
      fmt::print(stderr, "sweep: gnuplot failed on charts/charts.gp\n");
    }
  }
  fmt::print(stderr,
             "sweep: {} runs in {}/runs.csv, summary.csv, summary.md, charts/ ({} charts)\n",
             outcome.rows.size(), protocols::escape_control(spec.out), files.size());
  if (failed > 0) {
    fmt::print(stderr, "sweep: {} runs did not finish; run the same command again to retry them\n",
               failed);
    outcome.rc = 1;
  }
  return outcome;
}

}  // namespace l4sim::apps
