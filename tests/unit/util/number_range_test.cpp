#include "core/util/number_range.hpp"

#include <doctest/doctest.h>

#include <string>

namespace {

constexpr pp::NumberRange kFrame{65536, 1073741824, true, "bytes"};
constexpr pp::NumberRange kSeconds{0.01, 2592000, false, "seconds", "no limit"};
constexpr pp::NumberRange kPort{0, 65535, true, ""};

std::string error_of(std::string_view text, const pp::NumberRange& r) {
  auto v = pp::parse_in_range(text, r);
  return v ? std::string() : v.status().message();
}

}  // namespace

TEST_CASE("util.number_range.values_inside_the_range") {
  CHECK(*pp::parse_in_range("65536", kFrame) == 65536);
  CHECK(*pp::parse_in_range("1073741824", kFrame) == 1073741824.0);
  CHECK(*pp::parse_in_range("1e6", kFrame) == 1e6);
  CHECK(*pp::parse_in_range("+70000", kFrame) == 70000);
  CHECK(*pp::parse_in_range("0.01", kSeconds) == doctest::Approx(0.01));
  CHECK(*pp::parse_in_range("0", kSeconds) == 0);  // "no limit", below lo
  CHECK(*pp::parse_in_range("-0", kSeconds) == 0);
  CHECK(*pp::parse_in_range("0", kPort) == 0);
  CHECK(*pp::parse_in_range("65535", kPort) == 65535);
}

TEST_CASE("util.number_range.messages_name_the_value_and_the_range") {
  CHECK(error_of("0", kFrame) == "0 is out of range: give 65536 to 1073741824 bytes");
  CHECK(error_of("18446744073709551615", kFrame) ==
        "18446744073709551615 is out of range: give 65536 to 1073741824 bytes");
  CHECK(error_of("-1", kSeconds) ==
        "-1 is out of range: give 0 (no limit) or 0.01 to 2592000 seconds");
  CHECK(error_of("0.001", kSeconds) ==
        "0.001 is out of range: give 0 (no limit) or 0.01 to 2592000 seconds");
  CHECK(error_of("70000", kPort) == "70000 is out of range: give 0 to 65535");
  CHECK(error_of("abc", kPort) == "'abc' is not a number: give 0 to 65535");
  CHECK(error_of("", kPort) == "'' is not a number: give 0 to 65535");
  CHECK(error_of("12 ", kPort) == "'12 ' is not a number: give 0 to 65535");
  CHECK(error_of("0x10", kPort) == "'0x10' is not a number: give 0 to 65535");
  CHECK(error_of("2.5", kPort) == "'2.5' is not a whole number: give 0 to 65535");
  CHECK(error_of("0.5", kFrame).find("is not a whole number") != std::string::npos);
}

TEST_CASE("util.number_range.nan_and_infinities_are_refused") {
  for (const char* text : {"nan", "NaN", "-nan", "inf", "-inf", "infinity", "1e999", "-1e999"}) {
    CAPTURE(text);
    CHECK(error_of(text, kSeconds) == "'" + std::string(text) +
                                          "' is not a finite number: give 0 (no limit) or 0.01 to "
                                          "2592000 seconds");
  }
}

TEST_CASE("util.number_range.format_number") {
  CHECK(pp::format_number(65536) == "65536");
  CHECK(pp::format_number(0.05) == "0.05");
  CHECK(pp::format_number(1073741824) == "1073741824");
  CHECK(pp::format_number(31536000) == "31536000");
}
