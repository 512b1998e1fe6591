#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/io/system.hpp"

namespace l4sim::testing {

/// An actor system configured like the apps' (l4sim types, I/O module), for one test.
struct test_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  test_system() {
    actors::configure_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

}  // namespace l4sim::testing
