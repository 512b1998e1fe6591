#include "actors/vnet/vnet.hpp"

#include <utility>

#include <fmt/format.h>
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_clock.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/io/system.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

namespace {

using caf::io::accept_handle;
using caf::io::connection_handle;
using protocols::l4_errc;

connection_handle conn_hdl(uint64_t id) {
  return connection_handle::from_int(static_cast<int64_t>(id));
}

/// Sends `msg` to `to`, `delay` from now on its system's clock (virtual in a virtual run).
void post(const caf::actor_addr& to, caf::timespan delay, caf::message msg) {
  auto ptr = caf::actor_cast<caf::strong_actor_ptr>(to);
  if (!ptr) {
    return;
  }
  auto& clock = ptr->get()->home_system().clock();
  auto when = clock.now() + delay;
  clock.schedule_message(
      when, std::move(ptr),
      caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, std::move(msg)));
}

/// Puts `msg` in the mailbox of `to` now.
void push(const caf::actor_addr& to, caf::message msg) {
  if (auto ptr = caf::actor_cast<caf::strong_actor_ptr>(to)) {
    ptr->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, std::move(msg)),
                 nullptr);
  }
}

/// The network's own actor: deliveries due on the clock come back to the network here.
caf::behavior wire(caf::event_based_actor*, std::weak_ptr<vnet> net) {
  return {
      [net](arrive_atom, uint64_t id, caf::message& msg) {
        if (auto n = net.lock()) {
          n->arrive(id, std::move(msg));
        }
      },
  };
}

/// A broker's socket layer on the virtual network.
class virtual_io : public broker_io {
 public:
  virtual_io(std::shared_ptr<vnet> net, uint64_t listener)
      : net_(std::move(net)), listener_(listener) {}

  void attach(caf::io::broker* self) override { self_ = self->address(); }

  accept_handle start_listening() override {
    net_->own_listener(listener_, self_);
    return accept_handle::from_int(static_cast<int64_t>(listener_));
  }

  caf::expected<accept_handle> listen_again(const std::string& host, uint16_t port) override {
    auto bound = net_->listen(host, port);
    if (!bound) {
      return bound.error();
    }
    listener_ = bound->first;
    return start_listening();
  }

  void close(accept_handle hdl) override { net_->unlisten(static_cast<uint64_t>(hdl.id())); }

  caf::expected<connection_handle> adopt(dialed_socket& s) override {
    auto id = s.release_virtual();
    if (id == 0) {
      return caf::make_error(l4_errc::local_failure, "the dialer returned no connection");
    }
    net_->adopt(id, self_, true);
    return conn_hdl(id);
  }

  void start_reading(connection_handle, size_t) override {
    // The network delivers each write as one message: there is no read size to set.
  }

  void send(connection_handle hdl, const char* data, size_t n) override {
    net_->send(static_cast<uint64_t>(hdl.id()), data, n);
  }

  void ack_writes(connection_handle hdl) override {
    net_->ack_writes(static_cast<uint64_t>(hdl.id()));
  }

  void close(connection_handle hdl) override { net_->close(static_cast<uint64_t>(hdl.id())); }

  void abort(connection_handle hdl) override { net_->abort(static_cast<uint64_t>(hdl.id())); }

  std::string peer(connection_handle hdl) override {
    return net_->peer_name(static_cast<uint64_t>(hdl.id()));
  }

  bool was_reset(connection_handle hdl) override {
    return net_->was_reset(static_cast<uint64_t>(hdl.id()));
  }

 private:
  std::shared_ptr<vnet> net_;
  uint64_t listener_;
  caf::actor_addr self_;
};

/// The virtual dialer: what actors/io/dialer.hpp answers, on the virtual network. A
/// connect completes (or is refused) one round trip after its SYN got through; a dropped
/// SYN is sent again 1 s, 2 s, 4 s, ... later (Linux's initial RTO, doubling), and the
/// connect times out at its deadline as a real one does.
struct vdialer_state {
  std::weak_ptr<vnet> net;
  uint64_t next_ticket = 0;
  struct pending {
    caf::typed_response_promise<dialed_socket> promise;
    std::string address;
    uint16_t port = 0;
    std::string source;
    std::string target;
    caf::timespan rto = std::chrono::seconds{1};
    std::optional<uint64_t> conn;  // the SYN got through
    bool refused = false;
  };
  std::unordered_map<uint64_t, pending> waiting;
};

