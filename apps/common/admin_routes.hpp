#pragma once

// The routes of each service's admin port (apps/common/admin.hpp). Each maps to a control
// message the service's actors already take from sim's control port, sent from a scoped
// actor with a timeout: a busy or stuck actor costs the HTTP caller a 503, never the I/O
// loop anything.
//
//   every service: GET /metrics (Prometheus text), GET /stats (JSON), GET /debug/pprof/
//                  profile and heap (apps/common/admin_pprof.hpp; sim run --admin too)
//   server:        POST /delay, /hang (duration, bare number = ms), /max_conns (0 = no
//                  limit), /chaos (percent 0..100)
//   lb:            POST /algorithm (rr|lc|rand...), /backends/add ([name=]host:port),
//                  /backends/remove (name)
//   client:        POST /rate (clients per second), /mix (real=50,stream=10,...)

#include <caf/fwd.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/balancer/balancer.hpp"
#include "actors/clients/spawner.hpp"
#include "actors/director/stage.hpp"
#include "apps/common/admin.hpp"

namespace l4sim::apps {

/// Adds a backend server's routes.
void add_server_routes(admin_server& admin, caf::actor_system& sys,
                       const actors::backend_actor& server);

/// Adds a balancer's routes.
void add_lb_routes(admin_server& admin, caf::actor_system& sys,
                   const actors::balancer_control_actor& lb);

/// Adds a client spawner's routes.
void add_client_routes(admin_server& admin, caf::actor_system& sys,
                       const actors::spawner_actor& clients);

/// Adds `GET /metrics` for a whole stage (sim run --admin): the balancer's, every
/// backend's and the clients' metrics in one exposition. A component that does not answer
/// (a killed backend's process) is left out of that scrape; backends added during the run
/// are not in it.
void add_stage_routes(admin_server& admin, caf::actor_system& sys, const actors::stage& on);

}  // namespace l4sim::apps
