#pragma once

// The decisions of one proxied connection, the same code in live and virtual runs: the
// live session (actors/balancer/session.hpp, sockets through its byte pump) and the virtual
// one (actors/vnet/vsession.hpp, connections of the virtual network) each own a
// `session_flow` and differ only in the `session_transport` they hand it.
//
// The flow asks the picker for a backend (the client's IP address is the key of the
// hashing algorithms), has the dialer connect to it, and hands the connected backend to the
// transport. A connect that fails is reported to the picker (`failed`) and, while no more
// than `retries` further backends were tried, retried (`retry`) after an exponential
// backoff with jitter (actors/balancer/retry_backoff.hpp); then the flow gives up and closes
// the client. A connect that fails for a local reason (`local_failure`: no fds, buffers or
// ports here) is not the backend's fault: the pick is released uncounted (`close`) and the
// client is closed. A pick or connect answered after the client left is released too.
// While a pick or dial is in flight (or a retry waits) the session does not quit, so that
// every answer is accounted for. When it ends it leaves one `access_record` in the access
// log's batch, if any, and sends `session_finished` to the picker (unless the client left
// before any backend was tried). On every `tick_atom` it checks the idle timeouts
// (actors/balancer/idle_policy.hpp); `(delete_atom, id)` closes it if its backend is `id`;
// `queued_atom` holds the client; `(get_atom, stats_atom)` answers the bytes buffered.
//
// The requests are the owning actor's: `Self` is the CAF class that issues them
// (caf::io::broker live, caf::event_based_actor virtually; both are instantiated in
// session_flow.cpp), and the actor puts `handlers()` into its behaviour.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <caf/duration.hpp>
#include <caf/fwd.hpp>
#include <caf/message_handler.hpp>

#include "actors/balancer/access_log.hpp"
#include "actors/balancer/idle_policy.hpp"
#include "actors/balancer/session.hpp"
#include "actors/io/dialer.hpp"

namespace l4sim::actors {

/// The bytes side of a session, as its flow sees it.
class session_transport {
 public:
  virtual ~session_transport() = default;

  /// Returns whether the relay is over (both directions done, aborted, or the client gone).
  virtual bool finished() const = 0;

  /// Stops reading the client while the picker keeps it queued for a full backend.
  virtual void hold_client() = 0;

  /// Returns the bytes buffered now.
  virtual uint64_t buffered() const = 0;

  /// Returns when each side was last active, for the idle timeouts.
  virtual session_activity activity() const = 0;

  /// Ends the relay at once (both peers see it close) and marks it finished.
  virtual void abort() = 0;

  /// Readies a just-connected backend (its PROXY header); false: the backend failed already,
  /// which counts as a failed connect.
  virtual bool prepare_backend(dialed_socket& sock) = 0;

  /// Starts relaying between the client and the connected backend.
  virtual void attach_backend(dialed_socket sock) = 0;

  /// Closes the client when no backend could be had, before the session quits.
  virtual void close_client() = 0;

  /// Returns the bytes read from the client.
  virtual uint64_t bytes_up() const = 0;

  /// Returns the bytes read from the backend.
  virtual uint64_t bytes_down() const = 0;

  /// Returns whether the backend reset the connection.
  virtual bool backend_reset() const = 0;
};

/// How long the flow's requests may wait for an answer.
struct flow_bounds {
  caf::duration pick = caf::infinite;  ///< a pick request
  caf::duration dial = caf::infinite;  ///< a connect request
};

/// One session's decisions: pick, dial, retry, give up, account, quit.
template <class Self>
class session_flow {
 public:
  /// A flow of `self` over `transport` (both outlive it); `jitter_key` (the client's
  /// connection) and the configured seed seed the backoff's jitter.
  session_flow(Self* self, session_transport& transport, session_deps deps, uint64_t jitter_key,
               flow_bounds bounds = {});

  /// Notes the accepted client; its address is the hashing key of every pick.
  void accepted(std::string address, uint16_t port);

  /// Asks the picker for a backend (the first pick, or a retry's).
  void request_pick();

  /// Reports and quits unless a pick or dial is in flight, whose answer must still be
  /// accounted for (the transport calls it when the relay is over).
  void maybe_quit();

  /// Returns the handlers of the flow's messages: stats, tick, queued, retry, delete.
  caf::message_handler handlers();

  /// Drops the handles to other actors so that no cycle outlives the session.
  void release() { deps_ = session_deps{}; }

  /// Returns the session's configuration.
  const session_config& config() const { return deps_.cfg; }

  /// Returns the client's address.
  const std::string& client_address() const { return client_address_; }

  /// Returns the client's port.
  uint16_t client_port() const { return client_port_; }

 private:
  void picked(const protocols::backend_pick& pick);
  void dial(const protocols::backend_pick& pick);
  /// Reports to the picker: through the fast path while it takes them, else as `msg`.
  template <class FastCall, class... Ts>
  void tell_picker(FastCall fast_call, Ts&&... msg);
  void connected(const std::string& id, dialed_socket sock);
  void connect_failed(const std::string& id, termination why);
  void schedule_retry();
  void retry();
  void check_idle();
  void give_up();
  void report();

  Self* self_;
  session_transport& transport_;
  session_deps deps_;
  flow_bounds bounds_;
  std::vector<std::string> tried_;
  std::string backend_id_;
  std::string client_address_;  // the hashing algorithms' key
  uint16_t client_port_ = 0;
  bool busy_ = false;          // a pick, dial or retry wait is in flight
  bool reports_sent_ = false;  // a report went as a message: the rest follow it (fast path)
  bool gave_up_ = false;       // no backend could be had
  std::minstd_rand rng_;       // the backoff's jitter
  access_note note_;
};

}  // namespace l4sim::actors
