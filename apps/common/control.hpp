#pragma once

// The control ports: a service publishes its typed control actor through CAF's middleman
// (BASP) so that `sim` can drive it from another process. BASP trusts its peer entirely
// (any peer may kill, restart or reconfigure the service, and a 32-byte header claiming a
// 4 GiB payload makes the receiver allocate it), so a control port is either mutual TLS
// through CAF's OpenSSL module, where the handshake rejects a peer without a certificate
// signed by the configured CA before BASP reads a byte, or plain TCP bound to loopback.
// Plain TCP anywhere else needs `--insecure-control`.

#include <array>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/io/system.hpp"
#include "apps/common/env_cli.hpp"
#include "protocols/units.hpp"

namespace CLI {
class App;
}

namespace l4sim::apps {

/// The mutual-TLS files of one side of a control connection; all empty means plain TCP.
struct control_tls {
  std::string cert;  ///< this side's certificate chain, PEM
  std::string key;   ///< its private key, PEM, unencrypted
  std::string ca;    ///< the CA that must have signed the peer's certificate, PEM

  /// Returns whether TLS is configured.
  bool enabled() const { return !cert.empty(); }
};

/// Where and how a service publishes its control actor.
struct control_settings {
  std::optional<protocols::endpoint> where;  ///< nothing: no control port
  control_tls tls;
  bool insecure = false;  ///< plain TCP off loopback was allowed explicitly
};

/// Declares `--control`, `--control-cert`, `--control-key`, `--control-ca` and
/// `--insecure-control`, bound to PREFIX_CONTROL_PORT, _CERT, _KEY, _CA and _INSECURE.
void add_control_options(env_cli& cli, const std::string& prefix);

/// Reads the options `add_control_options` declared and checks them: the three TLS files
/// are given together and load (the key matches the certificate), and a control port off
/// loopback has TLS or `--insecure-control`. Throws a config_error naming the variable.
control_settings read_control_options(const env_cli& cli, const std::string& prefix);

/// Declares sim's side of mutual TLS on `cmd`: `--control-cert`, `--control-key`,
/// `--control-ca`, also read from SIM_CONTROL_CERT, _KEY and _CA.
void add_control_tls_options(CLI::App& cmd, control_tls& tls);

/// Checks that `tls` is all set or all empty and that its files load; returns what is
/// wrong, naming the option (`names` holds the cert, key and CA option names), or "".
std::string check_control_tls(const control_tls& tls, const std::array<std::string, 3>& names);

/// Loads CAF's OpenSSL module with `tls` as the system's certificate, key and CA, when
/// `tls` is enabled; call before the actor system is constructed.
void configure_control_tls(caf::actor_system_config& cfg, const control_tls& tls);

/// Returns whether `host` is a loopback address (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& host);

/// Publishes `actor` on `where` (0.0.0.0 = every address): over mutual TLS when `sys` loaded
/// the OpenSSL module (configure_control_tls), plain otherwise; returns the bound port.
caf::expected<uint16_t> publish_control(caf::actor_system& sys, const caf::strong_actor_ptr& actor,
                                        std::set<std::string> interface,
                                        const protocols::endpoint& where);

/// Connects to a control actor published on `where`: over mutual TLS when `sys` loaded the
/// OpenSSL module (configure_control_tls), plain otherwise.
caf::expected<caf::strong_actor_ptr> remote_control(caf::actor_system& sys,
                                                    std::set<std::string> interface,
                                                    const protocols::endpoint& where);

/// Connects to the control actor of type `Handle` on `where` (see remote_control).
template <class Handle>
caf::expected<Handle> connect_control(caf::actor_system& sys, const protocols::endpoint& where) {
  auto ptr = remote_control(sys, sys.message_types(caf::detail::type_list<Handle>{}), where);
  if (!ptr) {
    return ptr.error();
  }
  return caf::actor_cast<Handle>(std::move(*ptr));
}

/// Publishes a service's typed control actor as `control` says, when it names an endpoint,
/// so that `sim` can drive it from another process, and logs `[id] control on host:port`
/// and how it is protected. Returns the port it listens on (0 when no control port was
/// asked for); on failure it prints why, naming PREFIX_CONTROL_PORT, and returns nothing.
template <class Handle>
std::optional<uint16_t> serve_control(caf::actor_system& sys, const Handle& actor,
                                      const control_settings& control, const std::string& program,
                                      const std::string& id, const std::string& prefix) {
  if (!control.where) {
    return uint16_t{0};
  }
  auto& where = *control.where;
  auto port = publish_control(sys, caf::actor_cast<caf::strong_actor_ptr>(actor),
                              sys.message_types(actor), where);
  if (!port) {
    fmt::print(stderr, "{}: [{}] {}_CONTROL_PORT: cannot listen on {}: {}\n", program, id, prefix,
               protocols::to_string(where), actors::describe(port.error()));
    return std::nullopt;
  }
  auto how = control.tls.enabled() ? "mutual TLS"
             : is_loopback(where.host)
                 ? "plain TCP, loopback only"
                 : "plain TCP, INSECURE: anyone who reaches it can drive this service";
  actors::log_line(fmt::format("[{}] control on {}:{} ({})", id, where.host, *port, how));
  return *port;
}

/// Prints the line that tells whoever started a service that it serves, in a form made for
/// programs: `l4sim-ready service=lb port=9000 control_port=41234 admin_port=0` (a port
/// 0: none).
inline void announce_ready(const std::string& service, uint16_t port, uint16_t control_port,
                           uint16_t admin_port = 0) {
  actors::log_line(fmt::format("l4sim-ready service={} port={} control_port={} admin_port={}",
                               service, port, control_port, admin_port));
}

}  // namespace l4sim::apps
