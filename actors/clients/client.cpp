#include "actors/clients/client.hpp"

#include <chrono>
#include <deque>
#include <optional>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>

#include "actors/clients/client_behaviors.hpp"
#include "actors/io/broker_base.hpp"
#include "actors/io/broker_io.hpp"
#include "actors/io/system.hpp"
#include "protocols/errors.hpp"
#include "protocols/line/line_framer.hpp"
#include "protocols/units.hpp"

namespace l4sim::actors {

namespace {

using caf::io::connection_handle;
// Time comes from the actor clock (virtual under CAF's test_coordinator), never the wall clock.
using clock_type = caf::actor_clock;
using protocols::client_end;
using protocols::l4_errc;

/// Maps a dialer error to how the client ended.
client_end dial_failure(const caf::error& err) {
  if (err == l4_errc::upstream_timeout || err == caf::sec::request_timeout) {
    return client_end::timed_out;
  }
  return client_end::refused;
}

class client_broker : public broker_base {
 public:
  client_broker(caf::actor_config& acfg, client_config cfg)
      : broker_base(acfg),
        io_(cfg.io ? cfg.io() : make_live_io()),
        cfg_(std::move(cfg)),
        behavior_(make_client_behavior(cfg_.profile, cfg_.id, cfg_.seed)) {
    out_.id = cfg_.id;
    out_.kind = cfg_.profile.kind;
  }

  caf::behavior make_behavior() override {
    io_->attach(this);
    dial();
    return {
        [this](const caf::io::new_data_msg& msg) { on_data(msg); },
        [this](const caf::io::connection_closed_msg& msg) { on_closed(msg.handle); },
        [this](const caf::io::data_transferred_msg& msg) {
          if (end_after_write_ && msg.remaining == 0) {
            end(*end_after_write_, "");
          }
        },
        [this](caf::tick_atom, uint64_t generation) {
          if (generation == wake_generation_ && !ended_) {
            apply(behavior_->on_wake());
          }
        },
        [this](caf::timeout_atom, uint64_t generation) {
          if (generation == reply_generation_ && !due_.empty()) {
            end(client_end::timed_out,
                fmt::format("no reply within {}",
                            protocols::format_duration(cfg_.profile.reply_timeout)));
          }
        },
        [this](finish_atom) {
          bool done = connected_ && behavior_->runs_until_stopped();
          end(done ? client_end::completed : client_end::stopped, "run ended");
        },
    };
  }

 private:
  void dial() {
    started_ = clock().now();
    if (!cfg_.dialer) {
      end(client_end::refused, "no dialer");
      return;
    }
    // The dialer enforces the connect timeout; the request's own timeout only guards
    // against a dialer that went away.
    auto on_dialed_ok = [this](dialed_socket s) {
      dialing_ = false;
      on_dialed(s);
    };
    auto on_dial_error = [this](const caf::error& err) {
      dialing_ = false;
      if (ended_) {
        quit();
        return;
      }
      end(dial_failure(err), describe(err));
    };
    auto deadline = cfg_.connect_timeout + std::chrono::seconds{5};
    if (cfg_.source.empty()) {
      request(cfg_.dialer, deadline, caf::connect_atom_v, cfg_.address, cfg_.port,
              cfg_.connect_timeout)
          .then(on_dialed_ok, on_dial_error);
    } else {
      request(cfg_.dialer, deadline, caf::connect_atom_v, cfg_.address, cfg_.port,
              cfg_.connect_timeout, cfg_.source)
          .then(on_dialed_ok, on_dial_error);
    }
    dialing_ = true;
  }

  void on_dialed(dialed_socket& s) {
    if (ended_) {
      // Stopped while dialing: the socket closes with `s`; now the client can go.
      quit();
      return;
    }
    auto hdl = io_->adopt(s);
    if (!hdl) {
      end(client_end::refused, "dialer returned no socket");
      return;
    }
    hdl_ = *hdl;
    connected_ = true;
    out_.connected = true;
    out_.connect_time = clock().now() - started_;
    io_->start_reading(hdl_, 4096);
    apply(behavior_->on_connected());
  }

