#include <catch2/catch.hpp>

#include "actors/backend/reply_order.hpp"

using l4sim::actors::reply_order;
using l4sim::protocols::command_kind;
using namespace std::chrono_literals;

TEST_CASE("reply order sends at once without delay", "[reply-order]") {
  reply_order r;
  auto d = r.on_request(command_kind::req, "ACK", 0ms, 0ms);
  CHECK(d.send_now == std::vector<std::string>{"ACK"});
  CHECK_FALSE(d.hold_seq);
}

TEST_CASE("reply order holds every reply for the delay and keeps request order", "[reply-order]") {
  reply_order r;
  auto a = r.on_request(command_kind::req, "A", 150ms, 0ms);
  auto b = r.on_request(command_kind::ping, "B", 150ms, 0ms);
  REQUIRE(a.hold_seq);
  REQUIRE(b.hold_seq);
  CHECK(a.hold == 150ms);
  CHECK(a.send_now.empty());
  // B's timer fires first (a smaller delay was set in between, say): it still waits for A.
  CHECK(r.on_due(*b.hold_seq).empty());
  CHECK(r.on_due(*a.hold_seq) == std::vector<std::string>{"A", "B"});
  CHECK(r.waiting() == 0);
}

TEST_CASE("reply order adds the hang to the first reply only", "[reply-order]") {
  reply_order r;
  auto first = r.on_request(command_kind::req, "A", 10ms, 500ms);
  auto second = r.on_request(command_kind::req, "B", 10ms, 500ms);
  CHECK(first.hold == 510ms);
  CHECK(second.hold == 10ms);
}

TEST_CASE("reply order lets STREAM_ACK overtake held replies", "[reply-order]") {
  reply_order r;
  auto held = r.on_request(command_kind::req, "ACK", 200ms, 0ms);
  auto ack = r.on_request(command_kind::stream, "STREAM_ACK", 200ms, 0ms);
  CHECK(ack.send_now == std::vector<std::string>{"STREAM_ACK"});
  CHECK(r.on_due(*held.hold_seq) == std::vector<std::string>{"ACK"});
}

TEST_CASE("reply order queues an undelayed reply behind a held one", "[reply-order]") {
  reply_order r;
  auto held = r.on_request(command_kind::req, "A", 0ms, 300ms);  // the hang holds the first
  auto next = r.on_request(command_kind::req, "B", 0ms, 300ms);
  CHECK(next.send_now.empty());
  CHECK_FALSE(next.hold_seq);
  CHECK(r.on_due(*held.hold_seq) == std::vector<std::string>{"A", "B"});
}
