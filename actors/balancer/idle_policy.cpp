#include "actors/balancer/idle_policy.hpp"

#include <algorithm>

namespace l4sim::actors {

std::chrono::nanoseconds session_timeouts::sweep_period() const {
  std::chrono::nanoseconds smallest{0};
  for (auto t : {client, server, tunnel, client_fin}) {
    if (t.count() > 0 && (smallest.count() == 0 || t < smallest)) {
      smallest = t;
    }
  }
  if (smallest.count() == 0) {
    return smallest;
  }
  return std::clamp<std::chrono::nanoseconds>(smallest / 4, std::chrono::milliseconds{10},
                                              std::chrono::seconds{1});
}

const char* to_string(idle_expiry x) {
  switch (x) {
    case idle_expiry::none:
      return "none";
    case idle_expiry::client:
      return "client";
    case idle_expiry::server:
      return "server";
    case idle_expiry::tunnel:
      return "tunnel";
    case idle_expiry::client_fin:
      return "client_fin";
  }
  return "none";
}

idle_expiry idle_check(const session_activity& act, session_activity::time_point now,
                       const session_timeouts& t) {
  auto expired = [&](session_activity::time_point since, std::chrono::nanoseconds limit) {
    return limit.count() > 0 && now - since >= limit;
  };
  auto latest =
      std::max(act.client_last, act.backend_attached ? act.backend_last : act.client_last);
  if (act.half_closed && t.client_fin.count() > 0) {
    return expired(std::max(*act.half_closed, latest), t.client_fin) ? idle_expiry::client_fin
                                                                     : idle_expiry::none;
  }
  if (act.client_sent && act.backend_sent && t.tunnel.count() > 0) {
    return expired(latest, t.tunnel) ? idle_expiry::tunnel : idle_expiry::none;
  }
  if (expired(act.client_last, t.client)) {
    return idle_expiry::client;
  }
  if (act.backend_attached && expired(act.backend_last, t.server)) {
    return idle_expiry::server;
  }
  return idle_expiry::none;
}

}  // namespace l4sim::actors