  void apply(const client_step& step) {
    if (step.end && !step.send.empty()) {
      // Closing in the same handler as the write leaks CAF 0.17's scribe (ASan shows it):
      // close once the bytes are out instead.
      end_after_write_ = step.end;
      io_->ack_writes(hdl_);
    }
    if (!step.send.empty()) {
      io_->send(hdl_, step.send.data(), step.send.size());
      out_.bytes_out += step.send.size();
      if (step.reply_due) {
        due_.push_back(clock().now());
        if (due_.size() == 1) {
          arm_reply_timer();
        }
      }
    }
    if (step.end && !end_after_write_) {
      end(*step.end, "");
      return;
    }
    if (step.wake_after) {
      send_later(this, *step.wake_after, caf::tick_atom_v, ++wake_generation_);
    }
  }

  void arm_reply_timer() {
    send_later(this, cfg_.profile.reply_timeout, caf::timeout_atom_v, ++reply_generation_);
  }

  void on_data(const caf::io::new_data_msg& msg) {
    out_.bytes_in += msg.buf.size();
    framer_.feed(std::string_view{msg.buf.data(), msg.buf.size()});
    while (!ended_) {
      auto fr = framer_.next();
      if (fr.status == protocols::frame_status::need_more) {
        return;
      }
      if (fr.status == protocols::frame_status::too_long) {
        end(client_end::bad_reply, "reply line too long");
        return;
      }
      on_line(fr.line);
    }
  }

  void on_line(const std::string& line) {
    if (!due_.empty()) {
      out_.latencies.push_back(clock().now() - due_.front());
      due_.pop_front();
      ++reply_generation_;
      if (!due_.empty()) {
        arm_reply_timer();
      }
    }
    auto r = protocols::parse_reply(line);
    if (r.kind == protocols::reply_kind::err) {
      end(client_end::err_received, r.arg);
    } else if (r.kind == protocols::reply_kind::unknown) {
      end(client_end::bad_reply, protocols::escape_line(line));
    } else {
      apply(behavior_->on_reply(r));
    }
  }

  void on_closed(connection_handle hdl) {
    if (hdl != hdl_ || ended_) {
      return;
    }
    connected_ = false;
    bool rst = io_->was_reset(hdl);
    auto how = classify_close(rst, !due_.empty());
    end(how, rst            ? "connection reset"
             : due_.empty() ? "peer closed"
                            : "peer closed with a reply due");
  }

  void end(client_end how, std::string detail) {
    if (ended_) {
      return;
    }
    ended_ = true;
    out_.end = how;
    out_.detail = std::move(detail);
    if (connected_) {
      // A graceful close: pending bytes (fire_and_forget's PING) still go out first.
      io_->close(hdl_);
      connected_ = false;
    }
    if (cfg_.reporter) {
      send(cfg_.reporter, std::move(out_));
    }
    // Timers still in flight keep this object alive for a while; hold no one else.
    cfg_.reporter = nullptr;
    cfg_.dialer = nullptr;
    // A broker that quits with its dial request unanswered is never freed in CAF 0.17
    // (ASan shows the leak): wait for the dialer's answer, bounded by its timeout.
    if (!dialing_) {
      quit();
    }
  }

  std::unique_ptr<broker_io> io_;
  client_config cfg_;
  std::unique_ptr<client_behavior> behavior_;
  protocols::client_finished out_;
  protocols::line_framer framer_;
  connection_handle hdl_;
  clock_type::time_point started_;
  std::deque<clock_type::time_point> due_;  // send times of unanswered requests
  uint64_t wake_generation_ = 0;
  uint64_t reply_generation_ = 0;
  std::optional<client_end> end_after_write_;  // end once the pending bytes are written
  bool dialing_ = false;
  bool connected_ = false;
  bool ended_ = false;
};

}  // namespace

client_actor spawn_client(caf::actor_system& sys, client_config cfg) {
  caf::actor_config acfg{&sys.middleman().backend()};
  auto hdl = sys.spawn_class<client_broker, caf::no_spawn_options>(acfg, std::move(cfg));
  return caf::actor_cast<client_actor>(hdl);
}

}  // namespace l4sim::actors
