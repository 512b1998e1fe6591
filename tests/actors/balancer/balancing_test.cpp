#include "actors/balancer/balancing.hpp"

#include <array>

#include <catch2/catch.hpp>

#include "actors/balancer/health_state.hpp"

using namespace l4sim::actors;

namespace {

std::vector<candidate> equal_backends(size_t n) {
  return std::vector<candidate>(n);
}

}  // namespace

TEST_CASE("round robin gives each of 3 backends exactly 10 of 30 picks", "[balancing]") {
  round_robin rr;
  auto backends = equal_backends(3);
  std::array<int, 3> counts{};
  std::vector<size_t> order;
  for (int i = 0; i < 30; ++i) {
    auto pick = rr.pick(backends);
    REQUIRE(pick);
    ++counts[*pick];
    order.push_back(*pick);
  }
  CHECK(counts == std::array<int, 3>{10, 10, 10});
  CHECK(std::vector<size_t>(order.begin(), order.begin() + 4) == std::vector<size_t>{0, 1, 2, 0});
}

TEST_CASE("round robin skips backends that are not eligible", "[balancing]") {
  round_robin rr;
  auto backends = equal_backends(3);
  backends[1].eligible = false;
  for (int i = 0; i < 6; ++i) {
    CHECK(rr.pick(backends) != std::optional<size_t>{1});
  }
  backends[0].eligible = backends[2].eligible = false;
  CHECK_FALSE(rr.pick(backends));
}

TEST_CASE("least connections picks the least loaded backend", "[balancing]") {
  least_connections lc;
  std::vector<candidate> backends{{true, 5, 1, ""}, {true, 1, 1, ""}, {true, 3, 1, ""}};
  CHECK(lc.pick(backends) == std::optional<size_t>{1});
  backends[1].eligible = false;
  CHECK(lc.pick(backends) == std::optional<size_t>{2});
  // Weights scale the load: 6/3 = 2 beats 3/1.
  std::vector<candidate> weighted{{true, 3, 1, ""}, {true, 6, 3, ""}};
  CHECK(lc.pick(weighted) == std::optional<size_t>{1});
}

TEST_CASE("least connections spreads ties evenly", "[balancing]") {
  least_connections lc;
  std::vector<candidate> backends{{true, 4, 1, ""}, {true, 0, 1, ""}, {true, 0, 1, ""}};
  std::array<int, 3> counts{};
  for (int i = 0; i < 20; ++i) {
    ++counts[*lc.pick(backends)];
  }
  CHECK(counts == std::array<int, 3>{0, 10, 10});
}

TEST_CASE("random picks pass a chi-square test for a fixed seed", "[balancing]") {
  uniform_random rnd{42};
  auto backends = equal_backends(3);
  std::array<double, 3> counts{};
  constexpr int n = 3000;
  for (int i = 0; i < n; ++i) {
    ++counts[*rnd.pick(backends)];
  }
  double chi2 = 0;
  for (auto c : counts) {
    chi2 += (c - n / 3.0) * (c - n / 3.0) / (n / 3.0);
  }
  // 2 degrees of freedom: P(chi2 > 13.82) = 0.001.
  CHECK(chi2 < 13.82);
  uniform_random again{42};
  uniform_random same{42};
  for (int i = 0; i < 100; ++i) {
    CHECK(again.pick(backends) == same.pick(backends));
  }
}

TEST_CASE("policies are made by name and unknown names are refused", "[balancing]") {
  CHECK(make_policy("rr", 1)->name() == "rr");
  CHECK(make_policy("lc", 1)->name() == "lc");
  CHECK(make_policy("rand", 1)->name() == "rand");
  CHECK(make_policy("wrr", 1) == nullptr);
}

TEST_CASE("health goes down after fall failures and up after rise successes", "[health]") {
  health_state h{2, 3};
  CHECK(h.healthy());
  CHECK_FALSE(h.observe(false));
  CHECK_FALSE(h.observe(false));
  CHECK_FALSE(h.observe(true));  // the streak restarts
  CHECK_FALSE(h.observe(false));
  CHECK_FALSE(h.observe(false));
  CHECK(h.observe(false) == std::optional<bool>{false});
  CHECK_FALSE(h.healthy());
  CHECK_FALSE(h.observe(true));
  CHECK(h.observe(true) == std::optional<bool>{true});
  health_state quick{1, 1};
  CHECK(quick.observe(false) == std::optional<bool>{false});
  CHECK(quick.observe(true) == std::optional<bool>{true});
}
