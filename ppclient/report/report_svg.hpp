// The drawing pieces shared by to_svg (report_svg.cpp) and to_html (report_html.cpp).
// Internal to the report module. Each draw_* appends SVG elements for a part of the
// picture starting at `y` and returns the y below it; the caller opens and closes the
// <svg> element (svg_open) sized to what was drawn.
#pragma once

#include <string>
#include <string_view>

#include "ppclient/report/report.hpp"

namespace pp::client::report::detail {

inline constexpr double kSvgWidth = 1000;

// Text for XML and HTML, content or attribute: valid UTF-8, & < > " ' escaped, and the
// characters XML 1.0 cannot carry (controls, U+FFFE, U+FFFF) replaced by U+FFFD.
std::string xml_text(std::string_view s);
// A coordinate with one decimal at most ("12", "12.5").
std::string coord(double v);
// Node i's colour ("#4e79a7"); the palette repeats after ten nodes.
const char* node_colour(size_t node);
// "300 jobs · wall time 12.3 s · …" (UTF-8, not yet escaped).
std::string summary_line(const Report& r);

double draw_header(std::string& out, const Report& r, double y);
// `heading`: draw the part's title in the picture (the HTML page has its own).
double draw_shares(std::string& out, const Report& r, double y, bool heading);
double draw_timeline(std::string& out, const Report& r, double y, bool heading);
// "<svg xmlns=... width height viewBox font-family" + extra + ">\n"
std::string svg_open(double width, double height, const char* extra);

}  // namespace pp::client::report::detail
