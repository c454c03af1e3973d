// libFuzzer harness for the msgpack <-> Lua conversion (core/lua/convert.*).
//
// The input is msgpack bytes, as job arguments or results arrive off the
// network. Properties checked:
//  - push() either refuses (kInvalid / kTooLarge, a message, the Lua stack as
//    it was) or pushes exactly one value;
//  - a pushed value always packs again (the decoder accepts nothing the
//    encoder cannot send: depth, keys), the packed bytes push again to a
//    deep-equal value, and that value packs to the same number of bytes (map
//    order may differ between two equal tables, sizes may not);
//  - push_array_elements() agrees with push() on an array: it succeeds exactly
//    when push() does (for arrays the Lua stack can hold) and pushes the
//    elements push() put in the table, nils included; pack_range() of those
//    values (how a client packs job arguments) pushes back to the same values;
// all under ASan/UBSan, so a read past the input or an overflow in a length
// check is a crash even when the result looks right.
#include <lua.hpp>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/lua/convert.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using pp::StatusCode;

lua_State* state() {
  // One state for the whole run: creating one per input would dominate the time.
  // The libraries give push() the ffi module for 64-bit integers a double cannot hold.
  static lua_State* L = [] {
    lua_State* s = luaL_newstate();
    PP_FUZZ_CHECK(s != nullptr);
    luaL_openlibs(s);
    return s;
  }();
  return L;
}

bool same_number(lua_Number a, lua_Number b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);  // 0 and -0 differ
}

// Whether tostring() gives the same text for the values at absolute indices a and b.
bool same_text(lua_State* L, int a, int b) {
  PP_FUZZ_CHECK(lua_checkstack(L, 4));
  lua_getglobal(L, "tostring");
  lua_pushvalue(L, a);
  PP_FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == 0);
  lua_getglobal(L, "tostring");
  lua_pushvalue(L, b);
  PP_FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == 0);
  const bool same = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  return same;
}

// Deep equality of the values at absolute indices a and b, by raw access.
bool deep_equal(lua_State* L, int a, int b) {
  const int type = lua_type(L, a);
  if (type != lua_type(L, b)) return false;
  switch (type) {
    case LUA_TNIL:
      return true;
    case LUA_TBOOLEAN:
      return lua_toboolean(L, a) == lua_toboolean(L, b);
    case LUA_TNUMBER:
      return same_number(lua_tonumber(L, a), lua_tonumber(L, b));
    case LUA_TSTRING: {
      size_t la = 0, lb = 0;
      const char* sa = lua_tolstring(L, a, &la);
      const char* sb = lua_tolstring(L, b, &lb);
      return std::string_view(sa, la) == std::string_view(sb, lb);
    }
    case LUA_TTABLE:
      break;
    case 10:  // cdata: push() makes only int64_t / uint64_t, whose tostring is the value
      return same_text(L, a, b);
    default:
      return false;  // push() makes nothing else
  }
  PP_FUZZ_CHECK(lua_checkstack(L, 4));
  size_t keys_a = 0;
  lua_pushnil(L);
  while (lua_next(L, a) != 0) {
    ++keys_a;
    const int value = lua_gettop(L);
    lua_pushvalue(L, value - 1);
    lua_rawget(L, b);
    const bool eq = deep_equal(L, value, value + 1);
    lua_pop(L, 2);
    if (!eq) {
      lua_pop(L, 1);
      return false;
    }
  }
  size_t keys_b = 0;
  lua_pushnil(L);
  while (lua_next(L, b) != 0) {
    ++keys_b;
    lua_pop(L, 1);
  }
  return keys_a == keys_b;
}

void check_refusal(lua_State* L, const pp::Status& s, int top) {
  PP_FUZZ_CHECK(s.code() == StatusCode::kInvalid || s.code() == StatusCode::kTooLarge);
  PP_FUZZ_CHECK(!s.message().empty());
  PP_FUZZ_CHECK(lua_gettop(L) == top);
}

// push(), then the pack/push round trip of what it pushed. Leaves the value
// pushed (or nothing) on the stack; returns whether push() succeeded.
bool check_push(lua_State* L, std::string_view input) {
  const int top = lua_gettop(L);
  pp::Status s = pp::lua::push(L, input);
  if (!s) {
    check_refusal(L, s, top);
    return false;
  }
  PP_FUZZ_CHECK(lua_gettop(L) == top + 1);
  std::string packed;
  s = pp::lua::pack(L, top + 1, packed);
  PP_FUZZ_CHECK(s.is_ok());
  PP_FUZZ_CHECK(lua_gettop(L) == top + 1);
  s = pp::lua::push(L, packed);
  PP_FUZZ_CHECK(s.is_ok());
  PP_FUZZ_CHECK(deep_equal(L, top + 1, top + 2));
  std::string repacked;
  PP_FUZZ_CHECK(pp::lua::pack(L, top + 2, repacked).is_ok());
  PP_FUZZ_CHECK(repacked.size() == packed.size());
  lua_settop(L, top + 1);
  return true;
}

