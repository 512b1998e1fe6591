#include "actors/io/resolver.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/io/net.hpp"

namespace l4sim::actors {

namespace {

// Takes an unused argument: CAF 0.17 binds a reference to an empty tuple for function
// actors spawned without one (UBSan).
resolver_actor::behavior_type resolver_impl(int) {
  return {
      [](resolve_atom, const std::string& host) -> caf::result<std::string> {
        return resolve_host(host);
      },
  };
}

}  // namespace

resolver_actor spawn_resolver(caf::actor_system& sys) {
  return sys.spawn<caf::detached>(resolver_impl, 0);
}

}  // namespace l4sim::actors
