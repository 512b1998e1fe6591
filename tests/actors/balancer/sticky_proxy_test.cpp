// The hashing algorithms and the PROXY protocol end to end on loopback: clients connect from
// distinct 127.0.1.x addresses through a real balancer to backends that accept PROXY
// headers; each backend records the client addresses its headers named.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "tests/support/lb_fixture.hpp"

using namespace l4sim;
using namespace l4sim::testing;

namespace {

/// Connects from `source` to 127.0.0.1:`port`, sends PING, returns the reply line.
std::optional<std::string> ping_from(const std::string& source, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return std::nullopt;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  std::optional<std::string> reply;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) == 0 &&
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) == 0 &&
      ::send(fd, "PING 7\n", 7, MSG_NOSIGNAL) == 7) {
    std::string line;
    char ch = 0;
    while (::recv(fd, &ch, 1, 0) == 1 && ch != '\n') {
      line += ch;
    }
    reply = line;
  }
  ::close(fd);
  return reply;
}

/// Three accept_proxy backends in a system of their own, and a balancer in front.
struct proxied_backends {
  test_system backend_sys;
  std::vector<actors::backend_handle> backends;
  std::vector<uint16_t> ports;

  proxied_backends() {
    for (int i = 1; i <= 3; ++i) {
      actors::backend_config cfg;
      cfg.id = "server-" + std::to_string(i);
      cfg.log = false;
      cfg.accept_proxy = true;
      auto b = actors::spawn_backend(*backend_sys.sys, cfg);
      REQUIRE(b);
      backends.push_back(*b);
      ports.push_back(b->port);
    }
  }

  ~proxied_backends() {
    for (auto& b : backends) {
      caf::anon_send_exit(b.actor, caf::exit_reason::user_shutdown);
    }
  }

  protocols::backend_stats stats(size_t i) {
    caf::scoped_actor self{*backend_sys.sys};
    protocols::backend_stats result;
    self->request(backends.at(i).actor, patience, caf::get_atom_v, stats_atom_v)
        .receive([&](const protocols::backend_stats& st) { result = st; },
                 [&](const caf::error& err) { FAIL(actors::describe(err)); });
    return result;
  }
};

}  // namespace

TEST_CASE("hash and maglev keep each client address on one backend; PROXY names it",
          "[balancer][proxy]") {
  L4SIM_EACH_PUMP();
  for (auto [algorithm, version] : {std::pair{"hash", protocols::proxy_version::v1},
                                    std::pair{"maglev", protocols::proxy_version::v2}}) {
    INFO(algorithm << " with PROXY " << protocols::to_string(version));
    proxied_backends servers;
    lb_fixture fx{servers.ports, [&](actors::balancer_config& cfg) {
                    cfg.algorithm = algorithm;
                    cfg.hash_balance = 0;  // sequential clients: stickiness alone
                    cfg.session.send_proxy = version;
                  }};
    std::vector<std::string> sources;
    for (int i = 1; i <= 12; ++i) {
      sources.push_back("127.0.1." + std::to_string(i));
    }
    for (int round = 0; round < 3; ++round) {
      for (auto& source : sources) {
        INFO(source);
        CHECK(ping_from(source, fx.lb.port) == std::optional<std::string>{"PONG 7"});
      }
    }
    std::map<std::string, std::set<std::string>> seen_at;  // address -> backends
    uint64_t total = 0;
    for (size_t i = 0; i < 3; ++i) {
      auto st = servers.stats(i);
      total += st.total;
      CHECK(st.proxy_errors == 0);
      for (auto& address : st.client_addresses) {
        seen_at[address].insert(st.id);
      }
    }
    CHECK(total == 36);
    CHECK(seen_at.size() == 12);  // every header named its client's real address
    std::set<std::string> used;
    for (auto& [address, backends] : seen_at) {
      INFO(address);
      CHECK(backends.size() == 1);
      used.insert(backends.begin(), backends.end());
    }
    CHECK(used.size() >= 2);  // twelve addresses spread, not one backend for all
  }
}

TEST_CASE("round robin with the same clients splits each address over the backends",
          "[balancer][proxy]") {
  L4SIM_EACH_PUMP();
  // The check above can fail: plain round robin puts one address on several backends.
  proxied_backends servers;
  lb_fixture fx{servers.ports, [&](actors::balancer_config& cfg) {
                  cfg.algorithm = "rr";
                  cfg.session.send_proxy = protocols::proxy_version::v2;
                }};
  for (int round = 0; round < 3; ++round) {
    CHECK(ping_from("127.0.1.1", fx.lb.port) == std::optional<std::string>{"PONG 7"});
  }
  for (size_t i = 0; i < 3; ++i) {
    CHECK(servers.stats(i).client_addresses == std::vector<std::string>{"127.0.1.1"});
  }
}

TEST_CASE("a backend that does not expect PROXY sees the header as a bad line",
          "[balancer][proxy]") {
  L4SIM_EACH_PUMP();
  // What happens when LB_SEND_PROXY is set in front of a plain server: its ERR reaches
  // the client, nothing crashes.
  lb_fixture fx{1, [](actors::balancer_config& cfg) {
                  cfg.session.send_proxy = protocols::proxy_version::v1;
                }};
  auto c = fx.connect();
  REQUIRE(c.connected());
  auto line = c.line();
  REQUIRE(line);
  CHECK_THAT(*line, Catch::StartsWith("ERR unknown command: \"PROXY TCP4 127.0.0.1 127.0.0.1 "));
}
