#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <caf/expected.hpp>

namespace l4sim::actors {

/// Opens a non-blocking TCP listening socket on `host:port` (port 0 picks one) with
/// SO_REUSEADDR so a killed backend can listen again on the same port at once. With
/// `reuse_port`, SO_REUSEPORT too: several sockets (one per I/O loop) then listen on one port
/// and the kernel spreads new connections over them. The error text names the address and
/// the system's reason.
caf::expected<int> open_listener(const std::string& host, uint16_t port, int backlog = 4096,
                                 bool reuse_port = false);

/// Returns the local port a socket is bound to, or 0.
uint16_t local_port_of(int fd);

/// Returns `address:port` of the peer of a connected socket, or "?".
std::string peer_of(int fd);

/// Returns the numeric address and port of the peer of a connected socket ("" and 0 when
/// unknown), as CAF's scribes report them.
std::pair<std::string, uint16_t> peer_endpoint(int fd);

/// Returns the numeric local address and port of a socket ("" and 0 when unknown).
std::pair<std::string, uint16_t> local_endpoint(int fd);

/// Starts a non-blocking connect to a numeric IPv4/IPv6 address, from the numeric local
/// address `source` when one is given (e.g. 127.0.1.7 on loopback, where every 127/8
/// address is local). The connect finishes later: watch for writability, then call
/// `connect_result`.
caf::expected<int> start_connect(const std::string& address, uint16_t port,
                                 const std::string& source = {});

/// Returns 0 once a started connect succeeded, EINPROGRESS while pending, or the errno.
int connect_result(int fd);

/// Resolves `host` to a numeric address, blocking (call it off the I/O thread or at
/// start-up). Numeric input comes back unchanged.
caf::expected<std::string> resolve_host(const std::string& host);

/// Shuts both directions of a socket down so that its owner sees the close at once.
void shutdown_both(int fd);

/// Raises the soft open-file limit to the hard one; returns the new soft limit.
uint64_t raise_open_file_limit();

}  // namespace l4sim::actors
