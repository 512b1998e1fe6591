// The admin HTTP port of each service, over real HTTP against real processes: /metrics in
// a format Debian's promtool accepts, with the numbers the actors report; the admin API's
// answers (200, 400, 404, 405) and that a change takes effect on the data path.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>

#include <httplib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace l4sim::testing;
using json = nlohmann::json;

namespace {

/// Returns the full path of `name` on PATH, or "".
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs{path ? path : "/usr/bin:/bin"};
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = std::filesystem::path{dir} / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

/// An HTTP client for the admin port on 127.0.0.1.
httplib::Client admin_client(uint16_t port) {
  httplib::Client c{"127.0.0.1", port};
  c.set_connection_timeout(5);
  c.set_read_timeout(10);
  return c;
}

/// Returns the value of the sample `series` (name and labels exactly as exposed), or
/// nothing when it is absent.
std::optional<double> sample(const std::string& metrics, const std::string& series) {
  std::istringstream lines{metrics};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

/// Runs `promtool check metrics` on `text`; returns its exit code and output.
std::pair<int, std::string> promtool_check(const std::string& promtool, const std::string& text) {
  temp_dir dir;
  auto file = dir.path / "metrics.txt";
  std::ofstream{file} << text;
  // The file name goes to the shell as an argument, never as part of the script.
  child_process check{{"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, file}};
  auto rc = check.wait_exit(patience);
  return {rc.value_or(-1), check.output()};
}

/// A server process with an admin port.
struct admin_server_proc {
  child_process proc{{app_path("server")},
                     {{"SERVER_PORT", "0"},
                      {"SERVER_ID", "server-a"},
                      {"SERVER_HOST", "127.0.0.1"},
                      {"SERVER_STATS_INTERVAL", "0"},
                      {"SERVER_ADMIN_PORT", "0"}}};
  uint16_t port = proc.number_after("l4sim-ready service=server port=");
  uint16_t admin = proc.number_after(" admin_port=");
};

}  // namespace

TEST_CASE("every service announces its admin port, 0 when it has none", "[admin]") {
  child_process plain{{app_path("server")},
                      {{"SERVER_PORT", "0"}, {"SERVER_ID", "s"}, {"SERVER_HOST", "127.0.0.1"}}};
  CHECK(plain.number_after(" admin_port=") == 0);
  admin_server_proc with;
  CHECK(with.admin != 0);
  CHECK_THAT(with.proc.output(), Catch::Contains("admin on http://127.0.0.1:"));
}

TEST_CASE("a malformed admin port is a config error naming the variable", "[admin]") {
  child_process proc{{app_path("lb")},
                     {{"LB_PORT", "0"},
                      {"LB_ID", "lb"},
                      {"LB_BACKENDS", "127.0.0.1:1"},
                      {"LB_ADMIN_PORT", "nine"}}};
  CHECK(proc.wait_exit(patience) == 2);
  CHECK_THAT(proc.output(), Catch::Contains("LB_ADMIN_PORT"));
}

TEST_CASE("server admin API: changes take effect, bad input gets 400, 404 and 405", "[admin]") {
  admin_server_proc s;
  auto http = admin_client(s.admin);

  SECTION("POST /delay holds replies for that long") {
    auto res = http.Post("/delay", "300", "text/plain");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK_THAT(res->body, Catch::Contains("delay 300ms"));
    socket_client c{s.port};
    REQUIRE(c.connected());
    auto start = test_clock::now();
    c.send("REQ 1\n");
    CHECK(c.line() == "ACK");
    CHECK(test_clock::now() - start >= 300ms);
  }
  SECTION("POST /max_conns 1 refuses the second connection, GET /stats counts it") {
    auto res = http.Post("/max_conns", "1\n", "text/plain");
    REQUIRE(res);
    CHECK(res->status == 200);
    socket_client first{s.port};
    first.send("PING 1\n");
    CHECK(first.line() == "PONG 1");
    socket_client second{s.port};
    CHECK(second.wait_closed());
    auto stats = http.Get("/stats");
    REQUIRE(stats);
    CHECK(stats->status == 200);
    CHECK_THAT(stats->get_header_value("Content-Type"), Catch::Contains("application/json"));
    auto st = json::parse(stats->body);
    CHECK(st["id"] == "server-a");
    CHECK(st["refused"] == 1);
    CHECK(st["pings"] == 1);
  }
  SECTION("bad bodies get 400 with a message") {
    for (auto [path, body] : {std::pair{"/delay", "soon"}, std::pair{"/chaos", "101"},
                              std::pair{"/max_conns", "-1"}, std::pair{"/hang", ""}}) {
      INFO(path << " " << body);
      auto res = http.Post(path, body, "text/plain");
      REQUIRE(res);
      CHECK(res->status == 400);
      CHECK_THAT(res->body, Catch::Contains(path) && Catch::Contains("want"));
    }
  }
  SECTION("an unknown path gets 404, a wrong method 405") {
    auto missing = http.Get("/nope");
    REQUIRE(missing);
    CHECK(missing->status == 404);
    CHECK_THAT(missing->body, Catch::Contains("/nope"));
    auto wrong = http.Get("/delay");
    REQUIRE(wrong);
    CHECK(wrong->status == 405);
    CHECK(wrong->get_header_value("Allow") == "POST");
    auto wrong_post = http.Post("/metrics", "", "text/plain");
    REQUIRE(wrong_post);
    CHECK(wrong_post->status == 405);
  }
  s.proc.signal(SIGTERM);
  CHECK(s.proc.wait_exit(patience) == 0);
}

TEST_CASE("lb, server and client /metrics: promtool accepts them, numbers match", "[admin]") {
  admin_server_proc s;
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", "server-a=127.0.0.1:" + std::to_string(s.port)},
                    {"LB_HEALTH_INTERVAL", "0.2"},
                    {"LB_ADMIN_PORT", "127.0.0.1:0"}}};
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  auto lb_admin = lb.number_after(" admin_port=");
  auto lb_http = admin_client(lb_admin);
  auto scrape = [](httplib::Client& http) {
    auto res = http.Get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK_THAT(res->get_header_value("Content-Type"), Catch::Contains("version=0.0.4"));
    return res->body;
  };

  // Two proxied connections held open: the lb and the server both count them as active.
  std::optional<socket_client> a{lb_port};
  socket_client b{lb_port};
  a->send("PING 1\n");
  b.send("PING 2\n");
  REQUIRE(a->line() == "PONG 1");
  REQUIRE(b.line() == "PONG 2");
  std::string lb_metrics;
  REQUIRE(wait_until([&] {
    lb_metrics = scrape(lb_http);
    return sample(lb_metrics, R"(l4sim_backend_active_connections{backend="server-a"})") == 2.0;
  }));
  CHECK(sample(lb_metrics, R"(l4sim_backend_up{backend="server-a"})") == 1.0);
  CHECK(sample(lb_metrics, R"(l4sim_backend_connections_total{backend="server-a"})") == 2.0);
  CHECK(sample(lb_metrics, "l4sim_balancer_accepted_total") == 2.0);
  CHECK(sample(lb_metrics, R"(l4sim_backend_connect_failures_total{backend="server-a"})") == 0.0);
  CHECK_THAT(lb_metrics, Catch::Contains("# TYPE l4sim_backend_connections_total counter"));
  // The balancer counts a connection's bytes when it ends: close one.
  a.reset();
  CHECK(wait_until([&] {
    auto now = scrape(lb_http);
    return sample(now, R"(l4sim_backend_bytes_total{backend="server-a",direction="in"})") == 7.0 &&
           sample(now, R"(l4sim_backend_bytes_total{backend="server-a",direction="out"})") == 7.0 &&
           sample(now, R"(l4sim_backend_active_connections{backend="server-a"})") == 1.0;
  }));

  auto server_http = admin_client(s.admin);
  std::string server_metrics;
  CHECK(wait_until([&] {
    server_metrics = scrape(server_http);
    return sample(server_metrics, R"(l4sim_server_active_connections{server="server-a"})") == 1.0;
  }));
  CHECK(sample(server_metrics,
               R"(l4sim_server_requests_total{command="PING",server="server-a"})") == 2.0);

  // A client process through the lb, with a stats interval and a duration long enough to
  // scrape it while it runs.
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", "127.0.0.1:" + std::to_string(lb_port)},
                        {"CLIENT_RATE", "20"},
                        {"CLIENT_DURATION_SECS", "60"},
                        {"CLIENT_MIX", "real=1"},
                        {"CLIENT_ADMIN_PORT", "0"}}};
  auto client_http = admin_client(client.number_after(" admin_port="));
  std::string client_metrics;
  REQUIRE(wait_until([&] {
    client_metrics = scrape(client_http);
    auto n = sample(client_metrics, R"(l4sim_client_request_duration_seconds_count{type="real"})");
    return n && *n >= 3;
  }));
  CHECK_THAT(client_metrics,
             Catch::Contains("# TYPE l4sim_client_request_duration_seconds histogram"));
  CHECK(sample(client_metrics,
               R"(l4sim_client_request_duration_seconds_bucket{type="real",le="+Inf"})") ==
        sample(client_metrics, R"(l4sim_client_request_duration_seconds_count{type="real"})"));
  CHECK(sample(client_metrics, R"(l4sim_client_outcomes_total{outcome="refused",type="real"})") ==
        0.0);

  auto promtool = find_program("promtool");
  if (promtool.empty()) {
    WARN("l4sim-skip: promtool (Debian package prometheus) is not installed");
    return;
  }
  for (auto& [name, text] : {std::pair{"lb", lb_metrics}, std::pair{"server", server_metrics},
                             std::pair{"client", client_metrics}}) {
    INFO(name << " metrics:\n" << text);
    auto [rc, out] = promtool_check(promtool, text);
    INFO("promtool: " << out);
    CHECK(rc == 0);
  }
}

