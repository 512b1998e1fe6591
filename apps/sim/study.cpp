#include "apps/sim/study.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "protocols/scenario/scenario.hpp"
#include "protocols/text_escape.hpp"

namespace l4sim::apps {

namespace {

/// Metric kinds in column order; a metric is `<kind>.<subject>` or a bare kind.
const std::vector<std::string> kinds{
    "passed",  "expect", "share",        "refused", "max_queued", "queue_timeouts", "ejections",
    "retries", "failed", "failure_rate", "p50_ms",  "p90_ms",     "p99_ms",         "max_ms"};

/// The per-backend counters of report.json that are metrics under their own name.
const std::vector<std::string> backend_counters{"refused", "max_queued", "queue_timeouts",
                                                "ejections", "retries"};

size_t kind_rank(const std::string& name) {
  auto dot = name.find('.');
  auto kind = name.substr(0, dot);
  if (kind.rfind("expect_", 0) == 0) {
    kind = "expect";
  }
  auto i = std::find(kinds.begin(), kinds.end(), kind);
  return static_cast<size_t>(i - kinds.begin());
}

/// Fixed notation without trailing noise: 0.25, 12, 0.0333333.
std::string number(double v) {
  if (std::isnan(v)) {
    return "";
  }
  return fmt::format("{:.6g}", v);
}

/// `digits` significant digits, but never in exponent form: 2002, 57.8, 0.0933.
std::string readable(double v, int digits) {
  if (std::abs(v) >= std::pow(10.0, digits)) {
    return fmt::format("{:.0f}", v);
  }
  return fmt::format("{:.{}g}", v, digits);
}

}  // namespace

std::vector<grid_point> grid_points(const std::vector<grid_axis>& axes) {
  std::vector<grid_point> out{grid_point{}};
  for (const auto& axis : axes) {
    std::vector<grid_point> next;
    for (const auto& p : out) {
      for (const auto& v : axis.values) {
        auto q = p;
        q.push_back(v);
        next.push_back(std::move(q));
      }
    }
    out = std::move(next);
  }
  return out;
}

run_metrics metrics_of(const nlohmann::json& report) {
  run_metrics out;
  out["passed"] = report.value("passed", false) ? 1 : 0;
  if (auto v = report.find("verdicts"); v != report.end() && v->is_array()) {
    for (size_t i = 0; i < v->size(); ++i) {
      out[fmt::format("expect_{}", i + 1)] = (*v)[i].value("passed", false) ? 1 : 0;
    }
  }
  auto summary = report.value("summary", nlohmann::json::object());
  auto backends = summary.value("backends", nlohmann::json::object());
  double total = 0;
  for (auto& [id, b] : backends.items()) {
    total += b.value("connections", 0.0);
  }
  for (auto& [id, b] : backends.items()) {
    if (total > 0) {
      out["share." + id] = b.value("connections", 0.0) / total;
    }
    for (const auto& counter : backend_counters) {
      if (auto v = b.find(counter); v != b.end() && v->is_number()) {
        out[counter + "." + id] = v->get<double>();
      }
    }
  }
  double all_started = 0;
  double all_failed = 0;
  auto clients = summary.value("clients", nlohmann::json::object());
  for (auto& [type, c] : clients.items()) {
    double started = c.value("started", 0.0);
    double failed = 0;
    auto reasons = c.value("failed", nlohmann::json::object());
    for (auto& [reason, n] : reasons.items()) {
      failed += n.is_number() ? n.get<double>() : 0.0;
    }
    all_started += started;
    all_failed += failed;
    if (started > 0) {
      out["failed." + type] = failed;
      out["failure_rate." + type] = failed / started;
    }
    auto latency = c.value("latency_seconds", nlohmann::json::object());
    for (const char* p : {"p50", "p90", "p99", "max"}) {
      if (latency.contains(p)) {
        if (latency[p].is_number()) {
          out[fmt::format("{}_ms.{}", p, type)] = latency[p].get<double>() * 1000;
        }
      }
    }
  }
  out["failed.all"] = all_failed;
  if (all_started > 0) {
    out["failure_rate.all"] = all_failed / all_started;
  }
  return out;
}

std::vector<std::string> ordered_metrics(const std::vector<run_metrics>& runs) {
  std::set<std::string> names;
  for (const auto& r : runs) {
    for (const auto& [name, v] : r) {
      names.insert(name);
    }
  }
  std::vector<std::string> out{names.begin(), names.end()};
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    auto ra = kind_rank(a);
    auto rb = kind_rank(b);
    if (ra != rb) {
      return ra < rb;
    }
    // expect_2 before expect_10
    if (a.size() != b.size() && ra == 1) {
      return a.size() < b.size();
    }
    return a < b;
  });
  return out;
}