// Whether pushing `count` values (and what nests in them) onto a stack of
// `top` may run out of room: LuaJIT's lua_checkstack() allows LUAI_MAXCSTACK
// slots in all, and each level of nesting being decoded holds a few more.
bool near_stack_limit(int top, int64_t count) {
  return top + count + 1 + 4 * int64_t{pp::lua::kMaxDepth} > LUAI_MAXCSTACK;
}

// The element count of the array `input` starts with, or -1 when it does not
// start with an array header (or the header is cut short).
int64_t array_count(std::string_view input) {
  if (input.empty()) return -1;
  const auto* p = reinterpret_cast<const unsigned char*>(input.data());
  if (p[0] >= 0x90 && p[0] <= 0x9f) return p[0] & 0x0f;
  const size_t width = p[0] == 0xdc ? 2 : p[0] == 0xdd ? 4 : 0;
  if (width == 0 || input.size() < 1 + width) return -1;
  int64_t n = 0;
  for (size_t i = 1; i <= width; ++i) n = (n << 8) | p[i];
  return n;
}

// Moves the `n` values on top of the stack into a new table (element i at key i, nils
// leaving holes), left where the first of them was: the comparisons that follow recurse
// into nested tables, and a stack that holds thousands of pushed values has no room left
// for that (LuaJIT's lua_checkstack() allows LUAI_MAXCSTACK slots in all).
void gather(lua_State* L, int n) {
  const int first = lua_gettop(L) - n + 1;
  lua_createtable(L, n, 0);   // push_array_elements() left room for one more value
  lua_insert(L, first);
  for (int i = n; i >= 1; --i) lua_rawseti(L, first, i);
}

// Element i of the tables at absolute indices a and b deep-equal, for i in 1..n.
void check_elements(lua_State* L, int a, int b, int n) {
  PP_FUZZ_CHECK(lua_checkstack(L, 2));
  for (int i = 1; i <= n; ++i) {
    lua_rawgeti(L, a, i);
    lua_rawgeti(L, b, i);
    const int top = lua_gettop(L);
    PP_FUZZ_CHECK(deep_equal(L, top - 1, top));
    lua_pop(L, 2);
  }
}

// push_array_elements() against push(): `table` is push()'s result, 0 if it failed.
void check_array_elements(lua_State* L, std::string_view input, int table) {
  const int top = lua_gettop(L);
  pp::Result<int> n = pp::lua::push_array_elements(L, input);
  const int64_t count = array_count(input);
  if (!n) {
    check_refusal(L, n.status(), top);
    // An array push() took is refused only for want of Lua stack.
    if (table != 0 && count >= 0) {
      PP_FUZZ_CHECK(n.status().code() == StatusCode::kTooLarge);
      PP_FUZZ_CHECK(near_stack_limit(top, count));
    }
    return;
  }
  PP_FUZZ_CHECK(table != 0 && count == *n);
  PP_FUZZ_CHECK(lua_gettop(L) == top + *n);
  // The job-arguments path: pack_range() of the values, then push_array_elements() again.
  // Packing nested tables needs stack too: refused for want of it only near the limit.
  std::string packed;
  const pp::Status ps = pp::lua::pack_range(L, top + 1, top + *n, packed);
  if (!ps) {
    PP_FUZZ_CHECK(ps.code() == StatusCode::kTooLarge && near_stack_limit(top, *n));
  }
  PP_FUZZ_CHECK(lua_gettop(L) == top + *n);
  gather(L, *n);   // the elements, as a table at top + 1
  check_elements(L, table, top + 1, *n);
  if (ps) {
    pp::Result<int> again = pp::lua::push_array_elements(L, packed);
    if (!again) {
      check_refusal(L, again.status(), top + 1);
      PP_FUZZ_CHECK(again.status().code() == StatusCode::kTooLarge);
      PP_FUZZ_CHECK(near_stack_limit(top + 1, *n));
    } else {
      PP_FUZZ_CHECK(*again == *n && lua_gettop(L) == top + 1 + *n);
      gather(L, *n);   // at top + 2
      check_elements(L, top + 1, top + 2, *n);
    }
  }
  lua_settop(L, top);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lua_State* L = state();
  lua_settop(L, 0);
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool pushed = check_push(L, input);
  check_array_elements(L, input, pushed ? 1 : 0);
  lua_settop(L, 0);
  return 0;
}