TEST_CASE("lb admin API switches the algorithm and rejects an unknown one", "[admin]") {
  admin_server_proc s;
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", "server-a=127.0.0.1:" + std::to_string(s.port)},
                    {"LB_ADMIN_PORT", "0"}}};
  auto http = admin_client(lb.number_after(" admin_port="));
  auto res = http.Post("/algorithm", "lc", "text/plain");
  REQUIRE(res);
  CHECK(res->status == 200);
  auto stats = http.Get("/stats");
  REQUIRE(stats);
  CHECK(json::parse(stats->body)["algorithm"] == "lc");
  auto bad = http.Post("/algorithm", "fastest", "text/plain");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK_THAT(bad->body, Catch::Contains("unknown algorithm"));
}

TEST_CASE("client admin API changes the rate and the mix", "[admin]") {
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", "127.0.0.1:1"},
                        {"CLIENT_RATE", "0"},
                        {"CLIENT_DURATION_SECS", "60"},
                        {"CLIENT_ADMIN_PORT", "0"}}};
  auto http = admin_client(client.number_after(" admin_port="));
  auto rate = http.Post("/rate", "2.5", "text/plain");
  REQUIRE(rate);
  CHECK(rate->status == 200);
  auto mix = http.Post("/mix", "idle=3,stream=1", "text/plain");
  REQUIRE(mix);
  CHECK(mix->status == 200);
  auto st = json::parse(http.Get("/stats")->body);
  CHECK(st["rate"] == 2.5);
  CHECK(st["mix"] == "stream=1,idle=3");
  auto bad = http.Post("/mix", "everyone=1", "text/plain");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto bad_rate = http.Post("/rate", "fast", "text/plain");
  REQUIRE(bad_rate);
  CHECK(bad_rate->status == 400);
}

