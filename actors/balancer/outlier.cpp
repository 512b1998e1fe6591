#include "actors/balancer/outlier.hpp"

#include <algorithm>

namespace l4sim::actors {

std::optional<caf::timespan> outlier_detector::failed(const std::string& id, size_t backends) {
  auto& e = entries_[id];
  ++e.streak;
  if (cfg_.consecutive == 0 || e.ejected || e.streak < cfg_.consecutive) {
    return std::nullopt;
  }
  size_t ejected_now = 0;
  for (auto& kv : entries_) {
    ejected_now += kv.second.ejected ? 1 : 0;
  }
  size_t allowed = std::max<size_t>(1, backends * cfg_.max_percent / 100);
  if (ejected_now >= allowed) {
    return std::nullopt;
  }
  e.ejected = true;
  e.streak = 0;
  ++e.ejections;
  return cfg_.base_ejection * e.ejections;
}

void outlier_detector::succeeded(const std::string& id) {
  if (auto i = entries_.find(id); i != entries_.end()) {
    i->second.streak = 0;
  }
}

bool outlier_detector::restore(const std::string& id) {
  auto i = entries_.find(id);
  if (i == entries_.end() || !i->second.ejected) {
    return false;
  }
  i->second.ejected = false;
  i->second.streak = 0;
  return true;
}

bool outlier_detector::ejected(const std::string& id) const {
  auto i = entries_.find(id);
  return i != entries_.end() && i->second.ejected;
}

uint32_t outlier_detector::ejections(const std::string& id) const {
  auto i = entries_.find(id);
  return i == entries_.end() ? 0 : i->second.ejections;
}

double slow_start_share(caf::timespan since, caf::timespan window) {
  if (window.count() <= 0 || since >= window) {
    return 1;
  }
  auto share = static_cast<double>(since.count()) / static_cast<double>(window.count());
  return std::clamp(share, 0.01, 1.0);
}

}  // namespace l4sim::actors
