// The distributions the balancing policies promise (actors/balancer/balancing.hpp): weighted
// shares over 100,000 picks, the smooth round robin's exact order, and for the hashing
// policies the same key on the same backend and about 1/N of keys moving when one of N
// backends leaves.

#include <array>
#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/balancer/balancing.hpp"

using namespace l4sim::actors;

namespace {

constexpr int picks = 100'000;

std::vector<candidate> weighted(const std::vector<uint32_t>& weights) {
  std::vector<candidate> out;
  for (size_t i = 0; i < weights.size(); ++i) {
    out.push_back({true, 0, weights[i], "server-" + std::to_string(i + 1)});
  }
  return out;
}

/// Shares of `picks` picks; `hold` keeps each pick's connection open (load grows), as the
/// load-aware policies need; keys are distinct client addresses.
std::vector<double> shares(balancing_policy& policy, std::vector<candidate> backends, bool hold) {
  std::vector<double> counts(backends.size());
  for (int i = 0; i < picks; ++i) {
    auto key = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 0xff) + "." +
               std::to_string(i & 0xff);
    auto pick = policy.pick(backends, key);
    REQUIRE(pick);
    ++counts[*pick];
    if (hold) {
      ++backends[*pick].load;
    }
  }
  for (auto& c : counts) {
    c /= picks;
  }
  return counts;
}

void check_3_1_1(const std::vector<double>& got) {
  INFO("shares " << got[0] << " " << got[1] << " " << got[2]);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == Approx(0.6).margin(0.02));
  CHECK(got[1] == Approx(0.2).margin(0.02));
  CHECK(got[2] == Approx(0.2).margin(0.02));
}

std::string key_of(int i) {
  return "127." + std::to_string((i >> 16) & 0xff) + "." + std::to_string((i >> 8) & 0xff) + "." +
         std::to_string(i & 0xff);
}

/// Share of `keys` keys whose backend id changes when `gone` leaves the set of n.
double moved_share(balancing_policy& before_policy, balancing_policy& after_policy, size_t n,
                   size_t gone, double* stayed_moved = nullptr) {
  auto before = weighted(std::vector<uint32_t>(n, 1));
  auto after = before;
  after.erase(after.begin() + static_cast<std::ptrdiff_t>(gone));
  constexpr int keys = 100'000;
  int moved = 0;
  int others_moved = 0;
  for (int i = 0; i < keys; ++i) {
    auto key = key_of(i);
    auto a = before[*before_policy.pick(before, key)].id;
    auto b = after[*after_policy.pick(after, key)].id;
    if (a != b) {
      ++moved;
      if (a != before[gone].id) {
        ++others_moved;
      }
    }
  }
  if (stayed_moved != nullptr) {
    *stayed_moved = static_cast<double>(others_moved) / keys;
  }
  return static_cast<double>(moved) / keys;
}

}  // namespace

TEST_CASE("smooth weighted round robin: weights 5,1,1 give a a b a c a a", "[balancing]") {
  round_robin rr;
  auto backends = weighted({5, 1, 1});
  std::string order;
  for (int i = 0; i < 14; ++i) {
    order += static_cast<char>('a' + *rr.pick(backends));
  }
  CHECK(order == "aabacaaaabacaa");
}

TEST_CASE("smooth weighted round robin: a backend that goes down is skipped, the cycle goes on",
          "[balancing]") {
  round_robin rr;
  auto backends = weighted({2, 1, 1});
  std::array<int, 3> counts{};
  backends[0].eligible = false;
  for (int i = 0; i < 10; ++i) {
    ++counts[*rr.pick(backends)];
  }
  CHECK(counts == std::array<int, 3>{0, 5, 5});
  backends[0].eligible = true;
  counts = {};
  for (int i = 0; i < 40; ++i) {
    ++counts[*rr.pick(backends)];
  }
  // The current weights carried over from the outage shift the count by one at most.
  CHECK(std::abs(counts[0] - 20) <= 1);
  CHECK(std::abs(counts[1] - 10) <= 1);
  CHECK(std::abs(counts[2] - 10) <= 1);
}

TEST_CASE("every weighted policy shares 100,000 picks 3:1:1 within 2 points", "[balancing]") {
  auto backends = weighted({3, 1, 1});
  SECTION("rr") {
    round_robin p;
    check_3_1_1(shares(p, backends, false));
  }
  SECTION("lc, connections held open") {
    least_connections p;
    check_3_1_1(shares(p, backends, true));
  }
  SECTION("rand") {
    uniform_random p{7};
    check_3_1_1(shares(p, backends, false));
  }
  SECTION("p2c, no load: weighted random") {
    power_of_two p{7};
    check_3_1_1(shares(p, backends, false));
  }
  SECTION("p2c, connections held open") {
    power_of_two p{7};
    check_3_1_1(shares(p, backends, true));
  }
  SECTION("hash, distinct client keys") {
    consistent_hash p;
    check_3_1_1(shares(p, backends, false));
  }
  SECTION("hash, connections held open: the bound keeps the weighted share") {
    consistent_hash p;
    check_3_1_1(shares(p, backends, true));
  }
  SECTION("maglev, distinct client keys") {
    maglev p;
    check_3_1_1(shares(p, backends, false));
  }
}

