#include "apps/common/control.hpp"

#include <arpa/inet.h>

#include <memory>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <CLI/CLI.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/function_view.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/send.hpp>

#include "actors/io/bounded_middleman.hpp"

namespace l4sim::apps {

namespace {

/// The newest OpenSSL error, as text.
std::string ssl_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown OpenSSL error";
  }
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

}  // namespace

void add_control_options(env_cli& cli, const std::string& prefix) {
  cli.option("--control", prefix + "_CONTROL_PORT",
             "[host:]port for sim's remote control (127.0.0.1 unless a host is given; 0 picks)");
  cli.option("--control-cert", prefix + "_CONTROL_CERT",
             "certificate (PEM) of the control port: mutual TLS with --control-key, --control-ca");
  cli.option("--control-key", prefix + "_CONTROL_KEY", "private key (PEM) of --control-cert");
  cli.option("--control-ca", prefix + "_CONTROL_CA",
             "CA (PEM) that must have signed a control peer's certificate");
  cli.flag("--insecure-control", prefix + "_CONTROL_INSECURE",
           "allow a plain (unauthenticated) control port off loopback");
}

control_settings read_control_options(const env_cli& cli, const std::string& prefix) {
  control_settings result;
  auto port_var = prefix + "_CONTROL_PORT";
  result.where = cli.control_endpoint(port_var);
  result.insecure = cli.enabled(prefix + "_CONTROL_INSECURE");
  result.tls = {cli.text(prefix + "_CONTROL_CERT"), cli.text(prefix + "_CONTROL_KEY"),
                cli.text(prefix + "_CONTROL_CA")};
  std::array<std::string, 3> names{prefix + "_CONTROL_CERT", prefix + "_CONTROL_KEY",
                                   prefix + "_CONTROL_CA"};
  if (auto why = check_control_tls(result.tls, names); !why.empty()) {
    throw config_error{why};
  }
  if (result.where && !result.tls.enabled() && !result.insecure &&
      !is_loopback(result.where->host)) {
    cli.fail(port_var,
             fmt::format("{} is not a loopback address and the control port has no TLS: set "
                         "{}, {} and {} for mutual TLS, or pass --insecure-control ({}=1) to "
                         "let anyone who reaches it drive this service",
                         protocols::to_string(*result.where), names[0], names[1], names[2],
                         prefix + "_CONTROL_INSECURE"));
  }
  return result;
}

void add_control_tls_options(CLI::App& cmd, control_tls& tls) {
  cmd.add_option("--control-cert", tls.cert,
                 "sim's certificate (PEM) for control ports with mutual TLS (--attach) "
                 "[env SIM_CONTROL_CERT]")
      ->envname("SIM_CONTROL_CERT");
  cmd.add_option("--control-key", tls.key,
                 "private key (PEM) of --control-cert [env SIM_CONTROL_KEY]")
      ->envname("SIM_CONTROL_KEY");
  cmd.add_option("--control-ca", tls.ca,
                 "CA (PEM) that must have signed the services' certificates [env SIM_CONTROL_CA]")
      ->envname("SIM_CONTROL_CA");
}

std::string check_control_tls(const control_tls& tls, const std::array<std::string, 3>& names) {
  const std::string* files[] = {&tls.cert, &tls.key, &tls.ca};
  size_t set = 0;
  for (auto* f : files) {
    set += f->empty() ? 0 : 1;
  }
  if (set == 0) {
    return {};
  }
  for (size_t i = 0; i < 3; ++i) {
    if (files[i]->empty()) {
      return fmt::format("{} is required when {}, {} or {} is set (mutual TLS needs all three)",
                         names[i], names[0], names[1], names[2]);
    }
  }
  // CAF loads these files again for every connection and throws from its I/O loop when one
  // fails: find out now, with the variable's name.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx) {
    return "cannot create an OpenSSL context: " + ssl_error();
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert.c_str()) != 1) {
    return fmt::format("{}: cannot load certificate \"{}\": {}", names[0], tls.cert, ssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fmt::format("{}: cannot load private key \"{}\": {}", names[1], tls.key, ssl_error());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return fmt::format("{}: \"{}\" is not the key of {} \"{}\"", names[1], tls.key, names[0],
                       tls.cert);
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1) {
    return fmt::format("{}: cannot load CA certificates \"{}\": {}", names[2], tls.ca, ssl_error());
  }
  return {};
}

void configure_control_tls(caf::actor_system_config& cfg, const control_tls& tls) {
  if (!tls.enabled()) {
    return;
  }
  // With these set, CAF's OpenSSL sessions require a peer certificate that chains to the CA
  // (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) on both sides.
  cfg.openssl_certificate = tls.cert;
  cfg.openssl_key = tls.key;
  cfg.openssl_cafile = tls.ca;
  cfg.load<caf::openssl::manager>();
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

namespace {

/// Calls `f` with the middleman actor for control connections: the OpenSSL module's when
/// loaded (its peers are authenticated before BASP reads a byte), otherwise one whose
/// connections cap reads (BASP would allocate whatever a header claims), stopped after.
template <class F>
auto with_control_middleman(caf::actor_system& sys, F f) {
  if (sys.has_openssl_manager()) {
    return f(sys.openssl_manager().actor_handle());
  }
  auto bounded = actors::spawn_bounded_middleman(sys);
  auto result = f(bounded);
  caf::anon_send_exit(bounded, caf::exit_reason::user_shutdown);
  return result;
}

}  // namespace

caf::expected<uint16_t> publish_control(caf::actor_system& sys, const caf::strong_actor_ptr& actor,
                                        std::set<std::string> interface,
                                        const protocols::endpoint& where) {
  if (!actor) {
    return caf::sec::cannot_publish_invalid_actor;
  }
  auto host = where.host == "0.0.0.0" ? std::string{} : where.host;
  return with_control_middleman(sys, [&](const caf::io::middleman_actor& mm) {
    auto publish = caf::make_function_view(mm);
    return publish(caf::publish_atom_v, where.port, actor, std::move(interface), host, true);
  });
}

caf::expected<caf::strong_actor_ptr> remote_control(caf::actor_system& sys,
                                                    std::set<std::string> interface,
                                                    const protocols::endpoint& where) {
  // Bounded: a peer that accepts and never finishes the handshake must not hang sim.
  auto found = with_control_middleman(sys, [&](const caf::io::middleman_actor& mm) {
    auto connect = caf::make_function_view(mm, caf::duration{std::chrono::seconds{30}});
    return connect(caf::connect_atom_v, where.host, where.port);
  });
  if (!found) {
    return std::move(found.error());
  }
  auto& [node, ptr, published] = *found;
  static_cast<void>(node);
  if (!ptr) {
    return caf::make_error(caf::sec::no_actor_published_at_port, where.port);
  }
  if (!sys.assignable(published, interface)) {
    return caf::make_error(caf::sec::unexpected_actor_messaging_interface, std::move(interface),
                           std::move(published));
  }
  return std::move(ptr);
}

}  // namespace l4sim::apps
