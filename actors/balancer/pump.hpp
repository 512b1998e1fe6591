#pragma once

// The session's byte pump interface and the choice between its two implementations.
//
// A session (actors/balancer/session.hpp) makes its decisions (pick, dial, retry,
// accounting) and leaves moving bytes to a pump:
// - `broker_pump` (actors/balancer/broker_pump.hpp): CAF scribes, four fds per proxied
//   connection (a dup()ed write twin per socket for half-close), deferred writes.
// - `direct_pump` (actors/balancer/direct_pump.hpp): its own event handlers on the
//   session's multiplexer, two fds, write-through sends, buffers held only while bytes
//   wait; with `pump_kind::splice` it moves the bytes with splice(2) through a pipe
//   instead of through user memory.
// Both behave the same toward the peers (half-close, reset, back-pressure, idle activity);
// `LB_PUMP` / `--pump` picks one (apps/common/service_config.*).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/io/connection_handle.hpp>
#include <caf/message_handler.hpp>

#include "actors/balancer/idle_policy.hpp"

namespace caf::io {
class broker;
}

namespace l4sim::actors {

/// Which pump a session moves its bytes with.
enum class pump_kind : uint8_t {
  broker,  ///< CAF scribes (broker_pump)
  direct,  ///< own handlers on the multiplexer (direct_pump)
  splice,  ///< direct_pump, bytes moved by splice(2) through a per-loop pipe
};

/// Returns "broker", "direct" or "splice".
const char* to_string(pump_kind kind);

/// Parses "broker", "direct" or "splice"; nullopt otherwise.
std::optional<pump_kind> parse_pump_kind(const std::string& text);

/// Sizes that bound what one proxied connection may buffer, and the pump to use.
struct pump_config {
  size_t high_water = 128 * 1024;  ///< pause the source past this many queued bytes
  size_t low_water = 32 * 1024;    ///< resume it below this
  size_t min_read = 1024;          ///< broker pump: reads start at this size
  size_t max_read = 64 * 1024;     ///< and double up to this on full reads
  pump_kind kind = pump_kind::direct;
};

/// What the session asks of its pump.
class byte_pump {
 public:
  virtual ~byte_pump() = default;

  /// Adopts the connected backend socket and starts relaying.
  virtual void attach_backend(int fd) = 0;

  /// Stops reading from the client until a backend is attached.
  virtual void hold_client() = 0;

  /// Returns the handlers for the pump's messages, to chain into the broker's behaviour.
  virtual caf::message_handler handlers() = 0;

  /// Sets what to call once both directions are finished (or the client vanished).
  virtual void on_finished(std::function<void()> f) = 0;

  /// Returns whether the pump could not start for want of fds (it finishes by itself).
  virtual bool starved() const = 0;

  /// Returns whether the pump is finished.
  virtual bool finished() const = 0;

  /// Returns bytes read from the client.
  virtual uint64_t bytes_up() const = 0;

  /// Returns bytes read from the backend.
  virtual uint64_t bytes_down() const = 0;

  /// Returns whether the backend reset its connection (a reset passed on from the client
  /// does not count).
  virtual bool backend_reset() const = 0;

  /// Returns the bytes queued in the balancer for both directions now.
  virtual uint64_t buffered() const = 0;

  /// Returns when each side was last active, for the idle timeouts.
  virtual session_activity activity() const = 0;

  /// Ends the relay at once: each peer sees a FIN, queued bytes are dropped; the pump is
  /// finished without calling `on_finished`.
  virtual void abort() = 0;
};

/// Makes the pump `cfg.kind` names for `client` inside the session broker `self`. The
/// broker pump needs `client`'s scribe in `self`; the direct pump needs none and owns the
/// socket `client.id()` (see `client_needs_scribe`).
std::unique_ptr<byte_pump> make_pump(caf::io::broker* self, caf::io::connection_handle client,
                                     const pump_config& cfg);

/// Returns whether the pump `kind` reads the client through a CAF scribe, which the
/// listener then makes for each accepted socket.
inline bool client_needs_scribe(pump_kind kind) {
  return kind == pump_kind::broker;
}

}  // namespace l4sim::actors
