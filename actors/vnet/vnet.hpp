#pragma once

// The virtual network of `sim run --virtual` (docs/virtual-time.md): TCP between actors of
// one process without sockets. Listeners by `address:port`; connections as pairs of
// endpoints with in-order byte streams, FIN, RST and "connection refused". It hands its
// endpoints' owners the very messages CAF's socket layer hands a broker
// (`new_connection_msg`, `new_data_msg`, `connection_closed_msg`, `data_transferred_msg`),
// as delayed messages one link latency later; the actor clock keeps equal deadlines in
// insertion order, so every connection stays in order.
//
// It is the wire, not an actor: a plain object that the actors of one virtual run share.
// Such a run has a single thread (CAF's test_coordinator and test_multiplexer), which is
// also what makes it deterministic; never use it from a multi-threaded actor system.
// Connection and listener handles are numbered in the order they are made, so a run with
// the same seed gets the same handles.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/io/broker_io.hpp"
#include "actors/io/dialer.hpp"

namespace l4sim::actors {

/// How the virtual network behaves.
struct vnet_config {
  caf::timespan latency = std::chrono::microseconds{50};  ///< one way, per message
};

class vnet : public std::enable_shared_from_this<vnet> {
 public:
  explicit vnet(vnet_config cfg = {});

  vnet(const vnet&) = delete;
  vnet& operator=(const vnet&) = delete;

  /// Returns the one-way latency.
  caf::timespan latency() const { return cfg_.latency; }

  // -- listeners ---------------------------------------------------------------------------

  /// Reserves `host:port` (port 0 picks one); returns the listener's id and port.
  caf::expected<std::pair<uint64_t, uint16_t>> listen(const std::string& host, uint16_t port);

  /// Makes `owner` receive the listener's `new_connection_msg`s. A broker owner also gets
  /// what arrives on the accepted connections; otherwise (`hands_over`) each accepted end
  /// keeps it until someone adopts it.
  void own_listener(uint64_t id, caf::actor_addr owner, bool hands_over = false);

  /// Stops listening; connects to its address are refused from now on.
  void unlisten(uint64_t id);

  // -- connections -------------------------------------------------------------------------

  /// Starts a connect from `source` (an address; empty: 127.0.0.1) to `host:port`. Returns
  /// the client end's id, or nothing when no one listens there (refused). The listener's
  /// owner gets `new_connection_msg` one latency later; the client end has no owner (and
  /// keeps what arrives for it) until `adopt`.
  std::optional<uint64_t> connect(const std::string& source, const std::string& host,
                                  uint16_t port);

  /// Makes `owner` receive the endpoint's messages, including those that arrived before.
  /// A `broker` owner is a CAF broker: a FIN it receives closes its end altogether, as a
  /// CAF scribe does (recv()==0 ends the scribe), so its peer sees a FIN back.
  void adopt(uint64_t id, caf::actor_addr owner, bool broker);

  /// Sends bytes to the peer; dropped once either side closed that direction.
  void send(uint64_t id, const char* data, size_t n);

  /// Answers every later send with `data_transferred_msg` (all written at once).
  void ack_writes(uint64_t id);

  /// Half-closes: the peer gets a FIN after the bytes sent before.
  void shutdown_write(uint64_t id);

  /// Closes gracefully: a FIN, and nothing more is read.
  void close(uint64_t id);

  /// Resets: the peer gets a RST (after the bytes already on their way) and the end is gone.
  void reset(uint64_t id);

  /// Returns whether the peer of `id` reset the connection.
  bool was_reset(uint64_t id) const;

  /// Returns `address:port` of the peer of `id`, or "?".
  std::string peer_name(uint64_t id) const;

  /// Returns `address` and port of the local end of `id`.
  std::pair<std::string, uint16_t> local_end(uint64_t id) const;

  /// Returns the connections still open (both ends), for tests.
  size_t open_connections() const { return ends_.size(); }

  // -- the two shells ----------------------------------------------------------------------

  /// Returns the socket layer of a broker listening on listener `id` (0: none).
  std::unique_ptr<broker_io> make_io(uint64_t listener = 0);

  /// Spawns a dialer (the interface of actors/io/dialer.hpp) that connects on this network.
  dialer_actor spawn_dialer(caf::actor_system& sys);

 private:
  struct end {
    uint64_t peer = 0;
    caf::actor_addr owner;
    bool broker = false;
    bool reading = true;  // it still receives (no FIN/RST from the peer yet, not closed)
    bool writing = true;  // it still sends
    bool ack = false;
    std::string local;  // address:port
    std::string remote;
    std::vector<caf::message> waiting;  // arrived before it had an owner
  };

  struct listener {
    std::string key;
    caf::actor_addr owner;
    bool hands_over = false;
    std::vector<uint64_t> unannounced;  // accepted before it had an owner
  };

  void deliver(uint64_t id, caf::message msg);
  void peer_closed(uint64_t id, bool reset);
  void forget_if_done(uint64_t id);

  vnet_config cfg_;
  uint64_t next_id_ = 0;
  uint16_t next_port_ = 20000;
  uint16_t next_ephemeral_ = 40000;
  std::map<std::string, uint64_t> bound_;  // address:port -> listener id
  std::unordered_map<uint64_t, listener> listeners_;
  std::unordered_map<uint64_t, end> ends_;
  std::set<uint64_t> reset_;  // ends whose peer reset them
};

}  // namespace l4sim::actors