bool known_metric(const std::string& name, const std::vector<std::string>& backends) {
  if (name == "passed") {
    return true;
  }
  if (name.rfind("expect_", 0) == 0) {
    auto digits = name.substr(7);
    return !digits.empty() && digits.size() < 5 &&
           digits.find_first_not_of("0123456789") == std::string::npos;
  }
  auto dot = name.find('.');
  if (dot == std::string::npos) {
    return false;
  }
  auto kind = name.substr(0, dot);
  auto subject = name.substr(dot + 1);
  if (kind == "share" ||
      std::find(backend_counters.begin(), backend_counters.end(), kind) != backend_counters.end()) {
    return std::find(backends.begin(), backends.end(), subject) != backends.end();
  }
  auto& types = protocols::client_types();
  bool type = std::find(types.begin(), types.end(), subject) != types.end();
  if (kind == "failed" || kind == "failure_rate") {
    return type || subject == "all";
  }
  return type && (kind == "p50_ms" || kind == "p90_ms" || kind == "p99_ms" || kind == "max_ms");
}

std::string metric_patterns() {
  return "passed, expect_N, share.BACKEND, refused.BACKEND, max_queued.BACKEND, "
         "queue_timeouts.BACKEND, ejections.BACKEND, retries.BACKEND, failed.TYPE, "
         "failure_rate.TYPE, p50_ms.TYPE, p90_ms.TYPE, p99_ms.TYPE, max_ms.TYPE (TYPE a client "
         "type or all for the failure figures)";
}

std::string runs_csv(const std::vector<grid_axis>& axes, const std::vector<run_row>& rows) {
  std::vector<run_metrics> all;
  for (const auto& r : rows) {
    all.push_back(r.metrics);
  }
  auto metrics = ordered_metrics(all);
  std::string out;
  for (const auto& a : axes) {
    out += protocols::csv_field(a.key) + ",";
  }
  out += "seed,mode,exit";
  for (const auto& m : metrics) {
    out += "," + protocols::csv_field(m);
  }
  out += "\n";
  for (const auto& r : rows) {
    for (const auto& v : r.point) {
      out += protocols::csv_field(v) + ",";
    }
    out += fmt::format("{},{},{}", r.seed, protocols::csv_field(r.mode), r.exit_code);
    for (const auto& m : metrics) {
      auto i = r.metrics.find(m);
      out += "," + (i == r.metrics.end() ? std::string{} : number(i->second));
    }
    out += "\n";
  }
  return out;
}

double t_quantile_975(size_t df) {
  // Two-sided 95% (one-sided 0.975) quantiles of Student's t, df 1..30, then by table.
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df == 0) {
    return NAN;
  }
  if (df <= 30) {
    return table[df - 1];
  }
  if (df <= 40) {
    return 2.021;
  }
  if (df <= 60) {
    return 2.000;
  }
  if (df <= 120) {
    return 1.980;
  }
  return 1.960;
}

estimate estimate_of(const std::vector<double>& values) {
  estimate out;
  out.n = values.size();
  if (out.n == 0) {
    out.mean = NAN;
    return out;
  }
  double sum = 0;
  for (double v : values) {
    sum += v;
  }
  out.mean = sum / static_cast<double>(out.n);
  if (out.n >= 2) {
    double sq = 0;
    for (double v : values) {
      sq += (v - out.mean) * (v - out.mean);
    }
    double sd = std::sqrt(sq / static_cast<double>(out.n - 1));
    // Equal values (as virtual runs often give) differ from their mean by rounding only:
    // that is no spread, and 4e-17 in a table would say there is one.
    if (sd <= 1e-12 * std::abs(out.mean)) {
      sd = 0;
    }
    out.ci95 = t_quantile_975(out.n - 1) * sd / std::sqrt(static_cast<double>(out.n));
  }
  return out;
}

summary summarize(const std::vector<grid_axis>& axes, const std::vector<run_row>& rows) {
  summary s;
  s.points = grid_points(axes);
  std::vector<run_metrics> all;
  for (const auto& r : rows) {
    all.push_back(r.metrics);
  }
  s.metrics = ordered_metrics(all);
  for (const auto& p : s.points) {
    std::map<std::string, std::vector<double>> samples;
    size_t n = 0;
    for (const auto& r : rows) {
      if (r.point != p) {
        continue;
      }
      ++n;
      for (const auto& [m, v] : r.metrics) {
        samples[m].push_back(v);
      }
    }
    std::map<std::string, estimate> at;
    for (const auto& m : s.metrics) {
      at[m] = estimate_of(samples[m]);
    }
    s.runs.push_back(n);
    s.values.push_back(std::move(at));
  }
  return s;
}

std::string summary_csv(const std::vector<grid_axis>& axes, const summary& s) {
  std::string out;
  for (const auto& a : axes) {
    out += protocols::csv_field(a.key) + ",";
  }
  out += "mode,runs";
  for (const auto& m : s.metrics) {
    out += "," + protocols::csv_field(m + "_mean") + "," + protocols::csv_field(m + "_ci95");
  }
  out += "\n";
  for (size_t i = 0; i < s.points.size(); ++i) {
    for (const auto& v : s.points[i]) {
      out += protocols::csv_field(v) + ",";
    }
    out += protocols::csv_field(s.mode) + "," + std::to_string(s.runs[i]);
    for (const auto& m : s.metrics) {
      auto& e = s.values[i].at(m);
      out += "," + (e.n == 0 ? std::string{} : number(e.mean)) + "," +
             (e.ci95 ? number(*e.ci95) : std::string{});
    }
    out += "\n";
  }
  return out;
}

