#pragma once

// One simulated client: a CAF broker owning its one connection. The shell is the same for
// every kind: it asks the dialer for a connection (never blocking the I/O loop), adopts
// the socket, runs the kind's behaviour (actors/client_behaviors.hpp) with timer messages
// to itself, tracks due replies, their latency and the bytes each way, and records how the
// connection ended.
//
// In: `finish_atom` (stop now: close the connection, report). Out: one
// `protocols::client_finished` to its reporter, then it quits. Links: none; the spawner
// monitors its clients and sends them an exit when it goes away.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_actor.hpp>

#include "actors/io/dialer.hpp"
#include "protocols/client_messages.hpp"
#include "protocols/type_ids.hpp"

namespace l4sim::actors {

class broker_io;

/// Makes the socket layer of one client; unset means real sockets.
using io_factory = std::function<std::unique_ptr<broker_io>()>;

/// The interface of one simulated client.
using client_actor = caf::typed_actor<caf::reacts_to<finish_atom>>;

/// Who a client is, what it does and where it connects.
struct client_config {
  uint64_t id = 1;                    ///< appears in PING/STREAM/SLOW lines
  protocols::client_profile profile;  ///< the kind and its parameters
  uint64_t seed = 1;                  ///< seeds every draw of the behaviour
  std::string address = "127.0.0.1";  ///< numeric address of the balancer or backend
  uint16_t port = 0;
  std::string source;  ///< numeric local address to connect from; empty = the system's
  caf::timespan connect_timeout{std::chrono::seconds{3}};
  dialer_actor dialer;  ///< makes the connection
  caf::actor reporter;  ///< receives the client's `client_finished`
  io_factory io;        ///< the virtual network's (actors/vnet); unset: real sockets
};

/// Spawns a client broker on the I/O loop; it starts dialing at once.
client_actor spawn_client(caf::actor_system& sys, client_config cfg);

}  // namespace l4sim::actors
