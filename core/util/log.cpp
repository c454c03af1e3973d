#include "core/util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace pp::log {
namespace {

std::atomic<bool> g_debug{false};
std::atomic<int> g_min_level{0};
std::mutex g_tag_mutex;
std::string g_tag = "pp";

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "?";
}

}  // namespace

void set_tag(std::string tag) {
  std::lock_guard lock(g_tag_mutex);
  g_tag = std::move(tag);
}

void set_debug(bool on) { g_debug.store(on, std::memory_order_relaxed); }
bool debug_enabled() { return g_debug.load(std::memory_order_relaxed); }
void set_min_level(Level level) { g_min_level.store(static_cast<int>(level)); }

void write(Level level, const char* fmt, ...) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  char line[2048];
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm parts{};
  localtime_r(&ts.tv_sec, &parts);
  int n;
  {
    std::lock_guard lock(g_tag_mutex);
    n = std::snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s [%d] %s: ", parts.tm_hour,
                      parts.tm_min, parts.tm_sec, ts.tv_nsec / 1000000, g_tag.c_str(),
                      static_cast<int>(getpid()), level_name(level));
  }
  if (n < 0) return;
  va_list ap;
  va_start(ap, fmt);
  int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, fmt, ap);
  va_end(ap);
  size_t len = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (len > sizeof line - 2) len = sizeof line - 2;
  line[len++] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, line, len);
  (void)ignored;
}

}  // namespace pp::log
