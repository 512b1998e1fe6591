#include "protocols/text_escape.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace l4sim::protocols;

TEST_CASE("ids are letters, digits, dot, underscore and dash, 1 to 64 of them", "[escape]") {
  CHECK(is_safe_id("server-1"));
  CHECK(is_safe_id("a.b_c-D9"));
  CHECK(is_safe_id(std::string(64, 'x')));
  CHECK_FALSE(is_safe_id(std::string(65, 'x')));
  CHECK_FALSE(is_safe_id(""));
  for (auto bad : {"s3`touch pwned`", "a b", "a'b", "a\"b", "a;b", "a$b", "a/b", "a\\b", "a\nb",
                   "a\x1b[2Jb", "caf\xc3\xa9", "a@b", "a,b"}) {
    INFO(bad);
    CHECK_FALSE(is_safe_id(bad));
  }
  CHECK(id_problem("s3`x`") == "contains '`' at offset 2");
  CHECK(id_problem("a\x1b") == "contains '\\x1b' at offset 1");
  CHECK(id_problem(std::string(70, 'x')) == "is 70 bytes long (at most 64)");
}

TEST_CASE("escape_control leaves nothing a terminal acts on", "[escape]") {
  CHECK(escape_control("plain text, 100% fine") == "plain text, 100% fine");
  CHECK(escape_control("\x1b[2J\x07") == "\\x1b[2J\\x07");
  CHECK(escape_control("a\r\nb\tc\x7f") == "a\\x0d\\x0ab\\x09c\\x7f");
  CHECK(escape_control("a\nb\tc\r", true) == "a\nb\tc\\x0d");
  // Printable UTF-8 stays; C1 controls (also as UTF-8), invalid and overlong bytes do not.
  CHECK(escape_control("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x99\x82") ==
        "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x99\x82");
  CHECK(escape_control("\xc2\x9b"
                       "31m") == "\\xc2\\x9b31m");
  CHECK(escape_control("\x9b") == "\\x9b");
  CHECK(escape_control("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(escape_control("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(escape_control("\xe2\x80") == "\\xe2\\x80");
  CHECK(escape_control(std::string{"a\0b", 3}) == "a\\x00b");
}

TEST_CASE("csv_field quotes commas and quotes per RFC 4180 and keeps fields on one line",
          "[escape]") {
  CHECK(csv_field("server-1_up") == "server-1_up");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("a\nb") == "a\\x0ab");
  CHECK(csv_field("a\r\n,b") == "\"a\\x0d\\x0a,b\"");
}

TEST_CASE("gnuplot_quoted single-quotes with quotes doubled and controls escaped", "[escape]") {
  CHECK(gnuplot_quoted("server-1") == "'server-1'");
  CHECK(gnuplot_quoted("it's") == "'it''s'");
  CHECK(gnuplot_quoted("`touch x` @m \\n") == "'`touch x` @m \\n'");
  CHECK(gnuplot_quoted("a\nset output '/x'") == "'a\\x0aset output ''/x'''");
}
