#include <catch2/catch.hpp>

#include "actors/balancer/outlier.hpp"
#include "actors/balancer/retry_backoff.hpp"

using namespace l4sim::actors;
using namespace std::chrono_literals;

TEST_CASE("retry backoff doubles from the base up to the cap, with equal jitter", "[backoff]") {
  retry_backoff b{caf::timespan{50ms}, caf::timespan{1s}};
  CHECK(b.delay(0, 0.0) == caf::timespan{25ms});
  CHECK(b.delay(0, 1.0) == caf::timespan{50ms});
  CHECK(b.delay(1, 0.0) == caf::timespan{50ms});
  CHECK(b.delay(2, 1.0) == caf::timespan{200ms});
  CHECK(b.delay(4, 1.0) == caf::timespan{800ms});
  CHECK(b.delay(5, 1.0) == caf::timespan{1s});
  CHECK(b.delay(60, 1.0) == caf::timespan{1s});  // no overflow past the cap
  CHECK(b.delay(60, 0.0) == caf::timespan{500ms});
  for (double u : {0.0, 0.3, 0.7, 0.999}) {
    auto d = b.delay(3, u);
    CHECK(d >= caf::timespan{200ms});
    CHECK(d <= caf::timespan{400ms});
  }
}

TEST_CASE("retry backoff with a zero base retries at once", "[backoff]") {
  retry_backoff b{caf::timespan{0}, caf::timespan{0}};
  CHECK(b.delay(0, 0.5).count() == 0);
  CHECK(b.delay(7, 0.9).count() == 0);
}

TEST_CASE("outlier detection ejects after N failures in a row, for base times the count",
          "[outlier]") {
  outlier_detector d{{3, caf::timespan{10s}, 50}};
  CHECK_FALSE(d.failed("a", 4));
  CHECK_FALSE(d.failed("a", 4));
  d.succeeded("a");  // the streak starts over
  CHECK_FALSE(d.failed("a", 4));
  CHECK_FALSE(d.failed("a", 4));
  auto first = d.failed("a", 4);
  REQUIRE(first);
  CHECK(*first == caf::timespan{10s});
  CHECK(d.ejected("a"));
  CHECK_FALSE(d.failed("a", 4));  // already ejected
  CHECK(d.restore("a"));
  CHECK_FALSE(d.ejected("a"));
  CHECK_FALSE(d.restore("a"));
  d.failed("a", 4);
  d.failed("a", 4);
  auto second = d.failed("a", 4);
  REQUIRE(second);
  CHECK(*second == caf::timespan{20s});
  CHECK(d.ejections("a") == 2);
}

TEST_CASE("outlier detection ejects at most max_percent of the backends, but always one",
          "[outlier]") {
  outlier_detector d{{1, caf::timespan{1s}, 10}};
  CHECK(d.failed("a", 3));        // 10% of 3 is 0: one may still go
  CHECK_FALSE(d.failed("b", 3));  // a second would be past the share
  CHECK(d.restore("a"));
  CHECK(d.failed("b", 3));
  outlier_detector half{{1, caf::timespan{1s}, 50}};
  CHECK(half.failed("a", 4));
  CHECK(half.failed("b", 4));
  CHECK_FALSE(half.failed("c", 4));
  half.remove("a");
  CHECK(half.failed("c", 4));
}

TEST_CASE("slow start ramps a backend's share linearly over its window", "[slow-start]") {
  auto share = [](caf::timespan since) { return slow_start_share(since, caf::timespan{10s}); };
  CHECK(share(caf::timespan{0}) == Approx(0.01));
  CHECK(share(caf::timespan{1s}) == Approx(0.1));
  CHECK(share(caf::timespan{5s}) == Approx(0.5));
  CHECK(share(caf::timespan{10s}) == 1);
  CHECK(share(caf::timespan{1h}) == 1);
  CHECK(slow_start_share(caf::timespan{0}, caf::timespan{0}) == 1);  // off: all of it
}
