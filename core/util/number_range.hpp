// NumberRange: the allowed values of one numeric command-line option, and the
// strict parser that checks a value against them (ppserver and ppclient alike).
//
// Why not the option library's own conversion: it accepts "nan", wraps
// "18446744073709551615" into a size_t limit, and says "could not be converted"
// without the range. Here a value is decimal (an exponent is fine: 1e6), finite,
// whole where the option counts things, and inside [lo, hi] (or exactly 0 when
// 0 has a meaning of its own, like "no limit"). Messages name the value as given
// and the range; the caller puts the option's name in front. Pure functions.
//
//   constexpr NumberRange kFrame{65536, 1 << 30, true, "bytes"};
//   auto v = parse_in_range("0", kFrame);
//   // v.status().message(): "0 is out of range: give 65536 to 1073741824 bytes"
#pragma once

#include <string>
#include <string_view>

#include "core/util/status.hpp"

namespace pp {

struct NumberRange {
  double lo = 0;
  double hi = 0;
  bool whole = true;           // counts, ports, bytes: no fractions
  const char* unit = "";       // "bytes", "seconds", ... (may be empty)
  const char* zero = nullptr;  // what 0 means when it is allowed below lo ("no limit")

  // "65536 to 1073741824 bytes", or "0 (no limit) or 0.01 to 2592000 seconds".
  std::string describe() const;
};

// The value of `text` if it lies in `range`; else kInvalid with a message such as
// "'abc' is not a number: give 0 to 1024" or "70000 is out of range: give 0 to 65535".
Result<double> parse_in_range(std::string_view text, const NumberRange& range);

// A number as a person would write it: 65536, 0.05, 1e+20 (no trailing zeros).
std::string format_number(double v);

}  // namespace pp
