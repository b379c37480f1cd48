// wfctl/util/utf8: the one UTF-8 decoder, and what is built on it.
#include <catch2/catch.hpp>
#include <string>
#include <wfctl/util/utf8.hpp>

using wfctl::is_c1_control;
using wfctl::is_valid_utf8;
using wfctl::to_valid_utf8;
using wfctl::truncate_utf8;
using wfctl::utf8_sequence;

namespace {
const std::string k_fffd = "\xEF\xBF\xBD";
}

TEST_CASE("utf8_sequence decodes well-formed sequences and refuses the rest", "[utf8]") {
  char32_t cp = 0;
  CHECK(utf8_sequence("a", 0, cp) == 1);
  CHECK(cp == U'a');
  CHECK(utf8_sequence("\xC3\xA9", 0, cp) == 2);  // é
  CHECK(cp == 0xE9);
  CHECK(utf8_sequence("\xE2\x82\xAC", 0, cp) == 3);  // €
  CHECK(cp == 0x20AC);
  CHECK(utf8_sequence("\xF0\x9F\x98\x80", 0, cp) == 4);  // 😀
  CHECK(cp == 0x1F600);
  CHECK(utf8_sequence("\xC0\xAF", 0, cp) == 0);          // overlong '/'
  CHECK(utf8_sequence("\xED\xA0\x80", 0, cp) == 0);      // a UTF-16 surrogate
  CHECK(utf8_sequence("\xF4\x90\x80\x80", 0, cp) == 0);  // past U+10FFFF
  CHECK(utf8_sequence("\xE2\x82", 0, cp) == 0);          // cut short
  CHECK(utf8_sequence("\x80", 0, cp) == 0);              // a lone continuation byte
  CHECK(utf8_sequence("\xFF", 0, cp) == 0);
}

TEST_CASE("to_valid_utf8 keeps UTF-8 as it is and replaces each bad byte by U+FFFD", "[utf8]") {
  const std::string good = "M\xC3\xBCller^\xE5\xB1\xB1\xE7\x94\xB0 \xF0\x9F\x98\x80";
  CHECK(to_valid_utf8(good) == good);
  CHECK(to_valid_utf8("") == "");
  // ISO 8859-1 "Müller": one bad byte, one replacement; the letters around it stay.
  CHECK(to_valid_utf8("M\xFCller") == "M" + k_fffd + "ller");
  // A sequence cut by the end, an overlong form and a surrogate: a replacement per byte.
  CHECK(to_valid_utf8("ab\xE2\x82") == "ab" + k_fffd + k_fffd);
  CHECK(to_valid_utf8("\xC0\xAF") == k_fffd + k_fffd);
  CHECK(to_valid_utf8("\xED\xA0\x80x") == k_fffd + k_fffd + k_fffd + "x");
  CHECK(is_valid_utf8(to_valid_utf8("\xFF\xFE\x80 \xF4\x90\x80\x80")));
}

TEST_CASE("truncate_utf8 never leaves part of a sequence at the end", "[utf8]") {
  const auto cut = [](std::string s, std::size_t n) {
    truncate_utf8(s, n);
    return s;
  };
  const std::string euro = "\xE2\x82\xAC";
  CHECK(cut("abc", 5) == "abc");
  CHECK(cut("abc", 2) == "ab");
  CHECK(cut("a" + euro, 4) == "a" + euro);
  CHECK(cut("a" + euro, 3) == "a");
  CHECK(cut("a" + euro, 2) == "a");
  CHECK(cut(euro + euro, 5) == euro);
  CHECK(cut("ab\xFF\xFE" "cd", 3) == "ab\xFF");  // a malformed byte is one character
  CHECK(cut(euro, 0) == "");
}

TEST_CASE("is_c1_control is U+0080..U+009F only", "[utf8]") {
  CHECK(is_c1_control(0x80));
  CHECK(is_c1_control(0x9B));  // CSI
  CHECK(is_c1_control(0x9F));
  CHECK_FALSE(is_c1_control(0x7F));
  CHECK_FALSE(is_c1_control(0xA0));
  CHECK_FALSE(is_c1_control(U'\n'));
}
