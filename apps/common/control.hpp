#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>

#include "actors/io/system.hpp"
#include "apps/common/env_cli.hpp"
#include "protocols/units.hpp"

namespace l4sim::apps {

/// Declares `--control`, bound to `env`: the `[host:]port` of a service's control actor.
inline void add_control_option(env_cli& cli, const std::string& env) {
  cli.option("--control", env,
             "[host:]port for sim's remote control (127.0.0.1 unless a host is given; 0 picks)");
}

/// Publishes a service's typed control actor through CAF's middleman on `where`, when set,
/// so that `sim` can drive it from another process, and logs `[id] control on host:port`.
/// Returns the port it listens on (0 when no control port was asked for); on failure it
/// prints why, naming `env`, and returns nothing.
template <class Handle>
std::optional<uint16_t> serve_control(caf::actor_system& sys, const Handle& actor,
                   const std::optional<protocols::endpoint>& where, const std::string& program,
                   const std::string& id, const std::string& env) {
  if (!where) {
    return uint16_t{0};
  }
  auto host = where->host == "0.0.0.0" ? std::string{} : where->host;
  auto port =
      sys.middleman().publish(actor, where->port, host.empty() ? nullptr : host.c_str(), true);
  if (!port) {
    fmt::print(stderr, "{}: [{}] {}: cannot listen on {}: {}\n", program, id, env,
               protocols::to_string(*where), actors::describe(port.error()));
    return std::nullopt;
  }
  actors::log_line(fmt::format("[{}] control on {}:{}", id, where->host, *port));
  return *port;
}

/// Prints the line that tells whoever started a service that it serves, in a form made for
/// programs: `l4sim-ready service=lb port=9000 control_port=41234` (control_port 0: none).
inline void announce_ready(const std::string& service, uint16_t port, uint16_t control_port) {
  actors::log_line(
      fmt::format("l4sim-ready service={} port={} control_port={}", service, port, control_port));
}

}  // namespace l4sim::apps
