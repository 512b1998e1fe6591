#include "actors/balancer/session.hpp"

#include <memory>
#include <string>
#include <utility>

#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>

#include "actors/balancer/session_flow.hpp"
#include "actors/io/broker_base.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

namespace {

/// The live session: its flow's transport is the byte pump over the client's scribe and the
/// dialed backend socket, and the PROXY header written to that socket.
class session : public broker_base, private session_transport {
 public:
  session(caf::actor_config& acfg, caf::io::connection_handle client, session_deps deps)
      : broker_base(acfg),
        client_(client),
        flow_(this, *this, std::move(deps), static_cast<uint64_t>(client.id())) {}

  caf::behavior make_behavior() override {
    auto [address, port] = remote_endpoint(client_);
    flow_.accepted(std::move(address), port);
    pump_ = make_pump(this, client_, flow_.config().pump);
    pump_->on_finished([this] { flow_.maybe_quit(); });
    // Out of fds already: nothing to pick for; the pump closes the client and finishes.
    if (!pump_->starved()) {
      flow_.request_pick();
    }
    return flow_.handlers().or_else(pump_->handlers());
  }

 private:
  void on_exit() override {
    // Drop the strong handles so that no cycle outlives the session.
    pump_.reset();
    flow_.release();
  }

  bool finished() const override { return pump_->finished(); }
  void hold_client() override { pump_->hold_client(); }
  uint64_t buffered() const override { return pump_->buffered(); }
  session_activity activity() const override { return pump_->activity(); }
  void abort() override { pump_->abort(); }
  // Quitting closes the client's scribe.
  void close_client() override {}
  uint64_t bytes_up() const override { return pump_->bytes_up(); }
  uint64_t bytes_down() const override { return pump_->bytes_down(); }
  bool backend_reset() const override { return pump_->backend_reset(); }

  /// Writes the PROXY header, if configured, to a just-connected backend socket. A fresh
  /// socket's send buffer (kilobytes) takes the header (at most 52 bytes for v2, 104 for
  /// v1) in one call, so it is written here directly, ahead of anything the pump queues.
  /// Fails when the backend reset or closed already (or, never seen, a fresh socket's send
  /// buffer refused ~100 bytes).
  bool prepare_backend(dialed_socket& sock) override {
    const auto& cfg = flow_.config();
    if (cfg.send_proxy == protocols::proxy_version::none) {
      return true;
    }
    protocols::proxy_info info;
    auto [local_address, local_port] = local_endpoint(static_cast<int>(client_.id()));
    info.proxied = !flow_.client_address().empty() && !local_address.empty();
    info.src_address = flow_.client_address();
    info.src_port = flow_.client_port();
    info.dst_address = local_address;
    info.dst_port = local_port;
    auto header = protocols::encode_proxy(cfg.send_proxy, info);
    auto fd = sock.release();
    auto n = ::send(fd, header.data(), header.size(), MSG_NOSIGNAL);
    sock = dialed_socket{fd};
    return n == static_cast<ssize_t>(header.size());
  }

  void attach_backend(dialed_socket sock) override { pump_->attach_backend(sock.release()); }

  caf::io::connection_handle client_;
  std::unique_ptr<byte_pump> pump_;
  session_flow<caf::io::broker> flow_;
};

}  // namespace

caf::actor spawn_session(caf::io::broker* owner, caf::io::connection_handle client,
                         const session_deps& deps) {
  auto scribe = owner->take(client);
  caf::actor_config cfg{owner->context()};
  auto hdl = owner->system().spawn_class<session, caf::no_spawn_options>(cfg, client, deps);
  auto* impl = static_cast<session*>(caf::actor_cast<caf::abstract_actor*>(hdl));
  if (scribe) {  // the direct pump takes the bare socket: no scribe
    impl->move_scribe(std::move(scribe));
  }
  owner->link_to(hdl);
  return hdl;
}

}  // namespace l4sim::actors
