#include "actors/clients/client_behaviors.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace l4sim::actors {

namespace {

using namespace std::chrono_literals;
using protocols::client_end;
using protocols::client_kind;
using protocols::client_profile;
using protocols::reply;
using protocols::reply_kind;

/// Draws a duration in [lo, hi] (swapped if given the wrong way round).
caf::timespan draw_between(std::mt19937_64& rng, caf::timespan lo, caf::timespan hi) {
  if (hi < lo) {
    std::swap(lo, hi);
  }
  std::uniform_int_distribution<int64_t> dist{lo.count(), hi.count()};
  return caf::timespan{dist(rng)};
}

/// Returns the profile's verb override or the kind's own verb.
std::string verb_of(const client_profile& p, const char* fallback) {
  return p.verb.empty() ? std::string{fallback} : p.verb;
}

client_step ended(client_end how) {
  client_step s;
  s.end = how;
  return s;
}

/// `real`: `REQ i`, wait for ACK, think, repeat 1..N times, then close.
class real_behavior : public client_behavior {
 public:
  real_behavior(const client_profile& p, uint64_t seed) : p_(p), rng_(seed) {
    auto lo = std::min(p.min_requests, p.max_requests);
    auto hi = std::max(p.min_requests, p.max_requests);
    total_ = std::uniform_int_distribution<uint32_t>{lo, hi}(rng_);
  }

  client_step on_connected() override { return total_ == 0 ? ended(client_end::completed) : ask(); }

  client_step on_wake() override { return ask(); }

  client_step on_reply(const reply& r) override {
    if (r.kind != reply_kind::ack) {
      return ended(client_end::bad_reply);
    }
    if (sent_ >= total_) {
      return ended(client_end::completed);
    }
    client_step s;
    s.wake_after = draw_between(rng_, p_.min_think, p_.max_think);
    return s;
  }

  bool runs_until_stopped() const override { return false; }

 private:
  client_step ask() {
    client_step s;
    s.send = fmt::format("{} {}\n", verb_of(p_, "REQ"), ++sent_);
    s.reply_due = true;
    return s;
  }

  client_profile p_;
  std::mt19937_64 rng_;
  uint32_t total_ = 0;
  uint32_t sent_ = 0;
};

/// `fire_and_forget`: one `PING id`, then close at once without reading.
class fire_and_forget_behavior : public client_behavior {
 public:
  fire_and_forget_behavior(const client_profile& p, uint64_t id) : p_(p), id_(id) {}

  client_step on_connected() override {
    client_step s;
    s.send = fmt::format("{} {}\n", verb_of(p_, "PING"), id_);
    s.end = client_end::completed;
    return s;
  }

  client_step on_wake() override { return {}; }

  client_step on_reply(const reply&) override { return {}; }

  bool runs_until_stopped() const override { return false; }

 private:
  client_profile p_;
  uint64_t id_;
};

/// `stream`: `STREAM id seq=n` every interval until the run ends; acks are counted, not
/// waited for.
class stream_behavior : public client_behavior {
 public:
  stream_behavior(const client_profile& p, uint64_t id) : p_(p), id_(id) {}

  client_step on_connected() override { return next_line(); }

  client_step on_wake() override { return next_line(); }

  client_step on_reply(const reply& r) override {
    return r.kind == reply_kind::stream_ack ? client_step{} : ended(client_end::bad_reply);
  }

  bool runs_until_stopped() const override { return true; }

 private:
  client_step next_line() {
    client_step s;
    s.send = fmt::format("{} {} seq={}\n", verb_of(p_, "STREAM"), id_, ++seq_);
    s.reply_due = true;
    s.wake_after = std::max<caf::timespan>(p_.stream_interval, 1ms);
    return s;
  }

  client_profile p_;
  uint64_t id_;
  uint64_t seq_ = 0;
};

/// `idle`: connects and sends nothing until the run ends or the peer closes.
class idle_behavior : public client_behavior {
 public:
  client_step on_connected() override { return {}; }

  client_step on_wake() override { return {}; }

  client_step on_reply(const reply&) override { return ended(client_end::bad_reply); }

  bool runs_until_stopped() const override { return true; }
};

/// `slow`: `SLOW id\n` one byte per write with a gap between bytes, then waits for ACK.
class slow_behavior : public client_behavior {
 public:
  slow_behavior(const client_profile& p, uint64_t id, uint64_t seed)
      : p_(p), line_(fmt::format("{} {}\n", verb_of(p, "SLOW"), id)), rng_(seed) {}

  client_step on_connected() override { return next_byte(); }

  client_step on_wake() override { return next_byte(); }

  client_step on_reply(const reply& r) override {
    return ended(r.kind == reply_kind::ack ? client_end::completed : client_end::bad_reply);
  }

  bool runs_until_stopped() const override { return false; }

 private:
  client_step next_byte() {
    client_step s;
    if (pos_ >= line_.size()) {
      return s;
    }
    s.send = line_.substr(pos_++, 1);
    if (pos_ == line_.size()) {
      s.reply_due = true;
    } else {
      s.wake_after = draw_between(rng_, p_.min_byte_gap, p_.max_byte_gap);
    }
    return s;
  }

  client_profile p_;
  std::string line_;
  std::size_t pos_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace

client_profile default_profile(client_kind kind) {
  client_profile p;
  p.kind = kind;
  return p;
}

std::unique_ptr<client_behavior> make_client_behavior(const client_profile& profile, uint64_t id,
                                                      uint64_t seed) {
  switch (profile.kind) {
    case client_kind::real:
      return std::make_unique<real_behavior>(profile, seed);
    case client_kind::fire_and_forget:
      return std::make_unique<fire_and_forget_behavior>(profile, id);
    case client_kind::stream:
      return std::make_unique<stream_behavior>(profile, id);
    case client_kind::idle:
      return std::make_unique<idle_behavior>();
    case client_kind::slow:
      return std::make_unique<slow_behavior>(profile, id, seed);
  }
  return std::make_unique<idle_behavior>();
}

client_end classify_close(bool rst_seen, bool reply_due) {
  return rst_seen || reply_due ? client_end::reset : client_end::closed_by_peer;
}

}  // namespace l4sim::actors