namespace {

/// Returns a port that was free a moment ago on 127.0.0.1 (Prometheus cannot pick one).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("Debian's prometheus scrapes the lb and answers a query for its metrics",
          "[admin][prometheus]") {
  auto prometheus = find_program("prometheus");
  if (prometheus.empty()) {
    WARN("l4sim-skip: prometheus (Debian package prometheus) is not installed");
    return;
  }
  admin_server_proc s;
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", "server-a=127.0.0.1:" + std::to_string(s.port)},
                    {"LB_ADMIN_PORT", "0"}}};
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  auto lb_admin = lb.number_after(" admin_port=");
  std::vector<std::unique_ptr<socket_client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<socket_client>(lb_port));
    held.back()->send("PING " + std::to_string(i) + "\n");
    REQUIRE(held.back()->line() == "PONG " + std::to_string(i));
  }

  temp_dir dir;
  auto config = dir.path / "prometheus.yml";
  std::ofstream{config} << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                        << "scrape_configs:\n  - job_name: l4sim-lb\n    static_configs:\n"
                        << "      - targets: ['127.0.0.1:" << lb_admin << "']\n";
  auto web_port = free_port();
  child_process server{{prometheus, "--config.file=" + config.string(),
                        "--storage.tsdb.path=" + (dir.path / "data").string(),
                        "--web.listen-address=127.0.0.1:" + std::to_string(web_port)}};
  REQUIRE(server.wait_for_output("Server is ready to receive web requests", 60s));

  // The path a Grafana panel takes: an instant query over Prometheus's HTTP API.
  httplib::Client api{"127.0.0.1", web_port};
  api.set_read_timeout(10);
  json answer;
  bool seen = wait_until(
      [&] {
        auto res = api.Get(
            "/api/v1/query?query=l4sim_backend_active_connections%7Bbackend%3D%22server-a%22%7D");
        if (!res || res->status != 200) {
          return false;
        }
        answer = json::parse(res->body);
        return answer["status"] == "success" && !answer["data"]["result"].empty();
      },
      60s);
  INFO("last answer: " << answer.dump() << "\nprometheus:\n" << server.output());
  REQUIRE(seen);
  auto& series = answer["data"]["result"][0];
  CHECK(series["metric"]["job"] == "l4sim-lb");
  CHECK(series["value"][1] == "3");
}

