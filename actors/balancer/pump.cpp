#include "actors/balancer/pump.hpp"

#include "actors/balancer/broker_pump.hpp"
#include "actors/balancer/direct_pump.hpp"

namespace l4sim::actors {

std::unique_ptr<byte_pump> make_pump(caf::io::broker* self, caf::io::connection_handle client,
                                     const pump_config& cfg) {
  if (cfg.kind == pump_kind::broker) {
    return std::make_unique<broker_pump>(self, client, cfg);
  }
  return std::make_unique<direct_pump>(self, client, cfg);
}

const char* to_string(pump_kind kind) {
  switch (kind) {
    case pump_kind::broker:
      return "broker";
    case pump_kind::direct:
      return "direct";
    case pump_kind::splice:
      return "splice";
  }
  return "?";
}

std::optional<pump_kind> parse_pump_kind(const std::string& text) {
  if (text == "broker") {
    return pump_kind::broker;
  }
  if (text == "direct") {
    return pump_kind::direct;
  }
  if (text == "splice") {
    return pump_kind::splice;
  }
  return std::nullopt;
}

}  // namespace l4sim::actors
