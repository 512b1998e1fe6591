#pragma once

#include <memory>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "apps/common/control.hpp"
#include "apps/common/signals.hpp"

namespace l4sim::apps {

/// What every l4sim process sets up before it spawns actors, in this order: the soft
/// open-file limit raised to the hard one, SIGINT/SIGTERM blocked (before CAF starts its
/// threads), and an actor system configured for l4sim, with CAF's OpenSSL module when the
/// control port uses mutual TLS, and `scheduler`'s policy when one is given (CAF's default,
/// work stealing, otherwise).
struct runtime {
  explicit runtime(const control_tls& tls = {},
                   std::optional<actors::scheduler_kind> scheduler = std::nullopt)
      : files(actors::raise_open_file_limit()) {
    actors::configure_system(cfg);
    if (scheduler) {
      actors::configure_scheduler(cfg, *scheduler);
    }
    configure_control_tls(cfg, tls);
    sys = std::make_unique<caf::actor_system>(cfg);
    actors::widen_loop_pipes();
  }

  uint64_t files;  ///< the open-file limit now in force
  signal_guard signals;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
};

}  // namespace l4sim::apps