TEST_CASE("lb /metrics counts health checks per backend and result", "[admin]") {
  admin_server_proc s;
  auto dead = free_port();  // nothing listens there: every probe is refused
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", "server-a=127.0.0.1:" + std::to_string(s.port) +
                                        ",gone=127.0.0.1:" + std::to_string(dead)},
                    {"LB_HEALTH_INTERVAL", "0.1"},
                    {"LB_ADMIN_PORT", "0"}}};
  auto http = admin_client(lb.number_after(" admin_port="));
  std::string metrics;
  auto checks = [&](const std::string& backend, const std::string& result) {
    return sample(metrics, R"(l4sim_backend_health_checks_total{backend=")" + backend +
                               R"(",result=")" + result + R"("})");
  };
  REQUIRE(wait_until([&] {
    auto res = http.Get("/metrics");
    if (!res || res->status != 200) {
      return false;
    }
    metrics = res->body;
    auto ok = checks("server-a", "ok");
    auto failed = checks("gone", "failed");
    return ok && *ok >= 3 && failed && *failed >= 3;
  }));
  INFO(metrics);
  CHECK_THAT(metrics, Catch::Contains("# TYPE l4sim_backend_health_checks_total counter"));
  CHECK(checks("server-a", "failed") == 0.0);
  CHECK(checks("server-a", "timeout") == 0.0);
  CHECK(checks("gone", "ok") == 0.0);
  CHECK(sample(metrics, R"(l4sim_backend_up{backend="gone"})") == 0.0);
  CHECK(sample(metrics, R"(l4sim_backend_up{backend="server-a"})") == 1.0);
  auto stats = json::parse(http.Get("/stats")->body);
  CHECK(stats["backends"][1]["id"] == "gone");
  CHECK(stats["backends"][1]["health_checks"]["failed"] >= 3);
  if (auto promtool = find_program("promtool"); !promtool.empty()) {
    auto [rc, out] = promtool_check(promtool, metrics);
    INFO("promtool: " << out);
    CHECK(rc == 0);
  }
}

TEST_CASE("sim run --admin serves the whole stage's metrics while the run plays", "[admin]") {
  child_process sim{
      {app_path("sim"), "run", "round-robin", "--quiet", "--time-scale", "0.5", "--admin", "0"}};
  auto http = admin_client(sim.number_after("sim: admin on http://127.0.0.1:"));
  std::string metrics;
  REQUIRE(wait_until([&] {
    auto res = http.Get("/metrics");
    if (!res || res->status != 200) {
      return false;
    }
    metrics = res->body;
    auto accepted = sample(metrics, "l4sim_balancer_accepted_total");
    return accepted && *accepted > 0;
  }));
  CHECK_THAT(metrics, Catch::Contains("l4sim_backend_up{backend=") &&
                          Catch::Contains("l4sim_server_up{server=") &&
                          Catch::Contains("l4sim_client_outcomes_total{"));
  if (auto promtool = find_program("promtool"); !promtool.empty()) {
    auto [rc, out] = promtool_check(promtool, metrics);
    INFO("promtool: " << out << "\n" << metrics);
    CHECK(rc == 0);
  }
  sim.signal(SIGINT);
  CHECK(sim.wait_exit(60s).has_value());
}
