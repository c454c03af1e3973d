// LuaJIT's boxed 64-bit integers (int64_t / uint64_t cdata) for the converter
// (convert.cpp, convert_decode.cpp); internal to pp_lua.
//
// The Lua C API cannot read or create cdata: only the ffi module can. So the
// first use in a Lua state loads a tiny Lua helper (given the state's ffi
// module, taken from the registry as `require "ffi"` would) and keeps it in the
// registry; later uses are one protected call. These are the rare paths: a
// number that fits a double never comes here, so the converter's common path
// costs what it did before.
//
// Both functions run the helper under lua_pcall: a Lua error (out of memory, a
// state without the ffi module) comes back as a Status, never raised. They
// leave the Lua stack as they found it.
#pragma once

#include <cstdint>

#include "core/util/status.hpp"

struct lua_State;

namespace pp::lua::detail {

// What a cdata value is, as far as the converter cares.
struct CdataInt {
  enum Kind { kOther, kSigned, kUnsigned } kind = kOther;
  uint64_t bits = 0;  // the value's two's-complement bits (kSigned, kUnsigned)
};

// Reads the cdata at absolute stack index `index`.
Result<CdataInt> read_cdata_int(lua_State* L, int index);
// Pushes an int64_t (is_signed) or uint64_t cdata holding `bits`.
Status push_cdata_int(lua_State* L, uint64_t bits, bool is_signed);

}  // namespace pp::lua::detail
