// libFuzzer target: the value parsers behind every env variable and flag (durations,
// numbers, endpoints, `[name=]host:port` lists, client mixes). The first byte picks the
// parser; whatever parses must render back to text that parses to the same value.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "actors/clients/arrivals.hpp"
#include "protocols/units.hpp"

using namespace l4sim;

namespace {

void require(bool ok) {
  if (!ok) {
    std::abort();
  }
}

/// Whether `to_string` of an endpoint on `host` parses back: parse_endpoint takes a host
/// as written (`[[]:1` gives "[", `[ a ]:1` gives " a "), and lists trim spaces.
bool round_trips(const std::string& host) {
  return host.find_first_of("[]") == std::string::npos && host.front() != ' ' && host.back() != ' ';
}

void check_endpoint(std::string_view text) {
  if (auto ep = protocols::parse_endpoint(text)) {
    require(!ep->host.empty() && ep->port != 0);
    if (round_trips(ep->host)) {
      auto again = protocols::parse_endpoint(protocols::to_string(*ep));
      require(again && *again == *ep);
    }
  }
}

void check_endpoint_list(std::string_view text) {
  std::string bad;
  if (auto list = protocols::parse_endpoint_list(text, bad)) {
    require(bad.empty());
    for (const auto& entry : *list) {
      require(!entry.where.host.empty() && entry.where.port != 0);
      require(entry.name.find_first_of("=,") == std::string::npos);
      if (!round_trips(entry.where.host)) {
        continue;
      }
      auto one = (entry.name.empty() ? std::string{} : entry.name + "=") +
                 protocols::to_string(entry.where);
      std::string bad_one;
      auto again = protocols::parse_endpoint_list(one, bad_one);
      require(again && again->size() == 1 && again->front().name == entry.name &&
              again->front().where == entry.where);
    }
  } else {
    require(text.find(bad) != std::string_view::npos);
  }
}

void check_duration(std::string_view text, protocols::duration bare_unit) {
  if (auto d = protocols::parse_duration(text, bare_unit)) {
    require(d->count() >= 0);
    auto shown = protocols::format_duration(*d);
    // format_duration is for people: 6 significant digits and whole microseconds, so the
    // round trip is checked to that precision, below 1e6 s where 6 digits still hold a
    // fraction of a second.
    if (*d < std::chrono::seconds{1'000'000}) {
      auto again = protocols::parse_duration(shown, bare_unit);
      require(again.has_value());
      auto error = std::abs(static_cast<double>(again->count() - d->count()));
      require(error <= std::max(1000.0, static_cast<double>(d->count()) * 1e-5));
    }
  }
}

void check_mix(std::string_view text) {
  if (auto mix = actors::parse_mix(text)) {
    auto again = actors::parse_mix(actors::format_mix(*mix));
    require(again && *again == *mix);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  std::string_view text{reinterpret_cast<const char*>(data) + 1, size - 1};
  switch (data[0] % 6) {
    case 0:
      check_duration(text, std::chrono::seconds{1});
      check_duration(text, std::chrono::milliseconds{1});
      break;
    case 1:
      if (auto n = protocols::parse_uint(text)) {
        require(protocols::parse_uint(std::to_string(*n)) == n);
      }
      if (auto x = protocols::parse_decimal(text)) {
        require(*x >= 0);
      }
      break;
    case 2:
      check_endpoint(text);
      break;
    case 3:
      check_endpoint_list(text);
      break;
    case 4:
      check_mix(text);
      break;
    default:
      (void)actors::parse_arrival_process(text);
      (void)protocols::format_bytes(size * 0x9e3779b97f4a7c15ull);
      break;
  }
  return 0;
}
