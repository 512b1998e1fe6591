#include "apps/sim/claims.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace l4sim::apps {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) {
    return {};
  }
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::optional<double> to_number(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(v)) {
      return std::nullopt;
    }
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

const grid_axis* find_axis(const std::vector<grid_axis>& axes, const std::string& key) {
  for (const auto& a : axes) {
    if (a.key == key) {
      return &a;
    }
  }
  return nullptr;
}

std::optional<claim_side> parse_side(const std::string& raw, const std::vector<grid_axis>& axes,
                                     const std::vector<std::string>& backends, std::string& error) {
  auto text = trim(raw);
  claim_side side;
  if (auto n = to_number(text)) {
    side.constant = *n;
    return side;
  }
  // `* NUMBER` after the bracket (or the metric).
  auto star = text.rfind('*');
  if (star != std::string::npos && text.find(']', star) == std::string::npos) {
    auto factor = to_number(trim(text.substr(star + 1)));
    if (!factor) {
      error = fmt::format("\"{}\": expected a number after '*'", text);
      return std::nullopt;
    }
    side.factor = *factor;
    text = trim(text.substr(0, star));
  }
  auto open = text.find('[');
  side.metric = trim(text.substr(0, open));
  if (!known_metric(side.metric, backends)) {
    error = fmt::format("\"{}\" is not a metric (known: {})", side.metric, metric_patterns());
    return std::nullopt;
  }
  if (open == std::string::npos) {
    return side;
  }
  if (text.back() != ']') {
    error = fmt::format("\"{}\": expected ']' at the end of the selection", text);
    return std::nullopt;
  }
  auto inside = text.substr(open + 1, text.size() - open - 2);
  size_t start = 0;
  while (start <= inside.size()) {
    auto comma = std::min(inside.find(',', start), inside.size());
    auto item = trim(inside.substr(start, comma - start));
    auto eq = item.find('=');
    if (eq == std::string::npos) {
      error = fmt::format("\"{}\": expected KEY=VALUE in [...]", item);
      return std::nullopt;
    }
    auto key = trim(item.substr(0, eq));
    auto value = trim(item.substr(eq + 1));
    auto* axis = find_axis(axes, key);
    if (axis == nullptr) {
      error = fmt::format("\"{}\" is not a key of the grid", key);
      return std::nullopt;
    }
    if (std::find(axis->values.begin(), axis->values.end(), value) == axis->values.end()) {
      error = fmt::format("{}={}: \"{}\" is not one of the grid's values ({})", key, value, value,
                          fmt::join(axis->values, ", "));
      return std::nullopt;
    }
    side.where.emplace_back(key, value);
    start = comma + 1;
  }
  return side;
}

/// Whether `side` with the `every` keys pins every axis that has more than one value.
std::string unpinned(const claim_side& side, const std::vector<std::string>& every,
                     const std::vector<grid_axis>& axes) {
  if (side.metric.empty()) {
    return {};
  }
  for (const auto& a : axes) {
    bool pinned = a.values.size() < 2 ||
                  std::find(every.begin(), every.end(), a.key) != every.end() ||
                  std::any_of(side.where.begin(), side.where.end(),
                              [&](const auto& w) { return w.first == a.key; });
    if (!pinned) {
      return a.key;
    }
  }
  return {};
}

struct side_value {
  std::optional<estimate> e;  ///< unset for a constant
  double value = NAN;
};

side_value evaluate(const claim_side& side,
                    const std::vector<std::pair<std::string, std::string>>& at,
                    const std::vector<grid_axis>& axes, const summary& s) {
  side_value out;
  if (side.metric.empty()) {
    out.value = side.constant;
    return out;
  }
  auto want = side.where;
  want.insert(want.end(), at.begin(), at.end());
  for (size_t i = 0; i < s.points.size(); ++i) {
    bool match = true;
    for (const auto& [key, value] : want) {
      for (size_t a = 0; a < axes.size(); ++a) {
        match = match && (axes[a].key != key || s.points[i][a] == value);
      }
    }
    if (match) {
      auto found = s.values[i].find(side.metric);
      out.e = found == s.values[i].end() ? estimate{} : found->second;
      out.value = out.e->n == 0 ? NAN : out.e->mean * side.factor;
      return out;
    }
  }
  out.e = estimate{};
  return out;
}

