// compose.yaml's observability profile, checked without a container engine: Debian's
// promtool accepts docker/prometheus.yml, Prometheus scrapes exactly the services that have
// an admin port, Grafana's data source is the one the dashboard names, and every metric
// the dashboard queries is in the /metrics output of real server, lb and client processes.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim::testing;
using json = nlohmann::json;

namespace {

std::string source(const std::string& path) {
  return std::string{L4SIM_SOURCE_DIR} + "/" + path;
}

std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    auto candidate = std::filesystem::path{dir} / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

json dashboard() {
  std::ifstream in{source("docker/grafana/dashboards/l4sim.json")};
  REQUIRE(in);
  return json::parse(in);
}

/// Every l4sim metric name the dashboard's queries use.
std::set<std::string> dashboard_metrics() {
  std::set<std::string> names;
  static const std::regex name_re{R"(l4sim_[a-z0-9_]+)"};
  auto board = dashboard();
  for (auto& panel : board["panels"]) {
    for (auto& target : panel["targets"]) {
      auto expr = target["expr"].get<std::string>();
      for (std::sregex_iterator i{expr.begin(), expr.end(), name_re}, end; i != end; ++i) {
        names.insert(i->str());
      }
    }
  }
  return names;
}

/// The metric names of a Prometheus text exposition (sample lines only).
std::set<std::string> exposed(const std::string& text) {
  std::set<std::string> names;
  std::istringstream lines{text};
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

std::string scrape(uint16_t port) {
  httplib::Client c{"127.0.0.1", port};
  c.set_read_timeout(10);
  auto res = c.Get("/metrics");
  return res && res->status == 200 ? res->body : std::string{};
}

}  // namespace

TEST_CASE("promtool accepts docker/prometheus.yml", "[observability]") {
  auto promtool = find_program("promtool");
  if (promtool.empty()) {
    WARN("l4sim-skip: promtool (Debian package prometheus) is not installed");
    return;
  }
  child_process check{{promtool, "check", "config", source("docker/prometheus.yml")}};
  auto rc = check.wait_exit(patience);
  INFO(check.output());
  CHECK(rc == 0);
}

TEST_CASE("Prometheus scrapes every compose service that has an admin port, at that port",
          "[observability]") {
  auto compose = YAML::LoadFile(source("compose.yaml"));
  std::set<std::string> want;
  for (const auto& kv : compose["services"]) {
    auto name = kv.first.as<std::string>();
    for (auto var : {"SERVER_ADMIN_PORT", "LB_ADMIN_PORT", "CLIENT_ADMIN_PORT"}) {
      auto env = kv.second["environment"];
      if (env && env[var]) {
        auto value = env[var].as<std::string>();
        want.insert(name + ":" + value.substr(value.rfind(':') + 1));
      }
    }
  }
  CHECK(want.size() == 5);
  auto config = YAML::LoadFile(source("docker/prometheus.yml"));
  std::set<std::string> got;
  for (const auto& job : config["scrape_configs"]) {
    for (const auto& sc : job["static_configs"]) {
      for (const auto& target : sc["targets"]) {
        got.insert(target.as<std::string>());
      }
    }
  }
  CHECK(got == want);
  // Grafana's provisioned data source is the one every panel names.
  auto sources = YAML::LoadFile(source("docker/grafana/provisioning/datasources/prometheus.yml"));
  auto uid = sources["datasources"][0]["uid"].as<std::string>();
  CHECK(sources["datasources"][0]["url"].as<std::string>() == "http://prometheus:9090");
  auto board = dashboard();
  for (auto& panel : board["panels"]) {
    INFO("panel " << panel["title"]);
    CHECK(panel["datasource"]["uid"] == uid);
  }
}

TEST_CASE("every metric the Grafana dashboard queries is in a real /metrics output",
          "[observability]") {
  auto wanted = dashboard_metrics();
  REQUIRE(wanted.size() >= 8);
  child_process server{{app_path("server")},
                       {{"SERVER_PORT", "0"},
                        {"SERVER_ID", "server-1"},
                        {"SERVER_HOST", "127.0.0.1"},
                        {"SERVER_STATS_INTERVAL", "0"},
                        {"SERVER_ADMIN_PORT", "0"}}};
  auto server_port = server.number_after("l4sim-ready service=server port=");
  auto server_admin = server.number_after(" admin_port=");
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", "server-1=127.0.0.1:" + std::to_string(server_port)},
                    {"LB_HEALTH_INTERVAL", "0.2"},
                    {"LB_STATS_INTERVAL", "0"},
                    {"LB_ADMIN_PORT", "0"}}};
  auto lb_port = lb.number_after("l4sim-ready service=lb port=");
  auto lb_admin = lb.number_after(" admin_port=");
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", "127.0.0.1:" + std::to_string(lb_port)},
                        {"CLIENT_RATE", "20"},
                        {"CLIENT_DURATION_SECS", "60"},
                        {"CLIENT_MIX", "real=1"},
                        {"CLIENT_STATS_INTERVAL", "0"},
                        {"CLIENT_ADMIN_PORT", "0"}}};
  auto client_admin = client.number_after(" admin_port=");
  std::set<std::string> names;
  std::set<std::string> missing;
  // Series appear as things happen (a histogram once a request was answered): wait until
  // every wanted name is there, or the deadline.
  wait_until([&] {
    names.clear();
    for (auto port : {server_admin, lb_admin, client_admin}) {
      auto some = exposed(scrape(port));
      names.insert(some.begin(), some.end());
    }
    missing.clear();
    for (auto& name : wanted) {
      if (names.count(name) == 0) {
        missing.insert(name);
      }
    }
    return missing.empty();
  });
  for (auto& name : missing) {
    INFO("exposed: " << names.size() << " names");
    FAIL_CHECK("the dashboard queries " << name << ", which no service exposes");
  }
  CHECK(missing.empty());
}
