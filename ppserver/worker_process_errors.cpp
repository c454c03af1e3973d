#include "ppserver/worker_process_errors.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "core/lua/convert.hpp"

namespace pp::server {
namespace {

// The one worker of this process, for the last-chance flush (keep_for_last_flush).
struct PendingOut {
  int fd = -1;
  const std::string* bytes = nullptr;
};
PendingOut g_pending;

void flush_pending_now() {
  if (g_pending.bytes == nullptr || g_pending.bytes->empty()) return;
  // write(2) only: this may run in a signal handler.
  const std::string& b = *g_pending.bytes;
  size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::write(g_pending.fd, b.data() + off, b.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
  g_pending.bytes = nullptr;  // once
}

void on_fatal_signal(int sig) {
  flush_pending_now();
  // The handler was reset (SA_RESETHAND): raised again, the signal ends the process as
  // it would have, so the node reports the same cause.
  raise(sig);
}

}  // namespace

void keep_for_last_flush(int fd, const std::string* pending) { g_pending = {fd, pending}; }

void install_last_flush() {
  std::atexit(flush_pending_now);
  struct sigaction sa{};
  sa.sa_handler = on_fatal_signal;
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &sa, nullptr);
}

namespace {

constexpr char kTracebackKey[] = "pp.worker.traceback";
constexpr char kErrorValueKey[] = "pp.worker.error_value";

// The __tostring of the value at 1, or nothing; run under lua_pcall, because a
// metamethod that fails must not turn into an error in the error handler.
int call_tostring(lua_State* L) { return luaL_callmeta(L, 1, "__tostring"); }

}  // namespace

// Message handler for lua_pcall (a handler can hand back only one value, so the
// rest goes to the registry): leaves the traceback there, and a raised value that
// is not a string (error({code = 42})) too, for RESULT.value. Returns the message:
// a string as raised, else the value's __tostring, else the value itself
// (take_error reads what it is).
int traceback_handler(lua_State* L) {
  const bool is_string = lua_isstring(L, 1) != 0;
  if (is_string) {
    lua_pushnil(L);  // nothing left from an earlier error
  } else {
    lua_pushvalue(L, 1);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, kErrorValueKey);
  if (!is_string) {
    lua_pushcfunction(L, call_tostring);
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_type(L, -1) == LUA_TSTRING) lua_replace(L, 1);
  }
  luaL_traceback(L, L, nullptr, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, kTracebackKey);
  lua_settop(L, 1);
  return 1;
}

// After a job raised an error (LUA_ERRRUN, the handler's result on top): fills the
// RESULT's error message, traceback and, for a raised value that is not a string,
// value (a msgpack array of that one value). Clears what the handler kept.
void take_error(lua_State* L, proto::ResultMsg& res) {
  const int message = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, kTracebackKey);
  const char* tb = lua_tostring(L, -1);
  res.traceback = tb ? tb : "";
  lua_getfield(L, LUA_REGISTRYINDEX, kErrorValueKey);
  const int raised = lua_gettop(L);
  const bool has_value = !lua_isnil(L, raised);  // error(nil) leaves nothing to send
  std::string why_not;
  if (has_value) {
    res.value = "\x91";  // a msgpack array of one value
    if (Status st = lua::pack(L, raised, res.value, "error value"); !st) {
      res.value.clear();
      why_not = st.message();
    }
  }
  if (lua_type(L, message) != LUA_TSTRING) {  // run_job made a number a string
    res.error = std::string("(error object is a ") + luaL_typename(L, message) + " value";
    if (!why_not.empty()) {
      res.error += " that cannot be sent back: " + why_not;
    } else if (has_value) {
      res.error += "; it is in the error's value field";
    }
    res.error += ')';
  } else if (!why_not.empty()) {
    res.error += " (the error value cannot be sent back: " + why_not + ")";
  }
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kTracebackKey);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, kErrorValueKey);
  lua_settop(L, message);
}

}  // namespace pp::server
