#include "actors/balancer/balancing.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "protocols/algorithms.hpp"

namespace l4sim::actors {

namespace {

/// Draws an eligible backend with probability w_i / W; nothing when none is eligible.
std::optional<size_t> weighted_draw(const std::vector<candidate>& backends, std::mt19937_64& rng) {
  uint64_t total = 0;
  for (auto& c : backends) {
    total += c.eligible ? c.weight : 0;
  }
  if (total == 0) {
    return std::nullopt;
  }
  auto r = std::uniform_int_distribution<uint64_t>{0, total - 1}(rng);
  for (size_t i = 0; i < backends.size(); ++i) {
    if (!backends[i].eligible) {
      continue;
    }
    if (r < backends[i].weight) {
      return i;
    }
    r -= backends[i].weight;
  }
  return std::nullopt;  // unreachable: r < total
}

/// Returns whether a's load per weight is below b's (load_a / w_a < load_b / w_b).
bool lighter(const candidate& a, const candidate& b) {
  return a.load * b.weight < b.load * a.weight;
}

std::string id_of(const candidate& c, size_t index) {
  return c.id.empty() ? "#" + std::to_string(index) : c.id;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t stable_hash(std::string_view text, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ splitmix64(seed);
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  return splitmix64(h);
}

std::optional<size_t> round_robin::choose(const std::vector<candidate>& backends,
                                          std::string_view) {
  bool same_set = ids_.size() == backends.size();
  for (size_t i = 0; same_set && i < backends.size(); ++i) {
    same_set = ids_[i] == backends[i].id;
  }
  if (!same_set) {
    ids_.clear();
    for (auto& c : backends) {
      ids_.push_back(c.id);
    }
    current_.assign(backends.size(), 0);
  }
  int64_t total = 0;
  std::optional<size_t> best;
  for (size_t i = 0; i < backends.size(); ++i) {
    if (!backends[i].eligible) {
      continue;
    }
    current_[i] += backends[i].weight;
    total += backends[i].weight;
    if (!best || current_[i] > current_[*best]) {
      best = i;
    }
  }
  if (best) {
    current_[*best] -= total;
  }
  return best;
}

std::optional<size_t> least_connections::choose(const std::vector<candidate>& backends,
                                                std::string_view) {
  auto n = backends.size();
  std::optional<size_t> best;
  for (size_t step = 0; step < n; ++step) {
    auto i = (next_ + step) % n;
    auto& c = backends[i];
    if (!c.eligible) {
      continue;
    }
    if (!best || lighter(c, backends[*best])) {
      best = i;
    }
  }
  if (best) {
    next_ = *best + 1;
  }
  return best;
}

std::optional<size_t> uniform_random::choose(const std::vector<candidate>& backends,
                                             std::string_view) {
  return weighted_draw(backends, rng_);
}

std::optional<size_t> power_of_two::choose(const std::vector<candidate>& backends,
                                           std::string_view) {
  auto first = weighted_draw(backends, rng_);
  if (!first) {
    return std::nullopt;
  }
  auto second = weighted_draw(backends, rng_);
  return lighter(backends[*second], backends[*first]) ? second : first;
}

std::optional<size_t> consistent_hash::choose(const std::vector<candidate>& backends,
                                              std::string_view key) {
  ranked_.clear();
  uint64_t total_load = 0;
  uint64_t total_weight = 0;
  auto key_hash = stable_hash(key);
  for (size_t i = 0; i < backends.size(); ++i) {
    auto& c = backends[i];
    if (!c.eligible) {
      continue;
    }
    total_load += c.load;
    total_weight += c.weight;
    // u in (0, 1): the top 53 bits, offset by half a step so that it is never 0 or 1.
    auto h = stable_hash(id_of(c, i), key_hash);
    double u = (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
    ranked_.emplace_back(-static_cast<double>(c.weight) / std::log(u), i);
  }
  if (ranked_.empty()) {
    return std::nullopt;
  }
  auto top = std::max_element(ranked_.begin(), ranked_.end());
  auto fits = [&](size_t i) {
    if (c_ <= 0) {
      return true;
    }
    auto& c = backends[i];
    double cap = std::ceil(c_ * static_cast<double>(total_load + 1) * c.weight /
                           static_cast<double>(total_weight));
    return static_cast<double>(c.load + 1) <= cap;
  };
  if (fits(top->second)) {
    return top->second;
  }
  std::sort(ranked_.begin(), ranked_.end(), std::greater<>{});
  for (auto& [score, i] : ranked_) {
    if (fits(i)) {
      return i;
    }
  }
  // Unreachable while c >= 1 (some backend is at or below its share), but a factor
  // below 1 could bound everyone out: then the rank alone decides.
  return ranked_.front().second;
}

void maglev::rebuild(const std::vector<candidate>& backends) {
  struct entry {
    size_t index;
    uint64_t offset;
    uint64_t skip;
    uint64_t next = 0;    // j of the next preferred slot to try
    uint64_t target = 0;  // t_i
    uint32_t weight;
  };
  std::vector<entry> entries;
  uint32_t max_weight = 0;
  built_for_.clear();
  for (size_t i = 0; i < backends.size(); ++i) {
    auto& c = backends[i];
    if (!c.eligible) {
      continue;
    }
    auto id = id_of(c, i);
    built_for_.emplace_back(id, c.weight);
    entries.push_back({i, stable_hash(id, 0x6d61676c) % table_size,
                       stable_hash(id, 0x736b6970) % (table_size - 1) + 1, 0, 0, c.weight});
    max_weight = std::max(max_weight, c.weight);
  }
  constexpr auto empty = std::numeric_limits<uint32_t>::max();
  table_.assign(entries.empty() ? 0 : table_size, empty);
  uint32_t filled = 0;
  for (uint64_t round = 1; filled < table_.size(); ++round) {
    for (auto& e : entries) {
      if (filled == table_.size()) {
        break;
      }
      if (round * e.weight < e.target) {
        continue;
      }
      e.target += max_weight;
      auto slot = (e.offset + e.next * e.skip) % table_size;
      while (table_[slot] != empty) {
        ++e.next;
        slot = (e.offset + e.next * e.skip) % table_size;
      }
      table_[slot] = static_cast<uint32_t>(e.index);
      ++e.next;
      ++filled;
    }
  }
}

std::optional<size_t> maglev::choose(const std::vector<candidate>& backends, std::string_view key) {
  size_t n = 0;
  bool same = true;
  for (size_t i = 0; i < backends.size(); ++i) {
    auto& c = backends[i];
    if (!c.eligible) {
      continue;
    }
    same = same && n < built_for_.size() && built_for_[n].first == id_of(c, i) &&
           built_for_[n].second == c.weight;
    ++n;
  }
  if (!same || n != built_for_.size()) {
    rebuild(backends);
  }
  if (table_.empty()) {
    return std::nullopt;
  }
  return table_[stable_hash(key) % table_size];
}

std::unique_ptr<balancing_policy> make_policy(std::string_view name, uint64_t seed,
                                              uint32_t hash_balance) {
  if (name == "rr") {
    return std::make_unique<round_robin>();
  }
  if (name == "lc") {
    return std::make_unique<least_connections>();
  }
  if (name == "rand") {
    return std::make_unique<uniform_random>(seed);
  }
  if (name == "p2c") {
    return std::make_unique<power_of_two>(seed);
  }
  if (name == "hash") {
    return std::make_unique<consistent_hash>(hash_balance / 100.0);
  }
  if (name == "maglev") {
    return std::make_unique<maglev>();
  }
  return nullptr;
}

std::string policy_names() {
  return protocols::algorithm_list();
}

}  // namespace l4sim::actors