std::string summary_markdown(const std::vector<grid_axis>& axes, const summary& s,
                             const std::vector<std::string>& metrics) {
  auto cell = [](const std::string& text) {
    std::string out;
    for (char c : protocols::escape_control(text)) {
      out += c == '|' ? std::string{"\\|"} : std::string(1, c);
    }
    return out;
  };
  std::string head = "|";
  std::string rule = "|";
  for (const auto& a : axes) {
    head += " " + cell(a.key) + " |";
    rule += "---|";
  }
  head += " runs |";
  rule += "---:|";
  for (const auto& m : metrics) {
    head += " " + cell(m) + " |";
    rule += "---:|";
  }
  std::string out = head + "\n" + rule + "\n";
  for (size_t i = 0; i < s.points.size(); ++i) {
    out += "|";
    for (const auto& v : s.points[i]) {
      out += " " + cell(v) + " |";
    }
    out += fmt::format(" {} |", s.runs[i]);
    for (const auto& m : metrics) {
      auto found = s.values[i].find(m);
      if (found == s.values[i].end() || found->second.n == 0) {
        out += " – |";
        continue;
      }
      auto& e = found->second;
      out += fmt::format(" {}{} |", readable(e.mean, 3),
                         e.ci95 ? " ± " + readable(*e.ci95, 2) : std::string{});
    }
    out += "\n";
  }
  return out;
}

std::string file_safe(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  return out.substr(0, 80);
}

std::vector<chart_file> charts(const std::vector<grid_axis>& axes, const summary& s,
                               const std::vector<std::string>& metrics, const std::string& title,
                               std::string& script) {
  using protocols::gnuplot_quoted;
  std::vector<chart_file> out;
  script =
      "set terminal pngcairo noenhanced size 900,500 font ',10'\nset key outside right\nset grid\n";
  for (const auto& m : metrics) {
    if (std::find(s.metrics.begin(), s.metrics.end(), m) == s.metrics.end()) {
      continue;
    }
    for (size_t x = 0; x < axes.size(); ++x) {
      if (axes.size() > 1 && axes[x].values.size() < 2) {
        continue;
      }
      // One line per combination of the other axes' values, in grid order.
      std::vector<grid_point> lines;
      for (const auto& p : s.points) {
        auto other = p;
        other.erase(other.begin() + static_cast<long>(x));
        if (std::find(lines.begin(), lines.end(), other) == lines.end()) {
          lines.push_back(other);
        }
      }
      chart_file f;
      auto stem = file_safe(m) + "-by-" + file_safe(axes[x].key);
      f.data_name = stem + ".dat";
      f.png_name = stem + ".png";
      for (size_t xi = 0; xi < axes[x].values.size(); ++xi) {
        f.data += std::to_string(xi);
        for (const auto& line : lines) {
          auto p = line;
          p.insert(p.begin() + static_cast<long>(x), axes[x].values[xi]);
          auto at = std::find(s.points.begin(), s.points.end(), p) - s.points.begin();
          auto& e = s.values[static_cast<size_t>(at)].at(m);
          f.data += fmt::format(" {} {}", e.n == 0 ? "NaN" : fmt::format("{:.6g}", e.mean),
                                e.ci95 ? fmt::format("{:.6g}", *e.ci95) : "0");
        }
        f.data += "\n";
      }
      std::string tics;
      for (size_t xi = 0; xi < axes[x].values.size(); ++xi) {
        tics += fmt::format("{}{} {}", xi == 0 ? "" : ", ", gnuplot_quoted(axes[x].values[xi]), xi);
      }
      script += fmt::format(
          "set output {}\nset title {}\nset xlabel {}\nset ylabel {}\nset xtics ({})\n"
          "set xrange [-0.5:{}]\nset yrange [*:*]\nplot ",
          gnuplot_quoted(f.png_name), gnuplot_quoted(title + ": " + m), gnuplot_quoted(axes[x].key),
          gnuplot_quoted(m + " (mean, 95% CI)"), tics,
          static_cast<double>(axes[x].values.size()) - 0.5);
      for (size_t li = 0; li < lines.size(); ++li) {
        std::string name;
        size_t other_axis = 0;
        for (size_t a = 0; a < axes.size(); ++a) {
          if (a == x) {
            continue;
          }
          name +=
              fmt::format("{}{}={}", name.empty() ? "" : " ", axes[a].key, lines[li][other_axis++]);
        }
        // Lines side by side a little, so that their error bars do not hide each other.
        double shift =
            (static_cast<double>(li) - (static_cast<double>(lines.size()) - 1) / 2) * 0.04;
        script += fmt::format("{}{} using ($1+{:.3f}):{}:{} with yerrorlines lw 2 title {}",
                              li == 0 ? "" : ", ", gnuplot_quoted(f.data_name), shift, 2 + li * 2,
                              3 + li * 2, gnuplot_quoted(name.empty() ? m : name));
      }
      script += "\n";
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace l4sim::apps
