#pragma once

// The virtual network of `sim run --virtual` (docs/virtual-time.md): TCP between actors of
// one process without sockets. Listeners by `address:port`; connections as pairs of
// endpoints with in-order byte streams, FIN, RST, "connection refused", a bounded window
// per direction (back-pressure) and SYNs that can be dropped (loss, a partitioned link).
// It hands its endpoints' owners the very messages CAF's socket layer hands a broker
// (`new_connection_msg`, `new_data_msg`, `connection_closed_msg`, `data_transferred_msg`).
// A delivery is scheduled on the actor clock at its arrival time (latency, jitter and the
// link's bandwidth) and comes back through the network's own actor, which hands it on or
// keeps it (a reader that stopped reading, a held or partitioned link); arrivals at one end
// never overtake each other, so every connection stays in order.
//
// It is a plain object that the actors of one virtual run share, not an actor itself.
// Such a run has a single thread (CAF's test_coordinator and test_multiplexer), which is
// also what makes it deterministic; never use it from a multi-threaded actor system.
// Connection and listener handles are numbered in the order they are made, and jitter and
// loss come from one generator seeded by the run's seed, so a run with the same seed gets
// the same handles and draws.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/timespan.hpp>

#include "actors/io/broker_io.hpp"
#include "actors/io/dialer.hpp"
#include "protocols/scenario/scenario.hpp"

namespace l4sim::actors {

/// How the virtual network behaves (the scenario's `network:` section).
struct vnet_config {
  caf::timespan latency = std::chrono::microseconds{50};  ///< one way, per delivery
  caf::timespan jitter{0};   ///< extra delay per delivery, uniform in [0, jitter)
  uint64_t bandwidth = 0;    ///< bytes per second per link and direction; 0 = unlimited
  double loss = 0;           ///< share of SYNs dropped
  uint64_t window = 131072;  ///< bytes sent and not yet read, per connection direction
  uint64_t seed = 1;         ///< of the generator for jitter and loss
};

/// Returns the network a scenario asks for, drawing from `seed`.
vnet_config network_config(const protocols::scenario_network& net, uint64_t seed);

/// What became of one SYN.
enum class connect_outcome {
  refused,    ///< nobody listens there: an RST back
  dropped,    ///< lost or partitioned: no answer (the connector retransmits)
  connected,  ///< `id` is the client end
};

/// Bytes the network holds, for tests and benchmarks.
struct vnet_buffers {
  uint64_t pending = 0;  ///< written by owners, waiting for room in a window
  uint64_t unread = 0;   ///< in windows: in flight or arrived and not yet read
};

class vnet : public std::enable_shared_from_this<vnet> {
 public:
  /// A network whose deliveries run on `sys`'s clock; it spawns one actor there.
  explicit vnet(caf::actor_system& sys, vnet_config cfg = {});
  ~vnet();

  vnet(const vnet&) = delete;
  vnet& operator=(const vnet&) = delete;

  /// Returns the one-way latency.
  caf::timespan latency() const { return cfg_.latency; }

  /// Returns the configuration.
  const vnet_config& config() const { return cfg_; }

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

  /// Starts a connect from `source` (an address; empty: 127.0.0.1) to `host:port` whose
  /// SYN gets through. Returns the client end's id, or nothing when no one listens there
  /// (refused). The listener's owner gets `new_connection_msg` one latency later; the
  /// client end has no owner (and keeps what arrives for it) until `adopt`.
  std::optional<uint64_t> connect(const std::string& source, const std::string& host,
                                  uint16_t port);

  /// Sends one SYN: refused, dropped (the link is partitioned, or lost at the `loss` rate),
  /// or connected as `connect`. Returns the outcome and the client end's id.
  std::pair<connect_outcome, uint64_t> try_connect(const std::string& source,
                                                   const std::string& host, uint16_t port);

  /// Makes `owner` receive the endpoint's messages, including those that arrived before.
  /// A `broker` owner is a CAF broker: a FIN it receives closes its end altogether, as a
  /// CAF scribe does (recv()==0 ends the scribe), so its peer sees a FIN back.
  void adopt(uint64_t id, caf::actor_addr owner, bool broker);

  /// Writes bytes to the peer, as into a CAF scribe: they go out as far as the peer's
  /// window has room, the rest waits (unbounded, like the scribe's buffer) until the peer
  /// reads. Dropped once either side closed that direction.
  void send(uint64_t id, const char* data, size_t n);