// Untyped, because its own timer messages are not part of the dialer's interface; spawned
// and handed out as a dialer_actor.
using vdialer_self = caf::stateful_actor<vdialer_state>*;

/// Sends ticket's SYN; schedules what follows.
void vsyn(vdialer_self self, uint64_t ticket) {
  auto net = self->state.net.lock();
  auto i = self->state.waiting.find(ticket);
  if (!net || i == self->state.waiting.end()) {
    return;
  }
  auto& p = i->second;
  auto [outcome, id] = net->try_connect(p.source, p.address, p.port);
  if (outcome == connect_outcome::dropped) {
    send_later(self, p.rto, retry_atom_v, ticket);
    p.rto *= 2;
    return;
  }
  if (outcome == connect_outcome::refused) {
    p.refused = true;
  } else {
    p.conn = id;
  }
  send_later(self, 2 * net->latency(), dialed_atom_v, ticket);
}

caf::result<dialed_socket> vdial(vdialer_self self, const std::string& address, uint16_t port,
                                 caf::timespan timeout, const std::string& source) {
  if (!self->state.net.lock()) {
    return caf::make_error(l4_errc::local_failure, "the virtual network is gone");
  }
  auto ticket = ++self->state.next_ticket;
  auto& p = self->state.waiting[ticket];
  p.promise = self->make_response_promise<dialed_socket>();
  p.address = address;
  p.port = port;
  p.source = source;
  p.target = fmt::format("{}:{}", address, port);
  auto promise = p.promise;
  vsyn(self, ticket);
  send_later(self, timeout, caf::timeout_atom_v, ticket);
  return promise;
}

caf::behavior vdialer(vdialer_self self, std::shared_ptr<vnet> net) {
  self->state.net = net;
  return {
      [self](caf::connect_atom, const std::string& address, uint16_t port, caf::timespan timeout)
          -> caf::result<dialed_socket> { return vdial(self, address, port, timeout, {}); },
      [self](caf::connect_atom, const std::string& address, uint16_t port, caf::timespan timeout,
             const std::string& source) -> caf::result<dialed_socket> {
        return vdial(self, address, port, timeout, source);
      },
      [self](retry_atom, uint64_t ticket) { vsyn(self, ticket); },
      [self](caf::timeout_atom, uint64_t ticket) {
        auto i = self->state.waiting.find(ticket);
        if (i == self->state.waiting.end()) {
          return;
        }
        auto p = std::move(i->second);
        self->state.waiting.erase(i);
        if (p.conn) {
          if (auto n = self->state.net.lock()) {
            n->close(*p.conn);
          }
        }
        p.promise.deliver(caf::make_error(l4_errc::upstream_timeout,
                                          fmt::format("connect to {} timed out", p.target)));
      },
      [self](dialed_atom, uint64_t ticket) {
        auto i = self->state.waiting.find(ticket);
        if (i == self->state.waiting.end()) {
          return;
        }
        auto p = std::move(i->second);
        self->state.waiting.erase(i);
        if (!p.conn) {
          p.promise.deliver(
              caf::make_error(l4_errc::upstream_connect_failed,
                              fmt::format("connect to {}: Connection refused", p.target)));
          return;
        }
        std::weak_ptr<vnet> weak = self->state.net;
        p.promise.deliver(dialed_socket::virtual_connection(*p.conn, [weak](uint64_t id) {
          if (auto n = weak.lock()) {
            n->close(id);
          }
        }));
      },
  };
}

}  // namespace

vnet_config network_config(const protocols::scenario_network& net, uint64_t seed) {
  vnet_config cfg;
  cfg.latency = net.latency;
  cfg.jitter = net.jitter;
  cfg.bandwidth = net.bandwidth;
  cfg.loss = net.loss;
  cfg.window = net.window;
  cfg.seed = seed;
  return cfg;
}

vnet::vnet(caf::actor_system& sys, vnet_config cfg)
    : sys_(sys), cfg_(cfg), rng_(cfg.seed ^ 0x9e3779b97f4a7c15ULL) {}

vnet::~vnet() {
  if (wire_) {
    caf::anon_send_exit(wire_, caf::exit_reason::user_shutdown);
  }
}

caf::timespan vnet::jitter() {
  if (cfg_.jitter.count() <= 0) {
    return caf::timespan{0};
  }
  return caf::timespan{static_cast<int64_t>(rng_() % static_cast<uint64_t>(cfg_.jitter.count()))};
}

