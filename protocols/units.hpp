#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace l4sim::protocols {

/// Durations travel as nanoseconds, the same representation as `caf::timespan`.
using duration = std::chrono::nanoseconds;

/// Parses `150ms`, `3s`, `0.2s`, `2m`, `500us`; a bare number takes `bare_unit`.
/// Returns nothing for negative, empty or malformed text.
std::optional<duration> parse_duration(std::string_view text, duration bare_unit);

/// Renders a duration compactly: `150ms`, `3s`, `2.5s`, `0s`.
std::string format_duration(duration d);

/// Parses a non-negative integer that fits `max`; nothing on junk or overflow.
std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max = UINT64_MAX);

/// Parses a finite non-negative decimal number such as `2`, `0.5`.
std::optional<double> parse_decimal(std::string_view text);

/// A TCP endpoint as configured: a host name or address and a port.
struct endpoint {
  std::string host;
  uint16_t port = 0;

  friend bool operator==(const endpoint& a, const endpoint& b) {
    return a.host == b.host && a.port == b.port;
  }
};

/// Parses `host:port` (`[v6]:port` too); the port must be 1..65535.
std::optional<endpoint> parse_endpoint(std::string_view text);

/// One entry of a `[name=]host:port` list; `name` is empty when the entry has none.
struct named_endpoint {
  std::string name;
  endpoint where;
};

/// Parses a comma-separated `[name=]host:port` list (spaces around entries allowed). On a
/// malformed entry returns nothing and stores that entry's text in `bad`.
std::optional<std::vector<named_endpoint>> parse_endpoint_list(std::string_view text,
                                                               std::string& bad);

/// Renders `host:port`.
std::string to_string(const endpoint& ep);

/// Renders a byte count with a binary unit: `512B`, `12.3KiB`, `4.0MiB`.
std::string format_bytes(uint64_t n);

}  // namespace l4sim::protocols
