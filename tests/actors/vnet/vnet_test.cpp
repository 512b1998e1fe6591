#include "actors/vnet/vnet.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/test_multiplexer.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/clients/spawner.hpp"
#include "actors/io/system.hpp"
#include "actors/vnet/vbalancer.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

/// An actor system on virtual time and CAF's test multiplexer, as `sim run --virtual` has.
struct virtual_world {
  static caf::actor_system_config& config(caf::actor_system_config& cfg) {
    actors::configure_system(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("middleman.network-backend", caf::atom("testing"));
    return cfg;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{config(cfg)};
  caf::scheduler::test_coordinator& sched =
      dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  caf::io::network::test_multiplexer& mpx =
      dynamic_cast<caf::io::network::test_multiplexer&>(sys.middleman().backend());
  std::shared_ptr<actors::vnet> net;

  explicit virtual_world(actors::vnet_config ncfg = {})
      : net(std::make_shared<actors::vnet>(sys, ncfg)) {
    sys.await_actors_before_shutdown(false);
  }

  /// Returns the virtual time since the world began.
  caf::timespan now() const { return sched.clock().now().time_since_epoch(); }

  /// Runs everything due up to virtual time `until` (from the start); bounded in steps.
  void run_until(caf::timespan until) {
    for (int i = 0; i < 100000; ++i) {
      while (sched.run() > 0 || mpx.try_exec_runnable()) {
      }
      auto& timers = sched.clock().schedule();
      if (timers.empty() || timers.begin()->first.time_since_epoch() > until) {
        return;
      }
      sched.trigger_timeout();
    }
    FAIL("the virtual world did not reach its time within 100000 steps");
  }

  /// A backend server listening on the virtual network, at a port the network picks.
  struct listening_backend {
    uint16_t port = 0;
    actors::backend_actor actor;
  };

  listening_backend spawn_backend() {
    auto bound = net->listen("127.0.0.1", 0);
    REQUIRE(bound);
    actors::backend_config bcfg;
    bcfg.port = bound->second;
    bcfg.log = false;
    return {bound->second, actors::spawn_backend_on(sys, bcfg, net->make_io(bound->first))};
  }

  /// Runs what can run now, without moving virtual time; bounded in steps.
  void settle_now() {
    for (int i = 0; i < 100000; ++i) {
      if (sched.run() == 0 && !mpx.try_exec_runnable()) {
        return;
      }
    }
    FAIL("the virtual world did not settle within 100000 steps");
  }

  /// Runs actors, brokers and timers until nothing is left; bounded in steps.
  void settle() {
    for (int i = 0; i < 100000; ++i) {
      if (sched.run() == 0 && !mpx.try_exec_runnable() && !sched.trigger_timeout()) {
        return;
      }
    }
    FAIL("the virtual world did not settle within 100000 steps");
  }
};

/// What a peer saw.
struct seen {
  std::string bytes;
  bool closed = false;
  bool reset = false;
  std::optional<std::string> dial_error;
  std::optional<caf::timespan> dialed_at;  ///< virtual time the dial ended
};

/// Dials `port` through `dialer`, adopts the connection, sends `line` and records the rest.
caf::behavior peer(caf::event_based_actor* self, std::shared_ptr<actors::vnet> net,
                   actors::dialer_actor dialer, uint16_t port, std::string line,
                   std::shared_ptr<seen> out) {
  self->request(dialer, 5s, caf::connect_atom_v, std::string{"127.0.0.1"}, port, caf::timespan{1s})
      .then(
          [=](actors::dialed_socket& s) {
            out->dialed_at = self->clock().now().time_since_epoch();
            auto id = s.release_virtual();
            net->adopt(id, self->address(), false);
            net->send(id, line.data(), line.size());
          },
          [=](const caf::error& err) {
            out->dialed_at = self->clock().now().time_since_epoch();
            out->dial_error = actors::describe(err);
          });
  return {
      [=](const caf::io::new_data_msg& m) { out->bytes.append(m.buf.begin(), m.buf.end()); },
      [=](const caf::io::connection_closed_msg& m) {
        out->closed = true;
        out->reset = net->was_reset(static_cast<uint64_t>(m.handle.id()));
      },
  };
}

/// Records the ends a listener accepts and what arrives on them.
caf::behavior acceptor(caf::event_based_actor* self, std::shared_ptr<actors::vnet> net,
                       std::shared_ptr<seen> out) {
  return {
      [=](const caf::io::new_connection_msg& m) {
        net->adopt(static_cast<uint64_t>(m.handle.id()), self->address(), false);
      },
      [=](const caf::io::new_data_msg& m) { out->bytes.append(m.buf.begin(), m.buf.end()); },
      [=](const caf::io::connection_closed_msg& m) {
        out->closed = true;
        out->reset = net->was_reset(static_cast<uint64_t>(m.handle.id()));
      },
  };
}

}  // namespace

TEST_CASE("a virtual connect to a port nobody listens on is refused", "[vnet]") {
  virtual_world w;
  auto dialer = w.net->spawn_dialer(w.sys);
  auto out = std::make_shared<seen>();
  w.sys.spawn(peer, w.net, dialer, uint16_t{1}, std::string{"PING 1\n"}, out);
  w.settle();
  REQUIRE(out->dial_error);
  CHECK_THAT(*out->dial_error, Catch::Contains("Connection refused"));
  CHECK(w.net->open_connections() == 0);
  caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
  w.settle();
}

TEST_CASE("the backend server answers on the virtual network; kill closes, restart listens",
          "[vnet]") {
  virtual_world w;
  auto [port, backend] = w.spawn_backend();
  auto dialer = w.net->spawn_dialer(w.sys);
  auto first = std::make_shared<seen>();
  // Held: an actor nobody references is gone (CAF ends it as unreachable), and the virtual
  // network refers to its ends' owners by address only.
  auto first_peer = w.sys.spawn(peer, w.net, dialer, port, std::string{"PING 7\n"}, first);
  w.settle();
  CHECK(first->bytes == "PONG 7\n");
  CHECK_FALSE(first->closed);
  // A crashed backend: its connections end with a FIN, and new connects are refused.
  caf::anon_send(backend, kill_atom_v);
  w.settle();
  CHECK(first->closed);
  CHECK_FALSE(first->reset);
  auto refused = std::make_shared<seen>();
  w.sys.spawn(peer, w.net, dialer, port, std::string{"PING 8\n"}, refused);
  w.settle();
  CHECK(refused->dial_error);
  caf::anon_send(backend, restart_atom_v);
  w.settle();
  auto again = std::make_shared<seen>();
  auto again_peer = w.sys.spawn(peer, w.net, dialer, port, std::string{"PING 9\n"}, again);
  w.settle();
  CHECK_FALSE(again->dial_error);
  CHECK(again->bytes == "PONG 9\n");
  for (auto& x : {first_peer, again_peer}) {
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(backend, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
  w.settle();
}

TEST_CASE("virtual bytes arrive in order, and FIN and RST reach the peer as such", "[vnet]") {
  virtual_world w;
  auto bound = w.net->listen("127.0.0.1", 0);
  REQUIRE(bound);
  auto at_server = std::make_shared<seen>();
  auto server = w.sys.spawn(acceptor, w.net, at_server);
  w.net->own_listener(bound->first, server.address(), true);
  for (bool reset : {false, true}) {
    *at_server = seen{};
    auto conn = w.net->connect("127.0.1.5", "127.0.0.1", bound->second);
    REQUIRE(conn);
    auto client = w.sys.spawn(acceptor, w.net, std::make_shared<seen>());
    w.net->adopt(*conn, client.address(), false);
    for (auto part : {"one ", "two ", "three"}) {
      w.net->send(*conn, part, std::char_traits<char>::length(part));
    }
    if (reset) {
      w.net->reset(*conn);
    } else {
      w.net->shutdown_write(*conn);
    }
    w.settle();
    CHECK(at_server->bytes == "one two three");
    CHECK(at_server->closed);
    CHECK(at_server->reset == reset);
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  w.settle();
}

namespace {

/// A reader that records what arrives on a virtual end and when (virtual time).
struct reader_log {
  std::string bytes;
  std::vector<caf::timespan> arrivals;
  bool closed = false;
};

caf::behavior reader(caf::event_based_actor* self, std::shared_ptr<reader_log> out) {
  return {
      [=](const caf::io::new_data_msg& m) {
        out->bytes.append(m.buf.begin(), m.buf.end());
        out->arrivals.push_back(self->clock().now().time_since_epoch());
      },
      [=](const caf::io::connection_closed_msg&) { out->closed = true; },
      [](const caf::io::new_connection_msg&) {},
      [](const caf::io::data_transferred_msg&) {},
  };
}

/// A connection from a reader-owned client end to a reader-owned server end.
struct wired {
  uint64_t client = 0;
  uint64_t server = 0;
  std::shared_ptr<reader_log> at_client = std::make_shared<reader_log>();
  std::shared_ptr<reader_log> at_server = std::make_shared<reader_log>();
  caf::actor client_actor;
  caf::actor server_actor;
};

/// Listens, connects and adopts both ends; the server end is found from the first
/// connection the listener announces.
wired wire_up(virtual_world& w, uint16_t& port) {
  wired out;
  auto bound = w.net->listen("127.0.0.1", 0);
  REQUIRE(bound);
  port = bound->second;
  out.server_actor = w.sys.spawn(reader, out.at_server);
  w.net->own_listener(bound->first, out.server_actor.address(), true);
  auto conn = w.net->connect("", "127.0.0.1", port);
  REQUIRE(conn);
  out.client = *conn;
  // connect() numbers the server end right after the client end.
  out.server = *conn + 1;
  out.client_actor = w.sys.spawn(reader, out.at_client);
  w.net->adopt(out.client, out.client_actor.address(), false);
  w.net->adopt(out.server, out.server_actor.address(), false);
  return out;
}

void stop(virtual_world& w, wired& c) {
  caf::anon_send_exit(c.client_actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(c.server_actor, caf::exit_reason::user_shutdown);
  w.settle();
}

std::string pattern(size_t n) {
  std::string out(n, ' ');
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>('a' + (i * 7 + i / 26) % 26);
  }
  return out;
}

}  // namespace

TEST_CASE("latency and jitter delay each delivery, and a connection stays in order",
          "[vnet][network]") {
  actors::vnet_config ncfg;
  ncfg.latency = 2ms;
  ncfg.jitter = 1ms;
  ncfg.seed = 3;
  virtual_world w{ncfg};
  uint16_t port = 0;
  auto c = wire_up(w, port);
  std::string sent;
  for (int i = 0; i < 50; ++i) {
    auto part = fmt::format("[{}]", i);
    sent += part;
    w.net->send(c.client, part.data(), part.size());
  }
  w.settle();
  CHECK(c.at_server->bytes == sent);
  REQUIRE(!c.at_server->arrivals.empty());
  // Sent at time 0: nothing before the latency, nothing after latency + jitter.
  CHECK(c.at_server->arrivals.front() >= 2ms);
  CHECK(c.at_server->arrivals.back() < 3ms + 1ms);
  stop(w, c);
}

TEST_CASE("bandwidth spaces out the bytes of a link", "[vnet][network]") {
  actors::vnet_config ncfg;
  ncfg.latency = 1ms;
  ncfg.bandwidth = 1'000'000;  // 1 MB/s: 100 KB take 100 ms
  ncfg.window = 1 << 20;
  virtual_world w{ncfg};
  uint16_t port = 0;
  auto c = wire_up(w, port);
  auto data = pattern(100'000);
  w.net->send(c.client, data.data(), data.size());
  w.settle();
  CHECK(c.at_server->bytes == data);
  REQUIRE(!c.at_server->arrivals.empty());
  CHECK(c.at_server->arrivals.back() >= 100ms);
  CHECK(c.at_server->arrivals.back() < 110ms);
  stop(w, c);
}

TEST_CASE("a reader that stops reading fills the window: the writer's bytes wait, none lost",
          "[vnet][backpressure]") {
  actors::vnet_config ncfg;
  ncfg.window = 16 * 1024;
  virtual_world w{ncfg};
  uint16_t port = 0;
  auto c = wire_up(w, port);
  w.net->ack_writes(c.client);
  w.net->set_reading(c.server, false);
  auto data = pattern(100'000);
  w.net->send(c.client, data.data(), data.size());
  w.run_until(1s);
  CHECK(c.at_server->bytes.empty());
  auto held = w.net->buffers();
  CHECK(held.unread == ncfg.window);
  CHECK(held.pending == data.size() - ncfg.window);
  CHECK(w.net->pending(c.client) == data.size() - ncfg.window);
  w.net->set_reading(c.server, true);
  w.settle();
  CHECK(c.at_server->bytes == data);
  CHECK(w.net->buffers().unread == 0);
  CHECK(w.net->buffers().pending == 0);
  stop(w, c);
}

TEST_CASE("a partitioned link drops SYNs (connects time out) and holds bytes until it heals",
          "[vnet][network]") {
  virtual_world w;
  uint16_t port = 0;
  auto c = wire_up(w, port);
  auto key = fmt::format("127.0.0.1:{}", port);
  w.net->partition(key, true);
  auto dialer = w.net->spawn_dialer(w.sys);
  auto out = std::make_shared<seen>();
  auto started = w.now();
  auto p = w.sys.spawn(peer, w.net, dialer, port, std::string{"x"}, out);
  w.net->send(c.client, "during", 6);
  w.run_until(started + 1500ms);
  // peer() dials with a 1 s timeout; the SYN was sent again at 1 s, dropped again.
  REQUIRE(out->dial_error);
  CHECK_THAT(*out->dial_error, Catch::Contains("timed out"));
  CHECK(c.at_server->bytes.empty());
  w.net->send(c.client, " after", 6);
  w.net->partition(key, false);
  w.run_until(w.now() + 10ms);
  CHECK(c.at_server->bytes == "during after");
  auto again = std::make_shared<seen>();
  auto q = w.sys.spawn(peer, w.net, dialer, port, std::string{"y"}, again);
  w.run_until(w.now() + 10ms);
  CHECK_FALSE(again->dial_error);
  for (auto& x : {p, q}) {
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
  caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
  stop(w, c);
}

TEST_CASE("a held link delivers its bytes, FIN included, in order on release", "[vnet][network]") {
  virtual_world w;
  uint16_t port = 0;
  auto c = wire_up(w, port);
  auto key = fmt::format("127.0.0.1:{}", port);
  w.net->send(c.client, "one ", 4);
  w.run_until(1ms);
  CHECK(c.at_server->bytes == "one ");
  w.net->hold(key, true);
  w.net->send(c.client, "two ", 4);
  w.net->send(c.server, "back", 4);
  w.net->send(c.client, "three", 5);
  w.net->shutdown_write(c.client);
  w.run_until(2s);
  CHECK(c.at_server->bytes == "one ");
  CHECK(c.at_client->bytes.empty());
  CHECK_FALSE(c.at_server->closed);
  w.net->hold(key, false);
  w.run_until(w.now() + 1ms);
  CHECK(c.at_server->bytes == "one two three");
  CHECK(c.at_server->closed);
  CHECK(c.at_client->bytes == "back");
  stop(w, c);
}

TEST_CASE("lost SYNs are sent again after 1 s, 2 s, ...: connects are late, and seeded",
          "[vnet][network]") {
  auto connect_times = [](uint64_t seed) {
    actors::vnet_config ncfg;
    ncfg.loss = 0.5;
    ncfg.seed = seed;
    virtual_world w{ncfg};
    auto bound = w.net->listen("127.0.0.1", 0);
    REQUIRE(bound);
    auto sink = w.sys.spawn(acceptor, w.net, std::make_shared<seen>());
    w.net->own_listener(bound->first, sink.address(), true);
    auto dialer = w.net->spawn_dialer(w.sys);
    std::vector<caf::timespan> times;
    std::vector<caf::actor> peers;
    for (int i = 0; i < 20; ++i) {
      auto out = std::make_shared<seen>();
      auto start = w.now();
      peers.push_back(w.sys.spawn(peer, w.net, dialer, bound->second, std::string{"p"}, out));
      w.run_until(start + 5s);
      REQUIRE(out->dialed_at);
      // A lost SYN outlives peer()'s 1 s connect timeout: the dial times out at 1 s.
      auto took = *out->dialed_at - start;
      CHECK((out->dial_error ? took == 1s : took < 1s));
      times.push_back(out->dial_error ? -took : took);
    }
    for (auto& x : peers) {
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
    }
    caf::anon_send_exit(dialer, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    w.settle();
    return times;
  };
  auto first = connect_times(1);
  auto lost = std::count_if(first.begin(), first.end(), [](auto t) { return t.count() < 0; });
  CHECK(lost > 2);
  CHECK(lost < 18);
  CHECK(first == connect_times(1));
  CHECK(first != connect_times(2));
}

namespace {

/// A backend that writes `total` bytes as fast as its window lets it, in `chunk`s, once
/// a connection sent it anything (the balancer's health probes send nothing).
struct gusher_state {
  std::shared_ptr<actors::vnet> net;
  std::string data;
  size_t chunk = 8 * 1024;
  size_t written = 0;
  uint64_t conn = 0;
};

void gush(gusher_state& st) {
  if (st.written >= st.data.size() || st.net->pending(st.conn) > 0) {
    return;
  }
  auto n = std::min(st.chunk, st.data.size() - st.written);
  st.net->send(st.conn, st.data.data() + st.written, n);
  st.written += n;
  if (st.written == st.data.size()) {
    st.net->shutdown_write(st.conn);
  }
}

caf::behavior gusher(caf::stateful_actor<gusher_state>* self, std::shared_ptr<actors::vnet> net,
                     std::string data) {
  self->state.net = net;
  self->state.data = std::move(data);
  return {
      [=](const caf::io::new_connection_msg& m) {
        auto id = static_cast<uint64_t>(m.handle.id());
        net->adopt(id, self->address(), false);
        net->ack_writes(id);
      },
      [=](const caf::io::new_data_msg& m) {
        auto& st = self->state;
        if (st.conn == 0) {
          st.conn = static_cast<uint64_t>(m.handle.id());
          gush(st);
        }
      },
      [=](const caf::io::data_transferred_msg& m) {
        if (m.remaining == 0 && static_cast<uint64_t>(m.handle.id()) == self->state.conn) {
          gush(self->state);
        }
      },
      [=](const caf::io::connection_closed_msg& m) {
        net->close(static_cast<uint64_t>(m.handle.id()));
      },
  };
}

}  // namespace

TEST_CASE(
    "a slow reader behind the balancer: buffered bytes stay bounded by the windows, "
    "none lost",
    "[vnet][backpressure]") {
  actors::vnet_config ncfg;
  ncfg.window = 16 * 1024;
  virtual_world w{ncfg};
  auto data = pattern(1'000'000);
  auto bound = w.net->listen("127.0.0.1", 0);
  REQUIRE(bound);
  auto backend = w.sys.spawn(gusher, w.net, data);
  w.net->own_listener(bound->first, backend.address(), true);
  actors::balancer_config bcfg;
  bcfg.log = false;
  protocols::backend_spec spec;
  spec.id = "s1";
  spec.label = fmt::format("127.0.0.1:{}", bound->second);
  spec.address = "127.0.0.1";
  spec.port = bound->second;
  bcfg.backends.push_back(spec);
  auto lb = actors::spawn_virtual_balancer(w.sys, bcfg, w.net);
  REQUIRE(lb);
  // The client sends its request, then does not read.
  auto conn = w.net->connect("", "127.0.0.1", lb->port);
  REQUIRE(conn);
  auto got = std::make_shared<reader_log>();
  auto client = w.sys.spawn(reader, got);
  w.net->adopt(*conn, client.address(), false);
  w.net->set_reading(*conn, false);
  w.net->send(*conn, "GO\n", 3);
  uint64_t peak = 0;
  for (caf::timespan t = 10ms; t <= 2s; t += 10ms) {
    w.run_until(t);
    auto held = w.net->buffers();
    peak = std::max(peak, held.pending + held.unread);
  }
  CHECK(got->bytes.empty());
  // Two windows (backend->balancer, balancer->client), what the session read last and
  // could not pass on (at most a window), and the backend's last chunk.
  CHECK(peak > 2 * ncfg.window);
  CHECK(peak <= 3 * ncfg.window + 8 * 1024);
  // The reader comes back: everything arrives, in order, and the windows empty.
  w.net->set_reading(*conn, true);
  for (caf::timespan t = 2s; t <= 10s && got->bytes.size() < data.size(); t += 100ms) {
    w.run_until(t);
  }
  CHECK(got->bytes.size() == data.size());
  CHECK(got->bytes == data);
  CHECK(w.net->buffers().unread == 0);
  CHECK(w.net->buffers().pending == 0);
  for (auto x : {caf::actor_cast<caf::actor>(lb->listener), caf::actor_cast<caf::actor>(lb->picker),
                 caf::actor_cast<caf::actor>(lb->health), caf::actor_cast<caf::actor>(lb->dialer),
                 caf::actor_cast<caf::actor>(lb->resolver),
                 caf::actor_cast<caf::actor>(lb->control), backend, client}) {
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
  w.settle();
}

TEST_CASE("arrivals that fell due while the run lagged start at once: the rate is kept",
          "[vnet][spawner]") {
  virtual_world w;
  auto [port, backend] = w.spawn_backend();
  auto dialer = w.net->spawn_dialer(w.sys);
  actors::spawner_config ccfg;
  ccfg.address = "127.0.0.1";
  ccfg.port = port;
  ccfg.rate = 100;  // uniform: one every 10 ms
  ccfg.mix = *actors::parse_mix("idle=1");
  ccfg.log = false;
  ccfg.dialer = dialer;
  std::weak_ptr<actors::vnet> weak = w.net;
  ccfg.io = [weak]() -> std::unique_ptr<actors::broker_io> { return weak.lock()->make_io(); };
  auto spawner = actors::spawn_spawner(w.sys, ccfg);
  w.run_until(25ms);  // arrivals at 0, 10 and 20 ms
  auto started = [&] {
    auto st = std::make_shared<protocols::client_stats>();
    // The spawner and the result go in as arguments: CAF 0.17.6 binds a reference to a null
    // tuple when a function actor takes none (UBSan reports it).
    w.sys.spawn(
        [](caf::event_based_actor* self, actors::spawner_actor sp,
           std::shared_ptr<protocols::client_stats> out) {
          self->request(sp, caf::infinite, caf::get_atom_v, stats_atom_v)
              .then([out](const protocols::client_stats& x) { *out = x; });
        },
        spawner, st);
    w.settle_now();
    return st->rows.at(static_cast<size_t>(protocols::client_kind::idle)).started;
  };
  CHECK(started() == 3);
  // The run lags: 400 ms pass before the arrival due at 30 ms is handled. Everything due by
  // then starts with it, as a loaded loop's would: 30, 40, ..., 420 ms, 40 clients.
  w.sched.clock().advance_time(400ms);
  w.settle_now();
  CHECK(started() == 43);
  for (auto& x : {caf::actor_cast<caf::actor>(spawner), caf::actor_cast<caf::actor>(backend),
                  caf::actor_cast<caf::actor>(dialer)}) {
    caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }
  w.settle();
}