caf::expected<std::pair<uint64_t, uint16_t>> vnet::listen(const std::string& host, uint16_t port) {
  auto address = host.empty() ? std::string{"0.0.0.0"} : host;
  if (port == 0) {
    while (bound_.count(fmt::format("{}:{}", address, next_port_)) != 0) {
      ++next_port_;
    }
    port = next_port_++;
  }
  auto key = fmt::format("{}:{}", address, port);
  if (bound_.count(key) != 0) {
    return caf::make_error(l4_errc::bind_failed,
                           fmt::format("cannot listen on {}: address in use", key));
  }
  auto id = ++next_id_;
  bound_.emplace(key, id);
  listeners_[id].key = key;
  return std::make_pair(id, port);
}

void vnet::own_listener(uint64_t id, caf::actor_addr owner, bool hands_over) {
  auto i = listeners_.find(id);
  if (i == listeners_.end()) {
    return;
  }
  auto& lst = i->second;
  lst.owner = std::move(owner);
  lst.hands_over = hands_over;
  // Connections that arrived before the owner took the listener: announce them now, then
  // hand a broker owner what already arrived on them.
  for (auto server : std::exchange(lst.unannounced, {})) {
    post(lst.owner, caf::timespan{0},
         caf::make_message(caf::io::new_connection_msg{
             accept_handle::from_int(static_cast<int64_t>(id)), conn_hdl(server)}));
    if (!hands_over) {
      adopt(server, lst.owner, true);
    }
  }
}

void vnet::unlisten(uint64_t id) {
  auto i = listeners_.find(id);
  if (i == listeners_.end()) {
    return;
  }
  bound_.erase(i->second.key);
  post(i->second.owner, cfg_.latency,
       caf::make_message(
           caf::io::acceptor_closed_msg{accept_handle::from_int(static_cast<int64_t>(id))}));
  listeners_.erase(i);
}

std::pair<connect_outcome, uint64_t> vnet::try_connect(const std::string& source,
                                                       const std::string& host, uint16_t port) {
  auto i = bound_.find(fmt::format("{}:{}", host, port));
  if (i == bound_.end()) {
    i = bound_.find(fmt::format("0.0.0.0:{}", port));
  }
  if (i == bound_.end()) {
    return {connect_outcome::refused, 0};
  }
  if (links_[listeners_[i->second].key].partitioned) {
    return {connect_outcome::dropped, 0};
  }
  // Drawn only when loss is set, so that a lossless network draws nothing.
  if (cfg_.loss > 0 && static_cast<double>(rng_() >> 11) * 0x1.0p-53 < cfg_.loss) {
    return {connect_outcome::dropped, 0};
  }
  auto id = connect(source, host, port);
  return {id ? connect_outcome::connected : connect_outcome::refused, id.value_or(0)};
}

std::optional<uint64_t> vnet::connect(const std::string& source, const std::string& host,
                                      uint16_t port) {
  auto i = bound_.find(fmt::format("{}:{}", host, port));
  if (i == bound_.end()) {
    i = bound_.find(fmt::format("0.0.0.0:{}", port));
  }
  if (i == bound_.end()) {
    return std::nullopt;
  }
  auto& lst = listeners_[i->second];
  auto* on = &links_[lst.key];
  auto client = ++next_id_;
  auto server = ++next_id_;
  auto client_address =
      fmt::format("{}:{}", source.empty() ? "127.0.0.1" : source, next_ephemeral_);
  next_ephemeral_ = next_ephemeral_ == 65535 ? 40000 : next_ephemeral_ + 1;
  auto server_address = fmt::format("{}:{}", host, port);
  auto& c = ends_[client];
  c.peer = server;
  c.local = client_address;
  c.remote = server_address;
  c.on = on;
  auto& s = ends_[server];
  s.peer = client;
  s.local = server_address;
  s.remote = client_address;
  s.on = on;
  s.server_side = true;
  if (!lst.owner) {
    lst.unannounced.push_back(server);
    return client;
  }
  if (!lst.hands_over) {
    s.owner = lst.owner;
    s.broker = true;
  }
  post(lst.owner, cfg_.latency,
       caf::make_message(caf::io::new_connection_msg{
           accept_handle::from_int(static_cast<int64_t>(i->second)), conn_hdl(server)}));
  return client;
}

void vnet::adopt(uint64_t id, caf::actor_addr owner, bool broker) {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    // Gone before it was adopted (the peer reset): the owner sees the close.
    post(owner, caf::timespan{0}, caf::make_message(caf::io::connection_closed_msg{conn_hdl(id)}));
    return;
  }
  auto& e = i->second;
  e.owner = std::move(owner);
  e.broker = broker;
  flush_inbox(id);
  forget_if_done(id);
}

