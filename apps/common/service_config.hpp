#pragma once

// Each service's variables and its reader, in one place: the service's main declares and
// reads through these, and so do the tests that check that what sim renders for a service
// (apps/common/service_env.hpp) is read back as the same configuration.

#include "actors/backend/backend_server.hpp"
#include "actors/balancer/balancer.hpp"
#include "actors/clients/spawner.hpp"
#include "apps/common/env_cli.hpp"

namespace l4sim::apps {

/// Declares `server`'s options (SERVER_*).
void declare_server_options(env_cli& cli);

/// Reads `server`'s configuration; throws config_error naming the variable.
actors::backend_config read_server_config(const env_cli& cli);

/// Declares `lb`'s options (LB_*).
void declare_lb_options(env_cli& cli);

/// Reads `lb`'s configuration, resolving backend names (one that does not resolve yet is
/// kept, DOWN, and resolved again later); throws config_error naming the variable.
actors::balancer_config read_lb_config(const env_cli& cli);

/// Declares `client`'s options (CLIENT_*).
void declare_client_options(env_cli& cli);

/// Reads `client`'s configuration; throws config_error naming the variable.
actors::spawner_config read_client_config(const env_cli& cli);

}  // namespace l4sim::apps
