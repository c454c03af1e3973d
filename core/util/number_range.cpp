#include "core/util/number_range.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace pp {

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string NumberRange::describe() const {
  std::string s;
  if (zero != nullptr) s = std::string("0 (") + zero + ") or ";
  s += format_number(lo) + " to " + format_number(hi);
  if (*unit != '\0') s += std::string(" ") + unit;
  return s;
}

Result<double> parse_in_range(std::string_view text, const NumberRange& range) {
  std::string shown = "'" + std::string(text) + "'";
  auto fail = [&](const std::string& what) {
    return Status(StatusCode::kInvalid, what + ": give " + range.describe());
  };
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || end != digits.data() + digits.size() || ec == std::errc::invalid_argument) {
    return fail(shown + " is not a number");
  }
  // Out of a double's range ("1e999"): no finite value, like an infinity.
  if (ec == std::errc::result_out_of_range || !std::isfinite(v)) {
    return fail(shown + " is not a finite number");
  }
  if (range.whole && v != std::floor(v)) return fail(shown + " is not a whole number");
  if (v == 0 && range.zero != nullptr) return 0.0;
  if (v < range.lo || v > range.hi) return fail(std::string(text) + " is out of range");
  return v == 0 ? 0.0 : v;  // never -0
}

}  // namespace pp
