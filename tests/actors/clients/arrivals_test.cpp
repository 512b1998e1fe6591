#include "actors/clients/arrivals.hpp"

#include <array>
#include <chrono>
#include <vector>

#include <catch2/catch.hpp>

using namespace l4sim;
using actors::arrival_process;
using actors::arrivals;
using protocols::client_kind;

namespace {

/// Counts the arrivals a schedule starts within `horizon` of virtual time; the first
/// client starts at 0, as in the spawner.
uint64_t arrivals_within(arrivals& a, std::chrono::nanoseconds horizon) {
  uint64_t n = 0;
  std::chrono::nanoseconds t{0};
  // Bounded: a rate of at most 10,000/s over at most 100 s.
  for (int i = 0; i < 1'000'000 && t < horizon; ++i) {
    ++n;
    auto gap = a.next_gap();
    REQUIRE(gap);
    t += *gap;
  }
  return n;
}

std::array<uint64_t, protocols::client_kind_count> draw_kinds(arrivals& a, int n) {
  std::array<uint64_t, protocols::client_kind_count> counts{};
  for (int i = 0; i < n; ++i) {
    ++counts[static_cast<std::size_t>(a.next_ticket().kind)];
  }
  return counts;
}

}  // namespace

TEST_CASE("mix draws follow the weights within 3 points over 2000 clients", "[arrivals]") {
  arrivals a{2, arrival_process::uniform, actors::default_mix(), 42};
  auto counts = draw_kinds(a, 2000);
  auto share = [&](client_kind k) { return 100.0 * counts[static_cast<std::size_t>(k)] / 2000; };
  CHECK(share(client_kind::real) == Approx(50).margin(3));
  CHECK(share(client_kind::fire_and_forget) == Approx(20).margin(3));
  CHECK(share(client_kind::stream) == Approx(15).margin(3));
  CHECK(share(client_kind::idle) == Approx(10).margin(3));
  CHECK(share(client_kind::slow) == Approx(5).margin(3));
}

TEST_CASE("a kind of weight 0 is never drawn", "[arrivals]") {
  auto mix = actors::parse_mix("real=1,stream=1");
  REQUIRE(mix);
  arrivals a{2, arrival_process::uniform, *mix, 7};
  auto counts = draw_kinds(a, 500);
  CHECK(counts[static_cast<std::size_t>(client_kind::real)] +
            counts[static_cast<std::size_t>(client_kind::stream)] ==
        500);
}

TEST_CASE("the same seed gives the same kinds and client seeds", "[arrivals]") {
  arrivals a{2, arrival_process::uniform, actors::default_mix(), 99};
  arrivals b{50, arrival_process::poisson, actors::default_mix(), 99};
  arrivals c{2, arrival_process::uniform, actors::default_mix(), 100};
  bool differs_from_c = false;
  for (int i = 0; i < 200; ++i) {
    auto ta = a.next_ticket();
    auto tb = b.next_ticket();
    auto tc = c.next_ticket();
    REQUIRE(ta.id == static_cast<uint64_t>(i + 1));
    REQUIRE(ta.kind == tb.kind);
    REQUIRE(ta.seed == tb.seed);
    differs_from_c = differs_from_c || ta.kind != tc.kind || ta.seed != tc.seed;
  }
  CHECK(differs_from_c);
}

TEST_CASE("uniform arrivals at rate r start r times N clients in N seconds", "[arrivals]") {
  for (double rate : {2.0, 0.5, 7.5, 100.0}) {
    arrivals a{rate, arrival_process::uniform, actors::default_mix(), 1};
    CHECK(arrivals_within(a, std::chrono::seconds{10}) == static_cast<uint64_t>(rate * 10));
  }
}

TEST_CASE("poisson arrivals average the rate over a long run", "[arrivals]") {
  arrivals a{20, arrival_process::poisson, actors::default_mix(), 5};
  auto n = arrivals_within(a, std::chrono::seconds{100});
  // 2000 expected; a Poisson count's standard deviation is about 45.
  CHECK(n == Approx(2000).margin(200));
}

TEST_CASE("poisson gaps vary while uniform gaps do not", "[arrivals]") {
  arrivals u{4, arrival_process::uniform, actors::default_mix(), 3};
  arrivals p{4, arrival_process::poisson, actors::default_mix(), 3};
  std::vector<std::chrono::nanoseconds> pg;
  for (int i = 0; i < 20; ++i) {
    CHECK(u.next_gap() == std::chrono::nanoseconds{250'000'000});
    pg.push_back(*p.next_gap());
  }
  CHECK(std::adjacent_find(pg.begin(), pg.end()) == pg.end());
}

TEST_CASE("rate 0 pauses arrivals and a new rate takes effect", "[arrivals]") {
  arrivals a{0, arrival_process::uniform, actors::default_mix(), 1};
  CHECK_FALSE(a.next_gap());
  a.set_rate(4);
  CHECK(a.next_gap() == std::chrono::nanoseconds{250'000'000});
  a.set_rate(-1);
  CHECK(a.rate() == 4);
}

TEST_CASE("mix text parses kinds and weights and rejects junk", "[arrivals]") {
  auto mix = actors::parse_mix("real=50, stream=15");
  REQUIRE(mix);
  CHECK((*mix)[client_kind::real] == 50);
  CHECK((*mix)[client_kind::stream] == 15);
  CHECK((*mix)[client_kind::idle] == 0);
  CHECK(actors::format_mix(*mix) == "real=50,stream=15");
  CHECK(actors::format_mix(actors::default_mix()) ==
        "real=50,fire_and_forget=20,stream=15,idle=10,slow=5");
  CHECK_FALSE(actors::parse_mix("real=0"));
  CHECK_FALSE(actors::parse_mix("bogus=5"));
  CHECK_FALSE(actors::parse_mix("real=x"));
  CHECK_FALSE(actors::parse_mix("real"));
  CHECK_FALSE(actors::parse_mix(""));
}

TEST_CASE("a mix of all zeros is ignored at run time", "[arrivals]") {
  arrivals a{1, arrival_process::uniform, actors::default_mix(), 1};
  CHECK_FALSE(a.set_mix(protocols::client_mix{}));
  CHECK(a.mix() == actors::default_mix());
}

TEST_CASE("arrival process names parse", "[arrivals]") {
  CHECK(actors::parse_arrival_process("poisson") == arrival_process::poisson);
  CHECK(actors::parse_arrival_process("uniform") == arrival_process::uniform);
  CHECK_FALSE(actors::parse_arrival_process("bursty"));
}