  /// Returns the bytes written on `id` still waiting for room in the peer's window.
  size_t pending(uint64_t id) const;

  /// Answers writes with `data_transferred_msg{written, remaining}` as bytes enter the
  /// window; `remaining` is what still waits.
  void ack_writes(uint64_t id);

  /// Sends one `data_transferred_msg{written, 0}` to the owner once nothing written on
  /// `id` waits any more (at once if nothing does): cheaper than `ack_writes` for a writer
  /// that only needs to know when to read its other side again.
  void notify_drained(uint64_t id);

  /// Stops (`false`) or resumes delivering what arrives on `id` to its owner; meanwhile
  /// arrived bytes stay in the window, so the writer runs out of room.
  void set_reading(uint64_t id, bool on);

  /// Half-closes: the peer gets a FIN after the bytes sent before.
  void shutdown_write(uint64_t id);

  /// Closes gracefully: a FIN after what was written, and nothing more is read.
  void close(uint64_t id);

  /// Closes as a crashed process's socket: what still waits for room is lost, then as
  /// `close`.
  void abort(uint64_t id);

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

  /// Returns the bytes held in windows and write buffers now.
  vnet_buffers buffers() const;

  // -- links -------------------------------------------------------------------------------

  // A link is the path to one listening address (`host:port`): every connection to a
  // backend's port is on the link balancer-backend, whoever dialed it.

  /// Partitions (`on`) or heals a link: SYNs are dropped, and bytes (and FIN/RST) wait
  /// until it heals, as TCP retransmits them; then they arrive in order.
  void partition(const std::string& link, bool on);

  /// Holds (`on`) or releases a link's bytes (and FIN/RST): they arrive, in order, on
  /// release. SYNs pass.
  void hold(const std::string& link, bool on);

  // -- the two shells ----------------------------------------------------------------------

  /// Returns the socket layer of a broker listening on listener `id` (0: none).
  std::unique_ptr<broker_io> make_io(uint64_t listener = 0);

  /// Spawns a dialer (the interface of actors/io/dialer.hpp) that connects on this network.
  dialer_actor spawn_dialer(caf::actor_system& sys);

  /// Called by the network's own actor when a delivery is due.
  void arrive(uint64_t id, caf::message msg);

 private:
  struct link {
    bool partitioned = false;
    bool held = false;
    caf::actor_clock::time_point free[2];                    // when each direction is done sending
    std::vector<std::pair<uint64_t, caf::message>> waiting;  // arrived while blocked
  };

  struct end {
    uint64_t peer = 0;
    caf::actor_addr owner;
    bool broker = false;
    bool reading = true;  // it still receives (no FIN/RST from the peer yet, not closed)
    bool writing = true;  // it still sends
    bool fin_after_pending = false;
    bool ack = false;
    bool drained_note = false;  // notify_drained asked
    bool paused = false;
    bool closed = false;     // its owner closed it: what arrives is dropped
    uint64_t in_flight = 0;  // deliveries on their way to it
    bool server_side = false;
    link* on = nullptr;
    std::string local;  // address:port
    std::string remote;
    std::vector<char> pending;       // written, waiting for room in the peer's window
    uint64_t unread = 0;             // bytes toward it in its window
    std::deque<caf::message> inbox;  // arrived, not handed to the owner yet
    caf::actor_clock::time_point last_arrival;
  };

  struct listener {
    std::string key;
    caf::actor_addr owner;
    bool hands_over = false;
    std::vector<uint64_t> unannounced;  // accepted before it had an owner
  };

  void deliver(uint64_t id, caf::message msg, size_t bytes = 0);
  void hand(uint64_t id, caf::message msg);
  void flush_inbox(uint64_t id);
  void pump(uint64_t id);
  void peer_closed(uint64_t id, bool reset);
  void forget_if_done(uint64_t id);
  void unblock(link& lk);
  caf::timespan jitter();

  caf::actor_system& sys_;
  vnet_config cfg_;
  caf::actor wire_;
  std::mt19937_64 rng_;
  uint64_t next_id_ = 0;
  uint16_t next_port_ = 20000;
  uint16_t next_ephemeral_ = 40000;
  std::map<std::string, uint64_t> bound_;  // address:port -> listener id
  std::unordered_map<uint64_t, listener> listeners_;
  std::unordered_map<uint64_t, end> ends_;
  std::unordered_map<std::string, link> links_;  // never erased: ends point into it
  std::set<uint64_t> reset_;                     // ends whose peer reset them
};

}  // namespace l4sim::actors
