// Text helpers shared by the report's renderers (report*.cpp): UTF-8 repair and
// truncation, node labels and number formatting. Internal to the report module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ppclient/report/report.hpp"

namespace pp::client::report::detail {

// Length of the valid UTF-8 sequence that starts `s`, or 0 if it does not start
// with one (or is empty).
size_t utf8_sequence(std::string_view s);
// `s` with every invalid UTF-8 sequence (bad lead or continuation bytes, overlong
// forms, surrogates, code points above U+10FFFF) replaced by U+FFFD.
std::string valid_utf8(std::string_view s);
// Code points in valid UTF-8.
size_t utf8_chars(std::string_view s);
// Terminal columns taken by valid UTF-8: East Asian wide characters count 2,
// combining marks 0 (the common ranges; an approximation of wcwidth).
size_t display_width(std::string_view s);
// Valid UTF-8 at most `max_width` columns wide (display_width); a cut string ends in "…".
std::string fit(std::string_view s, size_t max_width);

// "host (name)", or the one of them that is set when they are equal or one is empty.
std::string node_label(const NodeRow& node);

// printf into a std::string.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Seconds with a precision that suits their size: "0.004", "3.25", "123.4", "5321".
std::string seconds_text(double s);
// A rate or ratio with three significant figures ("0.657", "12.3", "456"); "-" for 0.
std::string rate_text(double r);
// "41.2%"
std::string percent_text(double fraction);

// The pipelines' part of the text table (report_pipelines.cpp): per pipeline a summary
// line and one row per stage; "" when the batch ran none.
std::string pipelines_table(const Report& report);
// The same as an HTML section ("Pipelines"), appended to `out`; nothing when none ran.
void pipelines_html(std::string& out, const Report& report);
// Valid UTF-8 with control characters shown as '?' (they would break a table's lines).
std::string printable(std::string_view s);
// "512 B", "1.5 KiB", "20.0 MiB", "1.25 GiB"
std::string bytes_text(uint64_t bytes);
// "Through the driver: 1.2 MiB sent to nodes, 3.4 MiB received from them".
std::string driver_bytes_text(const Batch& batch);

}  // namespace pp::client::report::detail
