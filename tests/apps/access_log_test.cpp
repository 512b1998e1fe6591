// The balancer's access log (LB_ACCESS_LOG, sim run --access-log) over real processes and
// sockets: one line per proxied connection when it ends, with the bytes that really moved,
// in a file or on stdout, and nothing when it is off.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <vector>

#include <httplib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace l4sim::testing;
using json = nlohmann::json;

namespace {

/// The lines of `file` that look like access log lines (a time stamp first).
std::vector<std::string> access_lines(const std::string& text) {
  static const std::regex line_re{R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z .*)"};
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, line_re)) {
      out.push_back(line);
    }
  }
  return out;
}

std::string file_text(const std::filesystem::path& file) {
  std::ifstream in{file};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Returns the local port of a connected socket.
uint16_t local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return ntohs(addr.sin_port);
}

/// A backend server process.
struct server_proc {
  child_process proc{{app_path("server")},
                     {{"SERVER_PORT", "0"},
                      {"SERVER_ID", "server-a"},
                      {"SERVER_HOST", "127.0.0.1"},
                      {"SERVER_STATS_INTERVAL", "0"}}};
  uint16_t port = proc.number_after("l4sim-ready service=server port=");
};

/// An lb process in front of `backends` with LB_ACCESS_LOG set to `access_log`.
child_process lb_proc(const std::string& backends, const std::string& access_log) {
  return child_process{{app_path("lb")},
                       {{"LB_PORT", "0"},
                        {"LB_ID", "front"},
                        {"LB_HOST", "127.0.0.1"},
                        {"LB_BACKENDS", backends},
                        {"LB_HEALTH_INTERVAL", "0"},
                        {"LB_STATS_INTERVAL", "0"},
                        {"LB_RETRY_BACKOFF", "0,0"},
                        {"LB_ADMIN_PORT", "0"},
                        {"LB_ACCESS_LOG", access_log}}};
}

/// One proxied exchange: 7 bytes each way (PING 42 / PONG 42), then the client closes.
/// Returns the client's local port.
uint16_t ping_once(uint16_t lb_port) {
  socket_client c{lb_port};
  REQUIRE(c.connected());
  auto port = local_port(c.fd());
  REQUIRE(c.send("PING 42\n"));
  REQUIRE(c.line() == "PONG 42");
  return port;
}

/// The regular expression of the line of a served connection from 127.0.0.1:`port`.
std::regex served_line(uint16_t port) {
  return std::regex{R"(^\S+ 127\.0\.0\.1:)" + std::to_string(port) +
                    R"( front server-a \d+/\d+/\d+ in=8 out=8 -- retries=0$)"};
}

}  // namespace

TEST_CASE("LB_ACCESS_LOG=FILE appends one line per connection with the bytes it moved",
          "[access-log]") {
  server_proc s;
  temp_dir dir;
  auto file = dir.path / "access.log";
  auto lb = lb_proc("server-a=127.0.0.1:" + std::to_string(s.port), file.string());
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  auto first = ping_once(lb_port);
  auto second = ping_once(lb_port);
  std::vector<std::string> lines;
  REQUIRE(wait_until([&] {
    lines = access_lines(file_text(file));
    return lines.size() >= 2;
  }));
  INFO(file_text(file));
  REQUIRE(lines.size() == 2);
  // Sessions end in any order: match each line to its client port.
  auto matches = [&](uint16_t port) {
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
      return std::regex_match(line, served_line(port));
    });
  };
  CHECK(matches(first) == 1);
  CHECK(matches(second) == 1);
  // The lb's stdout carries no access lines in file mode.
  CHECK(access_lines(lb.output()).empty());
}

TEST_CASE("a burst of connections gives one line each, all in the file once the lb stops",
          "[access-log]") {
  server_proc s;
  temp_dir dir;
  auto file = dir.path / "access.log";
  auto lb = lb_proc("server-a=127.0.0.1:" + std::to_string(s.port), file.string());
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  httplib::Client http{"127.0.0.1", lb.number_after(" admin_port=")};
  http.set_read_timeout(10);
  // 200 connections, up to 20 open at once, each one exchange; sessions end in any order.
  constexpr int n = 200;
  constexpr int at_once = 20;
  std::multiset<uint16_t> ports;
  for (int done = 0; done < n; done += at_once) {
    std::vector<std::unique_ptr<socket_client>> open;
    for (int i = 0; i < at_once; ++i) {
      open.push_back(std::make_unique<socket_client>(lb_port));
      REQUIRE(open.back()->connected());
      ports.insert(local_port(open.back()->fd()));
      REQUIRE(open.back()->send("PING 42\n"));
    }
    for (auto& c : open) {
      REQUIRE(c->line() == "PONG 42");
    }
  }
  // A session leaves its record before the balancer counts its bytes: once all are counted,
  // every record waits in the batch or is written.
  REQUIRE(wait_until([&] {
    auto res = http.Get("/stats");
    return res && res->status == 200 && json::parse(res->body)["backends"][0]["bytes_in"] == 8 * n;
  }));
  // Stopped at once: when the process has ended, every line is in the file, whether the
  // writer's timer or its last write on the way out put it there (the in-process test of the
  // writer's stop, tests/actors/balancer/access_log_test.cpp, is the one that beats the timer).
  lb.signal(SIGTERM);
  REQUIRE(lb.wait_exit(patience).has_value());
  auto lines = access_lines(file_text(file));
  CHECK(lines.size() == n);
  std::multiset<uint16_t> logged;
  for (const auto& line : lines) {
    auto from = line.find(" 127.0.0.1:");
    REQUIRE(from != std::string::npos);
    auto port = static_cast<uint16_t>(std::stoi(line.substr(from + 11)));
    INFO(line);
    CHECK(std::regex_match(line, served_line(port)));
    logged.insert(port);
  }
  CHECK(logged == ports);
}

