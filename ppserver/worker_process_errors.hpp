// How a worker reports what goes wrong. A Lua error becomes a RESULT: the message
// handler that runs under lua_pcall keeps the traceback (and a raised value that is
// not a string) in the registry, and take_error fills the RESULT's error, traceback
// and value from them. A worker that ends abnormally (a job's os.exit, a fatal signal
// such as an FFI segfault) first writes the results it still holds (the last-chance
// flush), so jobs that finished before the one that killed it are not run again.
// Used by the worker process only (worker_process.cpp), on its one thread.
#pragma once

#include <lua.hpp>

#include <string>

#include "core/proto/messages.hpp"

namespace pp::server {

// Message handler for lua_pcall: returns the error message (a string as raised, else
// the value's __tostring, else the value itself), keeping the rest for take_error.
int traceback_handler(lua_State* L);

// After a job raised an error (LUA_ERRRUN, the handler's result on top): fills the
// RESULT's error message, traceback and, for a raised value that is not a string,
// value (a msgpack array of that one value). Clears what the handler kept.
void take_error(lua_State* L, proto::ResultMsg& res);

// The bytes written to `fd` should the process end abnormally: the worker's buffer of
// results not yet sent (nullptr: none). Held by pointer; reset it before the buffer goes.
void keep_for_last_flush(int fd, const std::string* pending);
// Makes exit() and the fatal signals write those bytes first (write(2) only); a signal
// then ends the process as it would have, so the node sees the same cause.
void install_last_flush();

}  // namespace pp::server
