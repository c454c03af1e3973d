// Where log lines go instead of stderr while something else owns the terminal line: the
// client's progress bar sets a sink so a warning prints above the bar like echoed output,
// never mixed into the bar's line. One sink at a time; the sink is called with the whole
// line (newline included) and must not log itself.
#pragma once

#include <string_view>

namespace pp::log {

using Sink = void (*)(std::string_view line, void* ctx);
// Installs `sink` (nullptr: stderr again). Returns once no call to the old sink runs.
void set_sink(Sink sink, void* ctx);
// Writes `line` (newline included) where log lines go now: the sink, else stderr. For
// lines logged elsewhere and passed on whole, such as a child process's stderr.
void write_line(std::string_view line);

}  // namespace pp::log
