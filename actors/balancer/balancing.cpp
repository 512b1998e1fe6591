#include "actors/balancer/balancing.hpp"

#include "protocols/algorithms.hpp"

namespace l4sim::actors {

std::optional<size_t> round_robin::pick(const std::vector<candidate>& backends) {
  auto n = backends.size();
  for (size_t step = 0; step < n; ++step) {
    auto i = (next_ + step) % n;
    if (backends[i].eligible) {
      next_ = i + 1;
      return i;
    }
  }
  return std::nullopt;
}

std::optional<size_t> least_connections::pick(const std::vector<candidate>& backends) {
  auto n = backends.size();
  std::optional<size_t> best;
  for (size_t step = 0; step < n; ++step) {
    auto i = (next_ + step) % n;
    auto& c = backends[i];
    if (!c.eligible) {
      continue;
    }
    // Compare load_i / weight_i < load_b / weight_b without dividing.
    if (!best || c.load * backends[*best].weight < backends[*best].load * c.weight) {
      best = i;
    }
  }
  if (best) {
    next_ = *best + 1;
  }
  return best;
}

std::optional<size_t> uniform_random::pick(const std::vector<candidate>& backends) {
  std::vector<size_t> eligible;
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].eligible) {
      eligible.push_back(i);
    }
  }
  if (eligible.empty()) {
    return std::nullopt;
  }
  std::uniform_int_distribution<size_t> dist{0, eligible.size() - 1};
  return eligible[dist(rng_)];
}

std::unique_ptr<balancing_policy> make_policy(std::string_view name, uint64_t seed) {
  if (name == "rr") {
    return std::make_unique<round_robin>();
  }
  if (name == "lc") {
    return std::make_unique<least_connections>();
  }
  if (name == "rand") {
    return std::make_unique<uniform_random>(seed);
  }
  return nullptr;
}

std::string policy_names() {
  return protocols::algorithm_list();
}

}  // namespace l4sim::actors
