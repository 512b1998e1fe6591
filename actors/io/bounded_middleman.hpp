#pragma once

// A middleman actor for plain (non-TLS) control ports whose connections cap every read.
//
// BASP, CAF's remote-actor protocol, trusts its peer: after a 32-byte header it asks its
// connection for exactly `payload_len` bytes, and the read buffer is resized to that before
// a byte arrives, so a header claiming 0xffffffff makes the receiver allocate and zero-fill
// 4 GiB (measured: about 2 GB RSS within 3 s after two such headers). CAF 0.17.6 has no
// setting for it. This actor speaks CAF's `io::middleman_actor` interface (publish,
// connect, ...) like the middleman's own, and hands the shared BASP broker connections
// whose `configure_read` refuses a size above `max_control_read`: the connection is shut
// down instead, and BASP sees an ordinary close. The OpenSSL module's connections are not
// bounded, but there a peer without a certificate never gets past the TLS handshake.
//
// One is spawned per publish or connect and stopped once it has answered: the doorman or
// the connection then belongs to the BASP broker.

#include <cstddef>

#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

namespace l4sim::actors {

/// The largest read a bounded control connection accepts: far above any l4sim control
/// message (a balancer's stats table with a thousand backends is about 100 KB).
inline constexpr size_t max_control_read = size_t{1} << 20;

/// Spawns a middleman actor whose doormen and connections cap reads at `max_read`; stop it
/// (send_exit) once it answered.
caf::io::middleman_actor spawn_bounded_middleman(caf::actor_system& sys,
                                                 size_t max_read = max_control_read);

}  // namespace l4sim::actors
