#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/io/middleman.hpp>

#include "protocols/units.hpp"

namespace l4sim::apps {

/// Publishes a service's typed control actor through CAF's middleman on `where` (the
/// address defaults to 127.0.0.1 in `env_cli::control_endpoint`) so that `sim` can drive
/// it from another process. Returns the bound port.
template <class Handle>
caf::expected<uint16_t> publish_control(caf::actor_system& sys, const Handle& actor,
                                        const protocols::endpoint& where) {
  auto host = where.host == "0.0.0.0" ? std::string{} : where.host;
  return sys.middleman().publish(actor, where.port, host.empty() ? nullptr : host.c_str(), true);
}

}  // namespace l4sim::apps
