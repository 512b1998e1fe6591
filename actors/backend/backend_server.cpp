#include "actors/backend/backend_server.hpp"
#include "actors/backend/reply_order.hpp"

#include <chrono>
#include <deque>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>

#include "actors/io/broker_base.hpp"
#include "actors/io/broker_io.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "protocols/line/line_codec.hpp"
#include "protocols/line/line_framer.hpp"
#include "protocols/proxy_protocol.hpp"
#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

using caf::io::connection_handle;
// Time comes from the actor clock (virtual under CAF's test_coordinator), never the wall clock.
using clock_type = caf::actor_clock;
using protocols::command_kind;

/// What the backend keeps per accepted connection.
struct connection {
  uint64_t serial = 0;  // distinguishes a reused fd (and so handle) from its predecessor
  std::string peer;
  protocols::line_framer framer;
  clock_type::time_point last_activity;
  reply_order replies;
  std::optional<protocols::proxy_parser> proxy;  // until the PROXY header is read
};

class backend_server : public broker_base {
 public:
  backend_server(caf::actor_config& acfg, backend_config cfg, std::shared_ptr<broker_io> io)
      : broker_base(acfg), cfg_(std::move(cfg)), io_(std::move(io)), rng_(cfg_.seed) {
    stats_.id = cfg_.id;
    stats_.port = cfg_.port;
  }

  caf::behavior make_behavior() override {
    io_->attach(this);
    doorman_ = io_->start_listening();
    stats_.listening = true;
    schedule_sweep();
    schedule_stats_log();
    log("listening on {}:{}", cfg_.host, cfg_.port);
    return {
        [this](const caf::io::new_connection_msg& msg) { on_accept(msg.handle); },
        [this](const caf::io::new_data_msg& msg) { on_data(msg); },
        [this](const caf::io::connection_closed_msg& msg) { conns_.erase(msg.handle); },
        [this](const caf::io::acceptor_closed_msg&) { stats_.listening = false; },
        [this](reply_atom, connection_handle hdl, uint64_t serial, uint64_t seq) {
          deliver(hdl, serial, seq);
        },
        [this](sweep_atom, uint64_t generation) {
          if (generation == sweep_generation_) {
            sweep_idle();
            schedule_sweep();
          }
        },
        [this](caf::tick_atom, uint64_t generation) {
          if (generation == stats_generation_) {
            log_line(format_backend_stats(snapshot()));
            schedule_stats_log();
          }
        },
        [this](caf::put_atom, delay_atom, protocols::duration_value setting) {
          auto value = setting.value;
          cfg_.delay = value;
          log("delay set to {}", protocols::format_duration(value));
        },
        [this](caf::put_atom, max_conns_atom, uint32_t value) {
          cfg_.max_conns = value;
          log("max_conns set to {}", value);
        },
        [this](caf::put_atom, chaos_atom, uint32_t value) {
          cfg_.chaos_pct = std::min<uint32_t>(value, 100);
          log("chaos set to {}%", cfg_.chaos_pct);
        },
        [this](caf::put_atom, hang_atom, protocols::duration_value setting) {
          auto value = setting.value;
          cfg_.hang = value;
          log("hang set to {}", protocols::format_duration(value));
        },
        [this](caf::put_atom, caf::timeout_atom, protocols::duration_value setting) {
          auto value = setting.value;
          cfg_.idle_timeout = value;
          schedule_sweep();
          log("idle timeout set to {}", protocols::format_duration(value));
        },
        [this](caf::put_atom, proxy_atom, bool on) {
          // Read at each accept: connections open now keep what they started with.
          cfg_.accept_proxy = on;
          log("accept_proxy set to {}", on ? "on" : "off");
        },
        [this](kill_atom) { kill(); },
        [this](restart_atom) -> caf::result<uint16_t> { return restart(); },
        [this](caf::get_atom, stats_atom) { return snapshot(); },
    };
  }

 private:
  template <class... Ts>
  void log(fmt::format_string<Ts...> text, Ts&&... xs) {
    if (cfg_.log) {
      log_line(fmt::format("[{}] {}", cfg_.id, fmt::format(text, std::forward<Ts>(xs)...)));
    }
  }

  protocols::backend_stats snapshot() {
    auto result = stats_;
    result.active = conns_.size();
    result.client_addresses.assign(clients_.begin(), clients_.end());
    return result;
  }