std::string show(const claim_side& side, const side_value& v) {
  if (!v.e) {
    return fmt::format("{:g}", v.value);
  }
  if (v.e->n == 0) {
    return "no data";
  }
  auto ci = v.e->ci95 ? fmt::format(" ±{:.3g}", *v.e->ci95 * side.factor) : std::string{};
  return fmt::format("{:.4g}{} (n={})", v.value, ci, v.e->n);
}

}  // namespace

std::optional<claim> parse_claim(const std::string& text, const std::vector<grid_axis>& axes,
                                 const std::vector<std::string>& backends, std::string& error) {
  claim c;
  c.text = text;
  auto body = text;
  auto every = body.find(" at every ");
  if (every != std::string::npos) {
    auto keys = body.substr(every + 10);
    body = body.substr(0, every);
    size_t start = 0;
    while (start <= keys.size()) {
      auto comma = std::min(keys.find(',', start), keys.size());
      auto key = trim(keys.substr(start, comma - start));
      if (find_axis(axes, key) == nullptr) {
        error = fmt::format("at every \"{}\": not a key of the grid", key);
        return std::nullopt;
      }
      c.every.push_back(key);
      start = comma + 1;
    }
  }
  // The operator is outside any [...].
  int depth = 0;
  size_t at = std::string::npos;
  for (size_t i = 0; i < body.size() && at == std::string::npos; ++i) {
    depth += body[i] == '[' ? 1 : body[i] == ']' ? -1 : 0;
    if (depth == 0 && (body[i] == '<' || body[i] == '>')) {
      at = i;
    }
  }
  if (at == std::string::npos) {
    error = "expected a comparison: <=, <, >= or >";
    return std::nullopt;
  }
  c.op = body.substr(at, at + 1 < body.size() && body[at + 1] == '=' ? 2 : 1);
  auto left = parse_side(body.substr(0, at), axes, backends, error);
  if (!left) {
    return std::nullopt;
  }
  auto right = parse_side(body.substr(at + c.op.size()), axes, backends, error);
  if (!right) {
    return std::nullopt;
  }
  c.left = *left;
  c.right = *right;
  if (c.left.metric.empty() && c.right.metric.empty()) {
    error = "compares two constants";
    return std::nullopt;
  }
  for (const auto* side : {&c.left, &c.right}) {
    auto open = unpinned(*side, c.every, axes);
    if (!open.empty()) {
      error = fmt::format("{} leaves {} open: select a value with [{}=...] or add \"at every {}\"",
                          side->metric, open, open, open);
      return std::nullopt;
    }
    for (const auto& [key, value] : side->where) {
      if (std::find(c.every.begin(), c.every.end(), key) != c.every.end()) {
        error = fmt::format("{} is both selected ([{}={}]) and at every", key, key, value);
        return std::nullopt;
      }
    }
  }
  return c;
}

claim_verdict judge(const claim& c, const std::vector<grid_axis>& axes, const summary& s) {
  std::vector<grid_axis> free;
  for (const auto& key : c.every) {
    free.push_back(*find_axis(axes, key));
  }
  claim_verdict out;
  out.holds = true;
  for (const auto& combo : grid_points(free)) {
    std::vector<std::pair<std::string, std::string>> at;
    std::string where;
    for (size_t i = 0; i < free.size(); ++i) {
      at.emplace_back(free[i].key, combo[i]);
      where += fmt::format("{}={} ", free[i].key, combo[i]);
    }
    auto l = evaluate(c.left, at, axes, s);
    auto r = evaluate(c.right, at, axes, s);
    bool ok = !std::isnan(l.value) && !std::isnan(r.value) &&
              (c.op == "<="   ? l.value <= r.value
               : c.op == "<"  ? l.value < r.value
               : c.op == ">=" ? l.value >= r.value
                              : l.value > r.value);
    out.holds = out.holds && ok;
    out.lines.push_back(fmt::format("{} {}{} {} {}", ok ? "ok  " : "NOT ", where, show(c.left, l),
                                    c.op, show(c.right, r)));
  }
  return out;
}

}  // namespace l4sim::apps
