#include "protocols/units.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace l4sim::protocols {

std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max) {
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parse_decimal(std::string_view text) {
  // from_chars for double needs GCC 11+; it is there on bookworm (GCC 12).
  if (text.empty() || text.front() == '-' || text.front() == '+') {
    return std::nullopt;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<duration> parse_duration(std::string_view text, duration bare_unit) {
  auto split = text.find_first_not_of("0123456789.");
  auto number = parse_decimal(text.substr(0, split));
  if (!number) {
    return std::nullopt;
  }
  auto unit = split == std::string_view::npos ? std::string_view{} : text.substr(split);
  double ns_per_unit = 0;
  if (unit.empty()) {
    ns_per_unit = static_cast<double>(bare_unit.count());
  } else if (unit == "ns") {
    ns_per_unit = 1;
  } else if (unit == "us") {
    ns_per_unit = 1e3;
  } else if (unit == "ms") {
    ns_per_unit = 1e6;
  } else if (unit == "s") {
    ns_per_unit = 1e9;
  } else if (unit == "m" || unit == "min") {
    ns_per_unit = 60e9;
  } else if (unit == "h") {
    ns_per_unit = 3600e9;
  } else {
    return std::nullopt;
  }
  auto ns = *number * ns_per_unit;
  if (ns > 1e18) {
    return std::nullopt;
  }
  return duration{static_cast<int64_t>(std::llround(ns))};
}

namespace {

/// `x` (> 0) with 6 significant digits, trailing zeros dropped, never in exponent notation:
/// `{:g}` wrote 999999.9999996 as `1e+06`, which parse_duration does not read (found by
/// units_fuzz).
std::string six_digits(double x) {
  int before_point = x < 1 ? 1 : static_cast<int>(std::floor(std::log10(x))) + 1;
  auto text = fmt::format("{:.{}f}", x, std::max(0, 6 - before_point));
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') {
      text.pop_back();
    }
  }
  return text;
}

}  // namespace

std::string format_duration(duration d) {
  auto ns = d.count();
  if (ns == 0) {
    return "0s";
  }
  if (ns % 1'000'000'000 == 0) {
    return fmt::format("{}s", ns / 1'000'000'000);
  }
  if (ns >= 1'000'000'000) {
    return six_digits(static_cast<double>(ns) / 1e9) + "s";
  }
  if (ns % 1'000'000 == 0) {
    return fmt::format("{}ms", ns / 1'000'000);
  }
  if (ns >= 1'000'000) {
    return six_digits(static_cast<double>(ns) / 1e6) + "ms";
  }
  return fmt::format("{}us", ns / 1000);
}

std::optional<endpoint> parse_endpoint(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return std::nullopt;
    }
  }
  auto number = parse_uint(port, 65535);
  if (host.empty() || !number || *number == 0) {
    return std::nullopt;
  }
  return endpoint{std::string{host}, static_cast<uint16_t>(*number)};
}

std::optional<std::vector<named_endpoint>> parse_endpoint_list(std::string_view text,
                                                               std::string& bad) {
  std::vector<named_endpoint> result;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    auto eq = item.find('=');
    auto name = eq == std::string_view::npos ? std::string_view{} : item.substr(0, eq);
    auto ep = parse_endpoint(eq == std::string_view::npos ? item : item.substr(eq + 1));
    if (!ep || eq == 0) {
      bad.assign(item);
      return std::nullopt;
    }
    result.push_back({std::string{name}, *ep});
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return result;
}

std::string to_string(const endpoint& ep) {
  if (ep.host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", ep.host, ep.port);
  }
  return fmt::format("{}:{}", ep.host, ep.port);
}

std::string format_bytes(uint64_t n) {
  if (n < 1024) {
    return fmt::format("{}B", n);
  }
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  auto value = static_cast<double>(n) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f}{}", value, units[unit]);
}

}  // namespace l4sim::protocols