  void on_accept(connection_handle hdl) {
    auto peer = io_->peer(hdl);
    if (cfg_.max_conns > 0 && conns_.size() >= cfg_.max_conns) {
      ++stats_.refused;
      log("at capacity ({}/{}) — dropping {}", conns_.size(), cfg_.max_conns, peer);
      io_->close(hdl);
      return;
    }
    if (cfg_.chaos_pct > 0 &&
        std::uniform_int_distribution<uint32_t>{0, 99}(rng_) < cfg_.chaos_pct) {
      ++stats_.chaos_dropped;
      io_->close(hdl);
      return;
    }
    ++stats_.total;
    auto& c = conns_[hdl];
    c.serial = ++next_serial_;
    c.peer = std::move(peer);
    c.last_activity = clock().now();
    if (cfg_.accept_proxy) {
      c.proxy.emplace();
    }
    io_->start_reading(hdl, 4096);
  }

  void on_data(const caf::io::new_data_msg& msg) {
    auto i = conns_.find(msg.handle);
    if (i == conns_.end()) {
      return;
    }
    auto& c = i->second;
    stats_.bytes_in += msg.buf.size();
    c.last_activity = clock().now();
    std::string_view bytes{msg.buf.data(), msg.buf.size()};
    if (c.proxy && !read_proxy_header(msg.handle, c, bytes)) {
      return;
    }
    c.framer.feed(bytes);
    for (;;) {
      auto fr = c.framer.next();
      if (fr.status == protocols::frame_status::need_more) {
        return;
      }
      if (fr.status == protocols::frame_status::too_long) {
        ++stats_.errors;
        send_now(msg.handle, protocols::too_long_reply(protocols::line_framer::default_max_line));
        io_->close(msg.handle);
        conns_.erase(i);
        return;
      }
      on_line(msg.handle, c, fr.line);
    }
  }

  /// Feeds the PROXY header parser; returns whether `bytes` (now the rest after the
  /// header) are payload to frame. A bad header closes the connection and is counted.
  bool read_proxy_header(connection_handle hdl, connection& c, std::string_view& bytes) {
    size_t used = 0;
    auto status = c.proxy->feed(bytes, used);
    if (status == protocols::proxy_parser::status::need_more) {
      return false;
    }
    if (status == protocols::proxy_parser::status::invalid) {
      ++stats_.proxy_errors;
      log("bad PROXY header from {}: {} — closing", c.peer, c.proxy->error());
      io_->close(hdl);
      conns_.erase(hdl);
      return false;
    }
    auto& info = c.proxy->info();
    if (info.proxied) {
      auto client = info.ipv6 ? fmt::format("[{}]:{}", info.src_address, info.src_port)
                              : fmt::format("{}:{}", info.src_address, info.src_port);
      c.peer = std::move(client);
      if (clients_.size() < protocols::max_client_addresses) {
        clients_.insert(info.src_address);
      }
    }
    c.proxy.reset();
    bytes.remove_prefix(used);
    return true;
  }

  void on_line(connection_handle hdl, connection& c, const std::string& line) {
    auto cmd = protocols::parse_command(line);
    switch (cmd.kind) {
      case command_kind::req:
        ++stats_.requests;
        break;
      case command_kind::ping:
        ++stats_.pings;
        break;
      case command_kind::slow:
        ++stats_.slow_lines;
        break;
      case command_kind::stream:
        ++stats_.stream_lines;
        break;
      case command_kind::unknown:
        ++stats_.errors;
        break;
    }
    auto d = c.replies.on_request(cmd.kind, protocols::reply_for(cmd, line), cfg_.delay, cfg_.hang);
    for (auto& text : d.send_now) {
      send_now(hdl, text);
    }
    if (d.hold_seq) {
      send_later(this, d.hold, reply_atom_v, hdl, c.serial, *d.hold_seq);
    }
  }

  void deliver(connection_handle hdl, uint64_t serial, uint64_t seq) {
    auto i = conns_.find(hdl);
    if (i == conns_.end() || i->second.serial != serial) {
      return;
    }
    for (auto& text : i->second.replies.on_due(seq)) {
      send_now(hdl, text);
    }
  }

  void send_now(connection_handle hdl, const std::string& text) {
    io_->send(hdl, text.data(), text.size());
    stats_.bytes_out += text.size();
  }

