#include "core/util/log.hpp"
#include "core/util/log_sink.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <mutex>

namespace pp::log {
namespace {

std::atomic<bool> g_debug{false};
std::atomic<int> g_min_level{0};
std::mutex g_tag_mutex;
std::string g_tag = "pp";
// The sink, if set (the progress bar); held while it is called so set_sink(nullptr)
// returns only once no line is on its way to the old one.
std::mutex g_sink_mutex;
Sink g_sink = nullptr;
void* g_sink_ctx = nullptr;

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "?";
}

// The journal's priority of a level (syslog's: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG).
int journal_priority(Level l) {
  switch (l) {
    case Level::kDebug: return 7;
    case Level::kInfo: return 6;
    case Level::kWarn: return 4;
    case Level::kError: return 3;
  }
  return 6;
}

// systemd connects a service's stderr to the journal and names that stream in
// $JOURNAL_STREAM ("device:inode"); a process whose stderr was redirected since (or a
// child given another stderr) writes plain lines.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st{};
  if (stream == nullptr || ::fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == static_cast<unsigned long long>(st.st_dev) &&
         ino == static_cast<unsigned long long>(st.st_ino);
}

}  // namespace

void set_sink(Sink sink, void* ctx) {
  std::lock_guard lock(g_sink_mutex);
  g_sink = sink;
  g_sink_ctx = ctx;
}

void set_tag(std::string tag) {
  std::lock_guard lock(g_tag_mutex);
  g_tag = std::move(tag);
}

void set_debug(bool on) { g_debug.store(on, std::memory_order_relaxed); }
bool debug_enabled() { return g_debug.load(std::memory_order_relaxed); }
void set_min_level(Level level) { g_min_level.store(static_cast<int>(level)); }

void write(Level level, const char* fmt, ...) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  static const bool journal = stderr_is_journal();
  char line[2048];
  int n;
  if (journal) {
    std::lock_guard lock(g_tag_mutex);
    n = std::snprintf(line, sizeof line, "<%d>%s [%d] %s: ", journal_priority(level),
                      g_tag.c_str(), static_cast<int>(getpid()), level_name(level));
  } else {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm parts{};
    localtime_r(&ts.tv_sec, &parts);
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
  write_line(std::string_view(line, len));
}

void write_line(std::string_view line) {
  {
    std::lock_guard lock(g_sink_mutex);
    if (g_sink != nullptr) {
      g_sink(line, g_sink_ctx);
      return;
    }
  }
  while (!line.empty()) {
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    line.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace pp::log
