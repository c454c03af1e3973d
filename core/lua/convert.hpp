// Conversion between Lua values and msgpack bytes, used by the node's workers
// (job arguments in, results out) and by the client's Lua module (the reverse).
//
// Mapping: nil <-> nil; boolean <-> bool; a number with an exact integer value in
// the int64 range -> msgpack int, other numbers -> float64; string <-> str (bin
// also decodes to a string); a table whose keys are exactly 1..n -> array, an
// empty table -> empty array, any other table -> map.
// 64-bit integers: int64_t and uint64_t cdata -> msgpack int. A msgpack int that
// a double holds exactly decodes to a Lua number (so 5LL comes back as 5); one
// that it does not becomes int64_t cdata, or uint64_t cdata above the int64
// range (so 2LL^62+1 and 0xffffffffffffffffULL come back exactly). msgpack ints
// carry no C type: a uint64_t at most 2^63-1 comes back as int64_t. As a map key
// such an int becomes the nearest number (a cdata key would compare by identity).
// A caller may pack some userdata itself (UserdataHook: the client's job objects,
// which travel as job references); other functions, userdata, threads, other cdata, NaN map keys, nesting deeper than
// the limit (this also catches cycles) are refused with a Status naming the
// value and the path inside it (for example "(argument 2, at .points[7])").
// Decoding is strict and bounded: at most kMaxDepth nesting, a complete value
// with no trailing bytes, and no ext types unless the caller resolves them
// (ExtHook: the worker's scattered values, core/proto/data_ref.hpp).
// Functions never raise Lua errors and never throw; they leave the Lua stack
// as documented (on failure, as it was).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/util/status.hpp"

struct lua_State;

namespace pp::lua {

inline constexpr int kMaxDepth = 64;

// Packs a userdata the caller knows, at any depth: called with the value's absolute
// stack index, it appends its encoding to `out` and returns ok, returns kNotFound to
// leave it to the encoder (which refuses it as any userdata), or another error, which
// the encoder reports with the value's place. It must leave the Lua stack as it found it.
struct UserdataHook {
  Status (*pack)(void* context, lua_State* L, int index, std::string& out) = nullptr;
  void* context = nullptr;
};

// Pushes the value an ext value stands for, at any depth but as a map key: called with
// the ext's type and body, it pushes exactly one value and returns ok, or returns an
// error and pushes nothing. It may raise no Lua error. Without a hook, exts are refused.
struct ExtHook {
  Status (*push)(void* context, lua_State* L, int8_t type, std::string_view body) = nullptr;
  void* context = nullptr;
};

// Appends the msgpack encoding of the value at stack `index` to `out`. Errors
// call the value `name` ("error value" -> "... (error value, at .code)").
Status pack(lua_State* L, int index, std::string& out, const char* name = "value");
// Appends a msgpack array holding the values at stack indices first..last
// (inclusive; an empty array when last < first). Errors call the i-th value
// "<item> i" ("argument" -> "... (argument 2, at .f)").
Status pack_range(lua_State* L, int first, int last, std::string& out,
                  const char* item = "value", const UserdataHook* hook = nullptr);
// Decodes exactly one msgpack value and pushes it (pushes nothing on failure).
Status push(lua_State* L, std::string_view bytes);
// Decodes a msgpack array and pushes its elements in order, returning how many
// (pushes nothing on failure). Checks the Lua stack has room.
Result<int> push_array_elements(lua_State* L, std::string_view bytes,
                                const ExtHook* hook = nullptr);

}  // namespace pp::lua