void vnet::deliver(uint64_t id, caf::message msg, size_t bytes) {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    return;
  }
  auto& e = i->second;
  auto now = sys_.clock().now();
  auto depart = now;
  if (cfg_.bandwidth > 0 && bytes > 0 && e.on != nullptr) {
    // The sender's direction of the link sends one segment after the other.
    auto& free = e.on->free[e.server_side ? 0 : 1];
    auto start = std::max(now, free);
    free = start + caf::timespan{static_cast<int64_t>(static_cast<double>(bytes) * 1e9 /
                                                      static_cast<double>(cfg_.bandwidth))};
    depart = free;
  }
  // Never before what went ahead of it on the same connection.
  auto when = std::max(depart + cfg_.latency + jitter(), e.last_arrival);
  e.last_arrival = when;
  ++e.in_flight;
  if (!wire_) {
    wire_ = sys_.spawn(wire, weak_from_this());
  }
  sys_.clock().schedule_message(
      when, caf::actor_cast<caf::strong_actor_ptr>(wire_),
      caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                caf::make_message(arrive_atom_v, id, std::move(msg))));
}

void vnet::arrive(uint64_t id, caf::message msg) {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    return;
  }
  auto& e = i->second;
  if (e.on != nullptr && (e.on->partitioned || e.on->held)) {
    e.on->waiting.emplace_back(id, std::move(msg));
    return;
  }
  --e.in_flight;
  if (e.closed) {
    // Its owner closed it meanwhile.
  } else if (!e.owner || e.paused || !e.inbox.empty()) {
    e.inbox.push_back(std::move(msg));
  } else {
    hand(id, std::move(msg));
  }
  forget_if_done(id);
}

void vnet::hand(uint64_t id, caf::message msg) {
  auto& e = ends_.at(id);
  uint64_t read = 0;
  if (msg.match_element<caf::io::new_data_msg>(0)) {
    read = msg.get_as<caf::io::new_data_msg>(0).buf.size();
  }
  push(e.owner, std::move(msg));
  if (read > 0) {
    // The owner read it: room in the window again.
    e.unread -= std::min(e.unread, read);
    pump(e.peer);
  }
}

void vnet::flush_inbox(uint64_t id) {
  for (;;) {
    auto i = ends_.find(id);
    if (i == ends_.end() || !i->second.owner || i->second.paused || i->second.inbox.empty()) {
      return;
    }
    auto msg = std::move(i->second.inbox.front());
    i->second.inbox.pop_front();
    hand(id, std::move(msg));
  }
}

void vnet::pump(uint64_t id) {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    return;
  }
  auto& e = i->second;
  auto p = ends_.find(e.peer);
  if (p == ends_.end() || !p->second.reading) {
    // Nobody reads it any more: what waits is lost, as on a closed socket.
    e.pending.clear();
  }
  size_t written = 0;
  while (!e.pending.empty()) {
    auto& peer = p->second;
    auto room = cfg_.window > peer.unread ? cfg_.window - peer.unread : 0;
    if (room == 0) {
      break;
    }
    auto n = std::min<size_t>(room, e.pending.size());
    std::vector<char> chunk(e.pending.begin(), e.pending.begin() + static_cast<ptrdiff_t>(n));
    e.pending.erase(e.pending.begin(), e.pending.begin() + static_cast<ptrdiff_t>(n));
    peer.unread += n;
    written += n;
    deliver(e.peer, caf::make_message(caf::io::new_data_msg{conn_hdl(e.peer), std::move(chunk)}),
            n);
  }
  if (written > 0 && e.ack) {
    push(e.owner,
         caf::make_message(caf::io::data_transferred_msg{conn_hdl(id), written, e.pending.size()}));
  } else if (e.drained_note && e.pending.empty()) {
    e.drained_note = false;
    push(e.owner, caf::make_message(caf::io::data_transferred_msg{conn_hdl(id), written, 0}));
  }
  if (e.pending.empty() && e.fin_after_pending) {
    e.fin_after_pending = false;
    auto peer = e.peer;
    forget_if_done(id);
    peer_closed(peer, false);
  }
}

void vnet::send(uint64_t id, const char* data, size_t n) {
  auto i = ends_.find(id);
  if (i == ends_.end() || !i->second.writing || n == 0) {
    return;
  }
  i->second.pending.insert(i->second.pending.end(), data, data + n);
  pump(id);
}

