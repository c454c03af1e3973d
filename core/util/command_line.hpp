// What ppserver's and ppclient's command lines share (CLI11 glue): numeric
// options checked against a NumberRange (number_range.hpp) as text, before CLI11
// converts them, so "nan", "-1" for a size and "2^64-1" never reach a typed
// field; and one exit status for every usage error. Header-only: only the two
// command lines use it, and they link CLI11. A failed check becomes CLI11's
// ValidationError, printed as "--max-frame: 0 is out of range: give ...".
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/util/number_range.hpp"

namespace pp {

// Exit status of a usage error (a bad option or value), as most command-line tools.
inline constexpr int kExitUsage = 2;

// Prints a parse error (or the help) the CLI11 way and returns the exit status:
// 0 for --help, kExitUsage for every error (CLI11's own codes are 100 and up).
inline int usage_exit(const CLI::App& app, const CLI::ParseError& e) {
  return app.exit(e) == 0 ? 0 : kExitUsage;
}

// Checks the option's text against `range`; a whole value is rewritten in plain
// digits ("1e6" -> "1000000") for CLI11's integer conversion.
inline CLI::Validator in_range(const NumberRange& range) {
  return CLI::Validator(
      [range](std::string& text) -> std::string {
        auto v = parse_in_range(text, range);
        if (!v) return v.status().message();
        if (range.whole) text = std::to_string(static_cast<long long>(*v));
        return {};
      },
      "", "in range");
}

// Adds `flags` bound to `target`; the help text ends with the range.
template <typename T>
CLI::Option* add_number(CLI::App& app, const std::string& flags, T& target,
                        const NumberRange& range, const std::string& help) {
  return app.add_option(flags, target, help + " [" + range.describe() + "]")
      ->transform(in_range(range));
}

}  // namespace pp