TEST_CASE("LB_ACCESS_LOG=stdout prints the line among the lb's log lines", "[access-log]") {
  server_proc s;
  auto lb = lb_proc("server-a=127.0.0.1:" + std::to_string(s.port), "stdout");
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  auto port = ping_once(lb_port);
  std::vector<std::string> lines;
  REQUIRE(wait_until([&] {
    lines = access_lines(lb.output());
    return !lines.empty();
  }));
  INFO(lb.output());
  REQUIRE(lines.size() == 1);
  CHECK(std::regex_match(lines[0], served_line(port)));
}

TEST_CASE("an access log line says why a connection got no backend", "[access-log]") {
  temp_dir dir;
  auto file = dir.path / "access.log";
  // Nothing listens on port 1: every connect is refused, retried twice, then given up.
  auto lb = lb_proc("gone=127.0.0.1:1", file.string());
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  socket_client c{lb_port};
  REQUIRE(c.connected());
  auto port = local_port(c.fd());
  CHECK(c.wait_closed());
  std::vector<std::string> lines;
  REQUIRE(wait_until([&] {
    lines = access_lines(file_text(file));
    return !lines.empty();
  }));
  REQUIRE(lines.size() == 1);
  INFO(lines[0]);
  CHECK(std::regex_match(lines[0], std::regex{R"(^\S+ 127\.0\.0\.1:)" + std::to_string(port) +
                                              R"( front - \d+/-1/\d+ in=0 out=0 SC retries=\d$)"}));
}

TEST_CASE("LB_ACCESS_LOG=off writes no access line", "[access-log]") {
  server_proc s;
  temp_dir dir;
  auto lb = lb_proc("server-a=127.0.0.1:" + std::to_string(s.port), "off");
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  httplib::Client http{"127.0.0.1", lb.number_after(" admin_port=")};
  http.set_read_timeout(10);
  ping_once(lb_port);
  // The balancer counts a connection's bytes once its session has ended, after the point
  // where an access log would have been sent its record.
  REQUIRE(wait_until([&] {
    auto res = http.Get("/stats");
    return res && res->status == 200 && json::parse(res->body)["backends"][0]["bytes_in"] == 8;
  }));
  // An lb with a log, started the same way, shows the line within this wait, so a line of
  // the lb without one would have had the same time to show.
  auto file = dir.path / "witness.log";
  auto witness = lb_proc("server-a=127.0.0.1:" + std::to_string(s.port), file.string());
  ping_once(witness.number_after("l4sim-ready service=lb port="));
  REQUIRE(wait_until([&] { return !access_lines(file_text(file)).empty(); }));
  CHECK(access_lines(lb.output()).empty());
  CHECK_FALSE(std::filesystem::exists("off"));
}

TEST_CASE("a bad LB_ACCESS_LOG is a config error naming it", "[access-log]") {
  auto lb = lb_proc("a=127.0.0.1:1", "/nonexistent-dir/access.log");
  CHECK(lb.wait_exit(patience) == 2);
  CHECK_THAT(lb.output(), Catch::Contains("LB_ACCESS_LOG"));
}

namespace {

/// Plays round-robin at 0.2 time scale with an access log file; returns its lines.
std::vector<std::string> sim_access_lines(bool services) {
  temp_dir dir;
  auto file = dir.path / "sim-access.log";
  std::vector<std::string> argv{app_path("sim"), "--scenarios", L4SIM_SOURCE_DIR "/scenarios",
                                "run",           "round-robin", "--time-scale",
                                "0.2",           "--quiet",     "--access-log",
                                file.string()};
  if (services) {
    argv.push_back("--services");
  }
  child_process sim{argv};
  auto rc = sim.wait_exit(std::chrono::seconds{100});
  INFO(sim.output());
  // The run ended on its own; its verdict (exit 1 on a failed expectation, which a machine
  // under heavy load can cause) is sim_app_test's business, not the access log's.
  REQUIRE(rc.has_value());
  CHECK((*rc == 0 || *rc == 1));
  return access_lines(file_text(file));
}

}  // namespace

TEST_CASE("sim run --access-log FILE logs the run's connections, in-process and as services",
          "[access-log]") {
  for (bool services : {false, true}) {
    INFO("--services " << services);
    auto lines = sim_access_lines(services);
    // 5 clients/s for 20 s of scenario time: about a hundred connections.
    CHECK(lines.size() >= 50);
    std::regex served{
        R"(^\S+ 127\.0\.0\.1:\d+ \S+ server-[123] \d+/\d+/\d+ in=\d+ out=\d+ \S\S retries=\d+$)"};
    auto n = std::count_if(lines.begin(), lines.end(),
                           [&](const std::string& l) { return std::regex_match(l, served); });
    CHECK(n >= 50);
  }
}

TEST_CASE("sim run --access-log stdout is refused with --services", "[access-log]") {
  child_process sim{{app_path("sim"), "--scenarios", L4SIM_SOURCE_DIR "/scenarios", "run",
                     "round-robin", "--services", "--access-log", "stdout"}};
  CHECK(sim.wait_exit(patience) == 2);
  CHECK_THAT(sim.output(), Catch::Contains("--access-log"));
}