size_t vnet::pending(uint64_t id) const {
  auto i = ends_.find(id);
  return i == ends_.end() ? 0 : i->second.pending.size();
}

void vnet::ack_writes(uint64_t id) {
  if (auto i = ends_.find(id); i != ends_.end()) {
    i->second.ack = true;
  }
}

void vnet::notify_drained(uint64_t id) {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    return;
  }
  i->second.drained_note = true;
  pump(id);
}

void vnet::set_reading(uint64_t id, bool on) {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    return;
  }
  i->second.paused = !on;
  flush_inbox(id);
}

void vnet::peer_closed(uint64_t id, bool reset) {
  auto i = ends_.find(id);
  if (i == ends_.end() || !i->second.reading) {
    return;
  }
  auto& e = i->second;
  e.reading = false;
  if (reset) {
    reset_.insert(id);
    e.writing = false;
    e.pending.clear();
  }
  deliver(id, caf::make_message(caf::io::connection_closed_msg{conn_hdl(id)}));
  if (e.broker && e.writing) {
    // A CAF scribe ends at EOF: its socket closes, and the peer sees our FIN too.
    e.writing = false;
    e.pending.clear();
    peer_closed(e.peer, false);
  }
  forget_if_done(id);
}

void vnet::shutdown_write(uint64_t id) {
  auto i = ends_.find(id);
  if (i == ends_.end() || !i->second.writing) {
    return;
  }
  i->second.writing = false;
  if (!i->second.pending.empty()) {
    // The FIN goes after what still waits for room.
    i->second.fin_after_pending = true;
    return;
  }
  auto peer = i->second.peer;
  forget_if_done(id);
  peer_closed(peer, false);
}

void vnet::close(uint64_t id) {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    return;
  }
  i->second.reading = false;
  i->second.closed = true;
  i->second.inbox.clear();
  i->second.unread = 0;
  shutdown_write(id);
  forget_if_done(id);
}

void vnet::abort(uint64_t id) {
  if (auto i = ends_.find(id); i != ends_.end()) {
    i->second.pending.clear();
  }
  close(id);
}

void vnet::reset(uint64_t id) {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    return;
  }
  auto peer = i->second.peer;
  ends_.erase(i);
  peer_closed(peer, true);
}

void vnet::forget_if_done(uint64_t id) {
  auto i = ends_.find(id);
  // An end nobody adopted yet keeps what arrived for it until someone does; one with bytes
  // still to send stays until they are out.
  if (i != ends_.end() && !i->second.reading && !i->second.writing && i->second.inbox.empty() &&
      !i->second.fin_after_pending && i->second.in_flight == 0) {
    ends_.erase(i);
  }
}

void vnet::partition(const std::string& key, bool on) {
  auto& lk = links_[key];
  lk.partitioned = on;
  unblock(lk);
}

void vnet::hold(const std::string& key, bool on) {
  auto& lk = links_[key];
  lk.held = on;
  unblock(lk);
}

void vnet::unblock(link& lk) {
  if (lk.partitioned || lk.held) {
    return;
  }
  for (auto& [id, msg] : std::exchange(lk.waiting, {})) {
    arrive(id, std::move(msg));
  }
}

vnet_buffers vnet::buffers() const {
  vnet_buffers out;
  for (const auto& kv : ends_) {
    out.pending += kv.second.pending.size();
    out.unread += kv.second.unread;
  }
  return out;
}

bool vnet::was_reset(uint64_t id) const {
  return reset_.count(id) != 0;
}

std::string vnet::peer_name(uint64_t id) const {
  auto i = ends_.find(id);
  return i == ends_.end() ? std::string{"?"} : i->second.remote;
}

std::pair<std::string, uint16_t> vnet::local_end(uint64_t id) const {
  auto i = ends_.find(id);
  if (i == ends_.end()) {
    return {"", 0};
  }
  auto& text = i->second.local;
  auto colon = text.rfind(':');
  return {text.substr(0, colon), static_cast<uint16_t>(std::stoul(text.substr(colon + 1)))};
}

std::unique_ptr<broker_io> vnet::make_io(uint64_t listener) {
  return std::make_unique<virtual_io>(shared_from_this(), listener);
}

dialer_actor vnet::spawn_dialer(caf::actor_system& sys) {
  return caf::actor_cast<dialer_actor>(sys.spawn(vdialer, shared_from_this()));
}

}  // namespace l4sim::actors
