#include "actors/vnet/vsession.hpp"

#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/system_messages.hpp>

#include "actors/balancer/idle_policy.hpp"
#include "actors/balancer/session_flow.hpp"
#include "actors/io/system.hpp"
#include "protocols/balancer_messages.hpp"
#include "protocols/proxy_protocol.hpp"

namespace l4sim::actors {

namespace {

using caf::io::connection_handle;

uint64_t id_of(connection_handle hdl) {
  return static_cast<uint64_t>(hdl.id());
}

/// One direction's end of a proxied connection.
struct vside {
  uint64_t conn = 0;
  bool attached = false;
  bool reading = false;  // no FIN/RST from it yet
  bool shut = false;     // nothing more goes to it
  bool reset = false;
  bool stalled = false;  // not read: the other side's window is full
};

/// One proxied connection on the virtual network: its flow's transport is the pair of
/// virtual connections, client and backend.
class vsession : public caf::event_based_actor, private session_transport {
 public:
  vsession(caf::actor_config& acfg, uint64_t client, session_deps deps, flow_bounds bounds,
           std::shared_ptr<vnet> net)
      : caf::event_based_actor(acfg),
        net_(std::move(net)),
        flow_(this, *this, std::move(deps), client, bounds) {
    client_.conn = client;
    client_.attached = true;
    client_.reading = true;
  }

  caf::behavior make_behavior() override {
    auto peer = net_->peer_name(client_.conn);
    auto colon = peer.rfind(':');
    flow_.accepted(
        peer.substr(0, colon),
        colon == std::string::npos ? 0 : static_cast<uint16_t>(std::stoul(peer.substr(colon + 1))));
    activity_.client_last = clock().now();
    net_->adopt(client_.conn, address(), false);
    flow_.request_pick();
    caf::message_handler io{
        [this](const caf::io::new_data_msg& msg) { on_data(msg); },
        [this](const caf::io::connection_closed_msg& msg) { on_closed(msg.handle); },
        [this](const caf::io::data_transferred_msg& msg) { on_written(msg); },
    };
    return io.or_else(flow_.handlers());
  }

 private:
  void on_exit() override {
    net_->close(client_.conn);
    if (backend_.attached) {
      net_->close(backend_.conn);
    }
    flow_.release();
  }

  bool finished() const override { return finished_; }
  // Live sessions stop reading their client while queued; here the client stops being read
  // once `early_` holds a window's worth.
  void hold_client() override {}
  uint64_t buffered() const override { return early_.size(); }
  session_activity activity() const override {
    auto act = activity_;
    act.backend_attached = backend_.attached;
    return act;
  }
  // The PROXY header goes out in attach(), once the connection is adopted; it cannot fail.
  bool prepare_backend(dialed_socket&) override { return true; }
  void attach_backend(dialed_socket sock) override { attach(sock.release_virtual()); }
  void close_client() override { net_->close(client_.conn); }
  uint64_t bytes_up() const override { return bytes_up_; }
  uint64_t bytes_down() const override { return bytes_down_; }
  bool backend_reset() const override { return backend_.reset; }

  vside* side_of(connection_handle hdl) {
    if (id_of(hdl) == client_.conn) {
      return &client_;
    }
    if (backend_.attached && id_of(hdl) == backend_.conn) {
      return &backend_;
    }
    return nullptr;
  }

  vside& other(const vside& s) { return &s == &client_ ? backend_ : client_; }

  void on_data(const caf::io::new_data_msg& msg) {
    auto* src = side_of(msg.handle);
    if (src == nullptr || finished_) {
      return;
    }
    auto now = clock().now();
    if (src == &client_) {
      bytes_up_ += msg.buf.size();
      activity_.client_last = now;
      activity_.client_sent = true;
    } else {
      bytes_down_ += msg.buf.size();
      activity_.backend_last = now;
      activity_.backend_sent = true;
    }
    auto& dst = other(*src);
    if (dst.shut) {
      return;
    }
    if (!dst.attached) {
      early_.insert(early_.end(), msg.buf.begin(), msg.buf.end());
      if (early_.size() >= net_->config().window) {
        stall(*src);
      }
      return;
    }
    net_->send(dst.conn, msg.buf.data(), msg.buf.size());
    if (net_->pending(dst.conn) > 0) {
      // Back-pressure, as the live byte pump: what the other side cannot take yet stays
      // in this side's window, so its writer runs out of room in turn.
      stall(*src);
      net_->notify_drained(dst.conn);
    }
  }

