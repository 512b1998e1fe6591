#include "actors/clients/client_behaviors.hpp"

#include <chrono>

#include <catch2/catch.hpp>

#include "actors/clients/arrivals.hpp"
#include "actors/clients/client_stats.hpp"

using namespace l4sim;
using namespace std::chrono_literals;
using actors::client_step;
using protocols::client_end;
using protocols::client_kind;
using protocols::reply;
using protocols::reply_kind;

namespace {

reply ack() {
  return reply{reply_kind::ack, {}};
}

}  // namespace

TEST_CASE("real sends numbered REQ lines, thinks between ACKs and completes", "[behaviors]") {
  auto p = actors::default_profile(client_kind::real);
  p.min_requests = 3;
  p.max_requests = 3;
  p.min_think = 10ms;
  p.max_think = 20ms;
  auto b = actors::make_client_behavior(p, 7, 1);
  auto s = b->on_connected();
  CHECK(s.send == "REQ 1\n");
  CHECK(s.reply_due);
  for (int i = 2; i <= 3; ++i) {
    s = b->on_reply(ack());
    CHECK(s.send.empty());
    REQUIRE(s.wake_after);
    CHECK(*s.wake_after >= 10ms);
    CHECK(*s.wake_after <= 20ms);
    s = b->on_wake();
    CHECK(s.send == "REQ " + std::to_string(i) + "\n");
  }
  s = b->on_reply(ack());
  CHECK(s.end == client_end::completed);
  CHECK_FALSE(b->runs_until_stopped());
}

TEST_CASE("real draws its request count from its seed within the profile", "[behaviors]") {
  auto p = actors::default_profile(client_kind::real);
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    auto count = [&] {
      auto b = actors::make_client_behavior(p, 1, seed);
      int n = 1;
      b->on_connected();
      // Bounded by the profile's maximum of 9 requests.
      for (; n < 20; ++n) {
        if (b->on_reply(ack()).end) {
          break;
        }
        b->on_wake();
      }
      return n;
    };
    auto n = count();
    CHECK(n >= 1);
    CHECK(n <= 9);
    CHECK(count() == n);
  }
}

TEST_CASE("fire_and_forget sends one PING and ends at once", "[behaviors]") {
  auto b =
      actors::make_client_behavior(actors::default_profile(client_kind::fire_and_forget), 42, 1);
  auto s = b->on_connected();
  CHECK(s.send == "PING 42\n");
  CHECK_FALSE(s.reply_due);
  CHECK(s.end == client_end::completed);
}

TEST_CASE("stream sends a numbered line every interval and never ends itself", "[behaviors]") {
  auto p = actors::default_profile(client_kind::stream);
  CHECK(p.stream_interval == 200ms);
  auto b = actors::make_client_behavior(p, 3, 1);
  auto s = b->on_connected();
  CHECK(s.send == "STREAM 3 seq=1\n");
  CHECK(s.wake_after == caf::timespan{200ms});
  CHECK(b->on_reply(reply{reply_kind::stream_ack, {}}).send.empty());
  CHECK(b->on_wake().send == "STREAM 3 seq=2\n");
  CHECK(b->runs_until_stopped());
}

TEST_CASE("idle sends nothing and runs until stopped", "[behaviors]") {
  auto b = actors::make_client_behavior(actors::default_profile(client_kind::idle), 1, 1);
  auto s = b->on_connected();
  CHECK(s.send.empty());
  CHECK_FALSE(s.wake_after);
  CHECK_FALSE(s.end);
  CHECK(b->runs_until_stopped());
}

TEST_CASE("slow sends its line one byte per step, then waits for ACK", "[behaviors]") {
  auto p = actors::default_profile(client_kind::slow);
  auto b = actors::make_client_behavior(p, 9, 4);
  std::string sent;
  auto s = b->on_connected();
  // "SLOW 9\n" is 7 bytes; bounded loop.
  for (int i = 0; i < 10; ++i) {
    REQUIRE(s.send.size() == 1);
    sent += s.send;
    if (s.reply_due) {
      break;
    }
    REQUIRE(s.wake_after);
    CHECK(*s.wake_after >= 100ms);
    CHECK(*s.wake_after <= 400ms);
    s = b->on_wake();
  }
  CHECK(sent == "SLOW 9\n");
  CHECK_FALSE(s.wake_after);
  CHECK(b->on_reply(ack()).end == client_end::completed);
}

TEST_CASE("a verb override replaces the kind's verb", "[behaviors]") {
  auto p = actors::default_profile(client_kind::real);
  p.verb = "HELLO";
  CHECK(actors::make_client_behavior(p, 1, 1)->on_connected().send == "HELLO 1\n");
}

TEST_CASE("a close counts as reset on RST or with a reply due", "[behaviors]") {
  CHECK(actors::classify_close(true, false) == client_end::reset);
  CHECK(actors::classify_close(false, true) == client_end::reset);
  CHECK(actors::classify_close(false, false) == client_end::closed_by_peer);
}

TEST_CASE("percentiles use the nearest rank", "[client-stats]") {
  std::vector<caf::timespan> v;
  for (int i = 100; i >= 1; --i) {
    v.push_back(caf::timespan{std::chrono::milliseconds{i}});
  }
  CHECK(actors::percentile(v, 50) == caf::timespan{50ms});
  CHECK(actors::percentile(v, 90) == caf::timespan{90ms});
  CHECK(actors::percentile(v, 99) == caf::timespan{99ms});
  CHECK(actors::percentile(v, 100) == caf::timespan{100ms});
  std::vector<caf::timespan> empty;
  CHECK(actors::percentile(empty, 50) == caf::timespan{0});
}

TEST_CASE("the tally aggregates outcomes per kind", "[client-stats]") {
  actors::client_tally t;
  t.started(client_kind::real);
  t.started(client_kind::real);
  t.started(client_kind::idle);
  protocols::client_finished a;
  a.kind = client_kind::real;
  a.end = client_end::completed;
  a.connected = true;
  a.latencies = {10ms, 30ms};
  a.bytes_out = 12;
  a.bytes_in = 8;
  t.finished(a);
  protocols::client_finished b;
  b.kind = client_kind::real;
  b.end = client_end::refused;
  t.finished(b);
  auto rows = t.rows();
  REQUIRE(rows.size() == protocols::client_kind_count);
  auto& real = rows[0];
  CHECK(real.started == 2);
  CHECK(real.active == 0);
  CHECK(real.ended(client_end::completed) == 1);
  CHECK(real.ended(client_end::refused) == 1);
  CHECK(real.requests == 2);
  CHECK(real.p50 == caf::timespan{10ms});
  CHECK(real.max == caf::timespan{30ms});
  CHECK(real.bytes_out == 12);
  CHECK(rows[static_cast<std::size_t>(client_kind::idle)].active == 1);
  CHECK(t.active() == 1);
  protocols::client_stats st;
  st.rows = rows;
  st.mix = actors::default_mix();
  auto table = actors::format_client_table(st);
  CHECK_THAT(table, Catch::Contains("real") && Catch::Contains("total"));
  CHECK_THAT(actors::format_client_summary("clients", st),
             Catch::Contains("started=3") && Catch::Contains("refused=1"));
}
