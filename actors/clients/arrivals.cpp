#include "actors/clients/arrivals.hpp"

#include <cmath>
#include <numeric>

#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

using protocols::client_kind;
using protocols::client_mix;

/// Derives independent seeds from one (splitmix64), so that gaps and tickets do not share
/// a generator.
uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t total_weight(const client_mix& mix) {
  return std::accumulate(mix.weights.begin(), mix.weights.end(), uint64_t{0});
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string to_string(arrival_process x) {
  return x == arrival_process::poisson ? "poisson" : "uniform";
}

std::optional<arrival_process> parse_arrival_process(std::string_view text) {
  if (text == "uniform") {
    return arrival_process::uniform;
  }
  if (text == "poisson") {
    return arrival_process::poisson;
  }
  return std::nullopt;
}

client_mix default_mix() {
  client_mix mix;
  mix[client_kind::real] = 50;
  mix[client_kind::fire_and_forget] = 20;
  mix[client_kind::stream] = 15;
  mix[client_kind::idle] = 10;
  mix[client_kind::slow] = 5;
  return mix;
}

std::optional<client_mix> parse_mix(std::string_view text) {
  client_mix mix;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return std::nullopt;
    }
    auto kind = protocols::parse_client_kind(trim(item.substr(0, eq)));
    auto weight = protocols::parse_uint(trim(item.substr(eq + 1)), 1'000'000);
    if (!kind || !weight) {
      return std::nullopt;
    }
    mix[*kind] = static_cast<uint32_t>(*weight);
  }
  if (total_weight(mix) == 0) {
    return std::nullopt;
  }
  return mix;
}

std::string format_mix(const client_mix& mix) {
  std::string out;
  for (auto kind : protocols::all_client_kinds) {
    if (mix[kind] == 0) {
      continue;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += protocols::to_string(kind) + '=' + std::to_string(mix[kind]);
  }
  return out;
}

arrivals::arrivals(double rate, arrival_process process, client_mix mix, uint64_t seed)
    : rate_(0),
      process_(process),
      mix_(default_mix()),
      gap_rng_(derive_seed(seed, 0)),
      ticket_rng_(derive_seed(seed, 1)) {
  set_rate(rate);
  set_mix(mix);
}

std::optional<caf::timespan> arrivals::next_gap() {
  if (rate_ <= 0) {
    return std::nullopt;
  }
  double seconds = 1.0 / rate_;
  if (process_ == arrival_process::poisson) {
    seconds = std::exponential_distribution<double>{rate_}(gap_rng_);
  }
  // Carry the rounding remainder so that n gaps add up to n/rate, not n rounded gaps.
  carry_ns_ += seconds * 1e9;
  auto whole = std::llround(carry_ns_);
  carry_ns_ -= static_cast<double>(whole);
  return caf::timespan{static_cast<int64_t>(whole)};
}

client_ticket arrivals::next_ticket() {
  client_ticket t;
  t.id = next_id_++;
  auto total = total_weight(mix_);
  auto draw = std::uniform_int_distribution<uint64_t>{0, total - 1}(ticket_rng_);
  for (auto kind : protocols::all_client_kinds) {
    if (draw < mix_[kind]) {
      t.kind = kind;
      break;
    }
    draw -= mix_[kind];
  }
  t.seed = ticket_rng_();
  return t;
}

void arrivals::set_rate(double rate) {
  if (std::isfinite(rate) && rate >= 0) {
    rate_ = rate;
  }
}

bool arrivals::set_mix(const client_mix& mix) {
  if (total_weight(mix) == 0) {
    return false;
  }
  mix_ = mix;
  return true;
}

}  // namespace l4sim::actors