  void stall(vside& src) {
    if (!src.stalled) {
      src.stalled = true;
      net_->set_reading(src.conn, false);
    }
  }

  void unstall(vside& src) {
    if (src.stalled) {
      src.stalled = false;
      net_->set_reading(src.conn, true);
    }
  }

  /// `dst` took everything written to it: read its other side again.
  void on_written(const caf::io::data_transferred_msg& msg) {
    auto* dst = side_of(msg.handle);
    if (dst != nullptr && msg.remaining == 0) {
      unstall(other(*dst));
    }
  }

  void on_closed(connection_handle hdl) {
    auto* src = side_of(hdl);
    if (src == nullptr || !src->reading) {
      return;
    }
    src->reading = false;
    src->reset = net_->was_reset(id_of(hdl));
    if (!src->reset && !activity_.half_closed) {
      activity_.half_closed = clock().now();
    }
    if (src->reset) {
      src->shut = true;
      auto& dst = other(*src);
      if (!dst.attached) {
        // The client reset before any backend: nothing to relay.
        finish();
        return;
      }
      if (!dst.shut) {
        net_->reset(dst.conn);
        dst.shut = true;
        dst.reading = false;
      }
      finish();
      return;
    }
    forward_eof(*src);
    check_finished();
  }

  /// A FIN read from `src` goes on to the other side once it is attached.
  void forward_eof(vside& src) {
    auto& dst = other(src);
    if (src.reading || dst.shut || !dst.attached) {
      return;
    }
    net_->shutdown_write(dst.conn);
    dst.shut = true;
  }

  void check_finished() {
    if (finished_) {
      return;
    }
    bool up_done = backend_.shut && !client_.reading;
    bool down_done = client_.shut && !backend_.reading;
    if (up_done && down_done) {
      finish();
    }
  }

  void finish() {
    if (finished_) {
      return;
    }
    finished_ = true;
    flow_.maybe_quit();
  }

  /// Ends the relay at once: both peers see a FIN.
  void abort() override {
    net_->close(client_.conn);
    if (backend_.attached) {
      net_->close(backend_.conn);
    }
    client_.shut = backend_.shut = true;
    finished_ = true;
  }

  void attach(uint64_t conn) {
    backend_.conn = conn;
    backend_.attached = true;
    backend_.reading = true;
    activity_.backend_last = clock().now();
    net_->adopt(conn, address(), false);
    auto send_proxy = flow_.config().send_proxy;
    if (send_proxy != protocols::proxy_version::none) {
      protocols::proxy_info info;
      auto [local_address, local_port] = net_->local_end(client_.conn);
      info.proxied = !flow_.client_address().empty() && !local_address.empty();
      info.src_address = flow_.client_address();
      info.src_port = flow_.client_port();
      info.dst_address = local_address;
      info.dst_port = local_port;
      auto header = protocols::encode_proxy(send_proxy, info);
      net_->send(conn, header.data(), header.size());
    }
    if (!early_.empty()) {
      net_->send(conn, early_.data(), early_.size());
      early_.clear();
      early_.shrink_to_fit();
    }
    if (net_->pending(conn) == 0) {
      unstall(client_);
    }
    if (client_.shut) {
      // The client reset meanwhile (only a FIN leaves it unshut).
      net_->reset(conn);
      backend_.shut = true;
    }
    forward_eof(client_);
    check_finished();
  }

  std::shared_ptr<vnet> net_;
  vside client_;
  vside backend_;
  std::vector<char> early_;
  session_activity activity_;
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;
  bool finished_ = false;
  session_flow<caf::event_based_actor> flow_;
};

}  // namespace

caf::actor spawn_virtual_session(caf::event_based_actor* listener, uint64_t client,
                                 const session_deps& deps, flow_bounds bounds,
                                 std::shared_ptr<vnet> net) {
  return listener->spawn<vsession, caf::monitored>(client, deps, bounds, std::move(net));
}

}  // namespace l4sim::actors
