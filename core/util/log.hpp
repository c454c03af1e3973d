// Logging: one line per event on stderr, with time, level and process tag.
//
// The process tag (for example "ppserver" or "worker 3") is set once in main().
// Debug lines are printed only when enabled (ppserver -d). Calls are
// thread-safe: each line is written with a single write(2).
//
// Under systemd's journal (stderr is the stream $JOURNAL_STREAM names), each line starts
// with the journal's priority prefix instead of the time, which the journal records
// itself: "<3>" error, "<4>" warn, "<6>" info, "<7>" debug (sd-daemon(3)). Detected once.
#pragma once

#include <string>

namespace pp::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void set_tag(std::string tag);
void set_debug(bool on);
// Lines below this level are dropped (debug lines need set_debug as well).
void set_min_level(Level level);
bool debug_enabled();
void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace pp::log

#define PP_DEBUG(...)                                                         \
  do {                                                                        \
    if (::pp::log::debug_enabled()) ::pp::log::write(::pp::log::Level::kDebug, __VA_ARGS__); \
  } while (0)
#define PP_INFO(...) ::pp::log::write(::pp::log::Level::kInfo, __VA_ARGS__)
#define PP_WARN(...) ::pp::log::write(::pp::log::Level::kWarn, __VA_ARGS__)
#define PP_ERROR(...) ::pp::log::write(::pp::log::Level::kError, __VA_ARGS__)