TEST_CASE("least connections and p2c send new connections to the emptier backend", "[balancing]") {
  auto backends = weighted({1, 1});
  backends[0].load = 10;
  power_of_two p2c{3};
  int to_empty = 0;
  for (int i = 0; i < 1000; ++i) {
    to_empty += *p2c.pick(backends) == 1 ? 1 : 0;
  }
  // Both draws land on the loaded one a quarter of the time; otherwise the empty one wins.
  CHECK(to_empty == Approx(750).margin(60));
}

TEST_CASE("hash and maglev send the same key to the same backend while the set is unchanged",
          "[balancing]") {
  auto backends = weighted({1, 2, 1, 3});
  consistent_hash hash;
  maglev mag;
  for (int i = 0; i < 2000; ++i) {
    auto key = key_of(i * 7919);
    auto h = hash.pick(backends, key);
    auto m = mag.pick(backends, key);
    for (int again = 0; again < 3; ++again) {
      CHECK(hash.pick(backends, key) == h);
      CHECK(mag.pick(backends, key) == m);
    }
  }
  // A fresh policy (another process, another run) agrees: the hash is stable.
  consistent_hash other_hash;
  maglev other_mag;
  for (int i = 0; i < 200; ++i) {
    auto key = key_of(i);
    CHECK(other_hash.pick(backends, key) == hash.pick(backends, key));
    CHECK(other_mag.pick(backends, key) == mag.pick(backends, key));
  }
}

TEST_CASE("hash: one of 5 backends leaving moves its own keys only, about 1/5", "[balancing]") {
  consistent_hash before;
  consistent_hash after;
  double others_moved = 1;
  auto moved = moved_share(before, after, 5, 2, &others_moved);
  CHECK(moved == Approx(0.2).margin(0.01));
  CHECK(others_moved == 0);
}

TEST_CASE("maglev: one of 5 backends leaving moves about 1/5 of keys", "[balancing]") {
  maglev before;
  maglev after;
  double others_moved = 1;
  auto moved = moved_share(before, after, 5, 2, &others_moved);
  CHECK(moved == Approx(0.2).margin(0.03));
  // Maglev trades a little disruption for balance: a few % of the others' keys move.
  CHECK(others_moved < 0.03);
}

TEST_CASE("maglev rebuilds its table when a backend goes down and back up", "[balancing]") {
  maglev mag;
  auto backends = weighted({1, 1, 1});
  std::vector<size_t> first;
  for (int i = 0; i < 500; ++i) {
    first.push_back(*mag.pick(backends, key_of(i)));
  }
  backends[1].eligible = false;
  for (int i = 0; i < 500; ++i) {
    CHECK(*mag.pick(backends, key_of(i)) != 1);
  }
  backends[1].eligible = true;
  for (int i = 0; i < 500; ++i) {
    CHECK(*mag.pick(backends, key_of(i)) == first[static_cast<size_t>(i)]);
  }
  backends[0].eligible = backends[1].eligible = backends[2].eligible = false;
  CHECK_FALSE(mag.pick(backends, "x"));
}

TEST_CASE("hash: one hot key spills past its bound to the next backend in its rank",
          "[balancing]") {
  consistent_hash hash;
  auto backends = weighted({1, 1, 1, 1});
  std::array<int, 4> counts{};
  for (int i = 0; i < 400; ++i) {
    auto pick = *hash.pick(backends, "127.0.0.1");
    ++counts[pick];
    ++backends[pick].load;
  }
  // Bound: ceil(1.25 · (L + 1) / 4) each, so nobody holds more than 125 of 400.
  for (auto c : counts) {
    CHECK(c <= 126);
  }
  // Unbounded, the key stays put.
  consistent_hash pure{0};
  auto fresh = weighted({1, 1, 1, 1});
  auto home = *pure.pick(fresh, "127.0.0.1");
  for (int i = 0; i < 100; ++i) {
    ++fresh[home].load;
    CHECK(*pure.pick(fresh, "127.0.0.1") == home);
  }
}

TEST_CASE("the new policies are made by name", "[balancing]") {
  for (auto name : {"rr", "lc", "rand", "p2c", "hash", "maglev"}) {
    auto p = make_policy(name, 1);
    REQUIRE(p);
    CHECK(p->name() == name);
  }
  CHECK(make_policy("random2", 1) == nullptr);
}
