// Sizes in messages for people: 73400320 reads as "73,400,320". One place for the
// format, so every message about a size or a limit prints numbers the same way.
// Pure functions; thread-safe.
//
//   "its arguments are " + pp::with_commas(args.size()) + " bytes"
#pragma once

#include <cstdint>
#include <string>

namespace pp {

// The decimal digits of n in groups of three, separated by commas.
inline std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace pp
