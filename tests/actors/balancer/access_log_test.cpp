// The access log's batch and writer (actors/balancer/access_log.hpp): sessions of several
// I/O loops leave records in one batch, the writer is told once per batch, and every record
// becomes exactly one line, on its timer while the lb runs and at the latest when it stops.

#include "actors/balancer/access_log.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <caf/send.hpp>

#include <catch2/catch.hpp>

#include "tests/support/actor_system.hpp"
#include "tests/support/socket_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace l4sim;
using namespace l4sim::actors;
using namespace l4sim::testing;

namespace {

/// A served connection from 127.0.0.1:`port`.
access_record record(uint16_t port) {
  access_record r;
  r.accepted = std::chrono::system_clock::now();
  r.client_address = "127.0.0.1";
  r.client_port = port;
  r.backend = "server-a";
  r.queue_ms = 0;
  r.connect_ms = 1;
  r.total_ms = 2;
  r.bytes_in = 8;
  r.bytes_out = 8;
  return r;
}

std::vector<std::string> file_lines(const std::filesystem::path& file) {
  std::ifstream in{file};
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

/// The client ports of `lines`, each once; fails on a line that is not a served one.
std::multiset<uint16_t> ports_of(const std::vector<std::string>& lines) {
  std::multiset<uint16_t> out;
  for (const auto& line : lines) {
    auto from = line.find(" 127.0.0.1:");
    REQUIRE(from != std::string::npos);
    out.insert(static_cast<uint16_t>(std::stoi(line.substr(from + 11))));
    CHECK_THAT(line, Catch::EndsWith(" front server-a 0/1/2 in=8 out=8 -- retries=0"));
  }
  return out;
}

}  // namespace

TEST_CASE("the batch tells its writer on its first record and every flush_records more",
          "[access-log]") {
  access_batch batch;
  constexpr size_t n = 2 * access_batch::flush_records + 5;
  size_t told = 0;
  for (size_t i = 0; i < n; ++i) {
    told += batch.add(record(static_cast<uint16_t>(i))) ? 1 : 0;
  }
  CHECK(told == 3);  // the first, the 1024th, the 2048th
  CHECK(batch.size() == n);
  auto taken = batch.take();
  REQUIRE(taken.size() == n);
  CHECK(taken.front().client_port == 0);
  CHECK(taken.back().client_port == n - 1);
  CHECK(batch.size() == 0);
  // Taken: the next record starts a new batch, and the writer is told again.
  CHECK(batch.add(record(1)));
  CHECK_FALSE(batch.add(record(2)));
}

TEST_CASE("records of two loops at once become one line each, written without a stop",
          "[access-log]") {
  test_system ts;
  temp_dir dir;
  auto file = dir.path / "access.log";
  auto log = spawn_access_log(*ts.sys, file.string(), "front");
  REQUIRE(log);
  // Two threads post like the sessions of two I/O loops, more than flush_records in all.
  constexpr uint16_t per_thread = 1500;
  auto post = [&](uint16_t first) {
    for (uint16_t i = 0; i < per_thread; ++i) {
      log->post(record(static_cast<uint16_t>(first + i)));
    }
  };
  std::thread a{post, uint16_t{10000}};
  std::thread b{post, uint16_t{20000}};
  a.join();
  b.join();
  // Nothing more is posted: the last lines come from the writer's timer alone.
  std::vector<std::string> lines;
  REQUIRE(wait_until([&] {
    lines = file_lines(file);
    return lines.size() >= 2 * per_thread;
  }));
  auto ports = ports_of(lines);
  CHECK(lines.size() == 2 * per_thread);
  for (uint16_t i = 0; i < per_thread; ++i) {
    CHECK(ports.count(static_cast<uint16_t>(10000 + i)) == 1);
    CHECK(ports.count(static_cast<uint16_t>(20000 + i)) == 1);
  }
  // A lone record (far from flush_records) is written by the timer alone.
  log->post(record(40000));
  REQUIRE(wait_until([&] { return file_lines(file).size() == 2 * per_thread + 1; }));
  CHECK(file_lines(file).back().find(" 127.0.0.1:40000 ") != std::string::npos);
  caf::anon_send_exit(log->writer, caf::exit_reason::user_shutdown);
}

TEST_CASE("the writer writes what waits in the batch when it is stopped", "[access-log]") {
  temp_dir dir;
  auto file = dir.path / "access.log";
  constexpr uint16_t n = 300;
  {
    test_system ts;
    auto log = spawn_access_log(*ts.sys, file.string(), "front");
    REQUIRE(log);
    for (uint16_t i = 0; i < n; ++i) {
      log->post(record(static_cast<uint16_t>(30000 + i)));
    }
    // Stopped at once, well before its timer: the records are in the batch, not the file.
    caf::anon_send_exit(log->writer, caf::exit_reason::user_shutdown);
  }  // the actor system waits for the writer
  auto lines = file_lines(file);
  CHECK(lines.size() == n);
  auto ports = ports_of(lines);
  for (uint16_t i = 0; i < n; ++i) {
    CHECK(ports.count(static_cast<uint16_t>(30000 + i)) == 1);
  }
}