  void schedule_sweep() {
    ++sweep_generation_;
    if (cfg_.idle_timeout.count() <= 0) {
      return;
    }
    // Sweep at a tenth of the timeout: one timer for all connections, 10% precision.
    auto tick = std::clamp<caf::timespan>(cfg_.idle_timeout / 10, std::chrono::milliseconds{5},
                                          std::chrono::seconds{1});
    send_later(this, tick, sweep_atom_v, sweep_generation_);
  }

  void sweep_idle() {
    auto deadline = clock().now() - cfg_.idle_timeout;
    for (auto i = conns_.begin(); i != conns_.end();) {
      if (i->second.last_activity <= deadline) {
        ++stats_.idle_closed;
        log("idle timeout — closing {}", i->second.peer);
        io_->close(i->first);
        i = conns_.erase(i);
      } else {
        ++i;
      }
    }
  }

  void schedule_stats_log() {
    ++stats_generation_;
    if (cfg_.stats_interval.count() > 0) {
      send_later(this, cfg_.stats_interval, caf::tick_atom_v, stats_generation_);
    }
  }

  void kill() {
    if (!stats_.listening) {
      return;
    }
    io_->close(doorman_);
    stats_.listening = false;
    auto dropped = conns_.size();
    // Shut the sockets down instead of a graceful close: a crashed process does not
    // finish writing its replies.
    for (auto& kv : conns_) {
      io_->abort(kv.first);
    }
    conns_.clear();
    log("killed: stopped listening, dropped {} connections", dropped);
  }

  caf::result<uint16_t> restart() {
    if (stats_.listening) {
      return cfg_.port;
    }
    auto doorman = io_->listen_again(cfg_.host, cfg_.port);
    if (!doorman) {
      log("restart failed: {}", describe(doorman.error()));
      return doorman.error();
    }
    doorman_ = *doorman;
    stats_.listening = true;
    log("restarted: listening on {}:{}", cfg_.host, cfg_.port);
    return cfg_.port;
  }

  backend_config cfg_;
  std::shared_ptr<broker_io> io_;
  std::mt19937_64 rng_;
  caf::io::accept_handle doorman_;
  std::unordered_map<connection_handle, connection> conns_;
  protocols::backend_stats stats_;
  std::set<std::string> clients_;  // client addresses named by PROXY headers
  uint64_t next_serial_ = 0;
  uint64_t sweep_generation_ = 0;
  uint64_t stats_generation_ = 0;
};

}  // namespace

caf::expected<backend_handle> spawn_backend(caf::actor_system& sys, backend_config cfg) {
  // Resolve a host name here, outside the I/O loop: `restart` binds again inside the broker,
  // where a blocking getaddrinfo must not run.
  auto address = resolve_host(cfg.host);
  if (!address) {
    return address.error();
  }
  cfg.host = *address;
  auto fd = open_listener(cfg.host, cfg.port);
  if (!fd) {
    return fd.error();
  }
  cfg.port = local_port_of(*fd);
  auto port = cfg.port;
  caf::actor_config acfg{&sys.middleman().backend()};
  std::shared_ptr<broker_io> io = make_live_io(*fd);
  auto hdl = sys.spawn_class<backend_server, caf::no_spawn_options>(acfg, std::move(cfg), io);
  return backend_handle{caf::actor_cast<backend_actor>(hdl), port};
}

backend_actor spawn_backend_on(caf::actor_system& sys, backend_config cfg,
                               std::shared_ptr<broker_io> io) {
  caf::actor_config acfg{&sys.middleman().backend()};
  auto hdl =
      sys.spawn_class<backend_server, caf::no_spawn_options>(acfg, std::move(cfg), std::move(io));
  return caf::actor_cast<backend_actor>(hdl);
}

std::string format_backend_stats(const protocols::backend_stats& st) {
  auto proxy =
      st.proxy_errors == 0 && st.client_addresses.empty()
          ? std::string{}
          : fmt::format(" clients={} proxy_err={}", st.client_addresses.size(), st.proxy_errors);
  return fmt::format(
             "[{}] {} active={} total={} refused={} chaos={} idle_closed={} req={} ping={} "
             "stream={} "
             "slow={} err={} in={} out={}",
             st.id, st.listening ? "up" : "down", st.active, st.total, st.refused, st.chaos_dropped,
             st.idle_closed, st.requests, st.pings, st.stream_lines, st.slow_lines, st.errors,
             protocols::format_bytes(st.bytes_in), protocols::format_bytes(st.bytes_out)) +
         proxy;
}

}  // namespace l4sim::actors
