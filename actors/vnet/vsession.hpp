#pragma once

// A session of the virtual balancer (actors/vnet/vbalancer.hpp): one actor per proxied
// connection on the virtual network. Its decisions are the live session's: it owns a
// `session_flow` (actors/balancer/session_flow.hpp: pick, dial, retry with backoff, give up,
// session_finished, queued, delete, idle timeouts) and is that flow's transport over two
// vnet connections, client and backend. It relays FIN as a half-close and a reset as a
// reset, and passes back-pressure on: a side whose bytes do not fit the other side's window
// is not read until they do (vnet::set_reading); a client's bytes from before its backend
// connected wait in the session, and stop the client being read once they fill a window.
// With `send_proxy` the PROXY header goes out on the backend connection before them.
//
// In: vnet's new_data, connection_closed and data_transferred messages, the flow's
// messages. Out: the flow's messages to the picker and dialer; bytes on vnet. The listener
// monitors it (not linked: removing links is linear in their number).

#include <cstdint>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/balancer/session.hpp"
#include "actors/balancer/session_flow.hpp"
#include "actors/vnet/vnet.hpp"

namespace l4sim::actors {

/// Spawns the session of the accepted virtual connection `client`, monitored by `listener`;
/// its picks and dials wait at most `bounds` (virtual time).
caf::actor spawn_virtual_session(caf::event_based_actor* listener, uint64_t client,
                                 const session_deps& deps, flow_bounds bounds,
                                 std::shared_ptr<vnet> net);

}  // namespace l4sim::actors
