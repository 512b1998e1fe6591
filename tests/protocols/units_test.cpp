#include "protocols/units.hpp"

#include <catch2/catch.hpp>

using namespace l4sim::protocols;
using namespace std::chrono_literals;

TEST_CASE("durations parse with units, fractions and a bare unit", "[units]") {
  CHECK(parse_duration("150ms", 1s) == duration{150ms});
  CHECK(parse_duration("3s", 1ms) == duration{3s});
  CHECK(parse_duration("0.2s", 1ms) == duration{200ms});
  CHECK(parse_duration("2m", 1s) == duration{120s});
  CHECK(parse_duration("250", 1ms) == duration{250ms});
  CHECK(parse_duration("0.5", 1s) == duration{500ms});
  CHECK_FALSE(parse_duration("", 1s));
  CHECK_FALSE(parse_duration("-1s", 1s));
  CHECK_FALSE(parse_duration("3 s", 1s));
  CHECK_FALSE(parse_duration("3x", 1s));
  CHECK_FALSE(parse_duration("s", 1s));
  CHECK(format_duration(150ms) == "150ms");
  CHECK(format_duration(2500ms) == "2.5s");
  CHECK(format_duration(2378970us) == "2.37897s");
  CHECK(format_duration(1500us) == "1.5ms");
}

TEST_CASE("formatted durations never use an exponent and parse back", "[units]") {
  // 999999.9999996 s has 6 significant digits only as 1e+06 (found by units_fuzz).
  auto d = *parse_duration("999999999.9996", 1ms);
  CHECK(format_duration(d) == "1000000s");
  CHECK(parse_duration(format_duration(d), 1s) == duration{1'000'000s});
  CHECK(format_duration(duration{951'610'876'123'456'789}) == "951610876s");
  CHECK(format_duration(duration{9'999'996'000}) == "10s");
}

TEST_CASE("endpoints parse host:port and reject the rest", "[units]") {
  CHECK(parse_endpoint("server-1:8080") == endpoint{"server-1", 8080});
  CHECK(parse_endpoint("[::1]:9000") == endpoint{"::1", 9000});
  CHECK_FALSE(parse_endpoint("server-1"));
  CHECK_FALSE(parse_endpoint(":80"));
  CHECK_FALSE(parse_endpoint("h:0"));
  CHECK_FALSE(parse_endpoint("h:65536"));
  CHECK_FALSE(parse_endpoint("h:8o"));
  CHECK(to_string(endpoint{"::1", 1}) == "[::1]:1");
}

TEST_CASE("numbers reject junk and overflow", "[units]") {
  CHECK(parse_uint("42") == 42u);
  CHECK_FALSE(parse_uint("42", 41));
  CHECK_FALSE(parse_uint("4x"));
  CHECK_FALSE(parse_uint("-1"));
  CHECK_FALSE(parse_uint("99999999999999999999999"));
  CHECK(parse_decimal("0.25") == 0.25);
  CHECK_FALSE(parse_decimal("-0.25"));
  CHECK(format_bytes(512) == "512B");
  CHECK(format_bytes(1536) == "1.5KiB");
}

TEST_CASE("endpoint lists parse optional names and name the bad entry", "[units]") {
  std::string bad;
  auto list = parse_endpoint_list("server-1:8080, b=10.0.0.2:81 ,[::1]:9", bad);
  REQUIRE(list);
  REQUIRE(list->size() == 3);
  CHECK((*list)[0].name.empty());
  CHECK((*list)[0].where == endpoint{"server-1", 8080});
  CHECK((*list)[1].name == "b");
  CHECK((*list)[1].where == endpoint{"10.0.0.2", 81});
  CHECK((*list)[2].where == endpoint{"::1", 9});
  CHECK_FALSE(parse_endpoint_list("a:1,=b:2", bad));
  CHECK(bad == "=b:2");
  CHECK_FALSE(parse_endpoint_list("a:1,nope", bad));
  CHECK(bad == "nope");
  CHECK(parse_endpoint_list("", bad)->empty());
}
