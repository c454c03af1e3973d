// Conversion between Lua values and msgpack bytes, used by the node's workers
// (job arguments in, results out) and by the client's Lua module (the reverse).
//
// Mapping: nil <-> nil; boolean <-> bool; a number with an exact integer value in
// the int64 range -> msgpack int, other numbers -> float64; msgpack ints decode to
// Lua numbers (exact up to 2^53); string <-> str (bin also decodes to a string);
// a table whose keys are exactly 1..n -> array, an empty table -> empty array,
// any other table -> map. cdata (including int64_t) is refused: convert it with
// tonumber() first (the C API cannot tell an int64 from other cdata safely).
// Functions, userdata, threads, cdata, NaN map keys, nesting deeper than
// the limit (this also catches cycles) are refused with a Status naming the path
// of the offending value (for example "args[2].points[7]").
// Decoding is strict and bounded: at most kMaxDepth nesting, a complete value
// with no trailing bytes, and no ext types.
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

// Appends the msgpack encoding of the value at stack `index` to `out`.
Status pack(lua_State* L, int index, std::string& out);
// Appends a msgpack array holding the values at stack indices first..last
// (inclusive; an empty array when last < first).
Status pack_range(lua_State* L, int first, int last, std::string& out);
// Decodes exactly one msgpack value and pushes it (pushes nothing on failure).
Status push(lua_State* L, std::string_view bytes);
// Decodes a msgpack array and pushes its elements in order, returning how many
// (pushes nothing on failure). Checks the Lua stack has room.
Result<int> push_array_elements(lua_State* L, std::string_view bytes);

}  // namespace pp::lua
