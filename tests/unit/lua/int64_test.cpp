// 64-bit integers through the converter (convert.cpp, convert_decode.cpp,
// int64.cpp): int64_t / uint64_t cdata go out as msgpack ints, and ints a
// double cannot hold come back as cdata of the type their range says.
#include "core/lua/convert.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <doctest/doctest.h>
#include <lua.hpp>
#include <msgpack.hpp>

#include "tests/unit/lua/test_support.hpp"

using pp::lua::test::hex;
using pp::lua::test::Lua;
using pp::lua::test::unhex;

namespace {

// "int64_t", "uint64_t" or "number": what the value on top of the stack is.
std::string kind_of_top(Lua& lua) {
  lua_getglobal(lua.L, "kind");
  lua_pushvalue(lua.L, -2);
  REQUIRE(lua_pcall(lua.L, 1, 1, 0) == 0);
  std::string k = lua_tostring(lua.L, -1);
  lua_pop(lua.L, 1);
  return k;
}

constexpr const char* kKind = R"(
  local ffi = require "ffi"
  function kind(v)
    if ffi.istype("int64_t", v) then return "int64_t" end
    if ffi.istype("uint64_t", v) then return "uint64_t" end
    return type(v)
  end
)";

// Packs `return <expr>`, decodes it, and checks the type and value that come back.
void check_int64_roundtrip(Lua& lua, const std::string& expr, const std::string& want_kind) {
  INFO(expr);
  lua.eval("return " + expr);
  std::string out;
  REQUIRE(pp::lua::pack(lua.L, -1, out));
  REQUIRE(pp::lua::push(lua.L, out));
  CHECK(kind_of_top(lua) == want_kind);
  lua_getglobal(lua.L, "same");
  lua_insert(lua.L, -3);
  REQUIRE(lua_pcall(lua.L, 2, 1, 0) == 0);
  CHECK(lua_toboolean(lua.L, -1));
  lua_settop(lua.L, 0);
}

}  // namespace

TEST_CASE("lua.convert.int64_roundtrip_at_the_edges") {
  Lua lua;
  lua.eval(kKind);
  lua.eval("function same(a, b) return a == b and tostring(a) == tostring(b) end");
  // Beyond what a double holds: the same value, as int64_t up to 2^63-1, uint64_t above.
  check_int64_roundtrip(lua, "2LL^53 + 1", "int64_t");
  check_int64_roundtrip(lua, "2LL^62 + 1", "int64_t");
  check_int64_roundtrip(lua, "-2LL^53 - 1", "int64_t");
  check_int64_roundtrip(lua, "-2LL^63 + 1", "int64_t");
  check_int64_roundtrip(lua, "0x7fffffffffffffffLL", "int64_t");
  check_int64_roundtrip(lua, "0xffffffffffffffffULL", "uint64_t");
  check_int64_roundtrip(lua, "2ULL^63 + 1", "uint64_t");
  // A uint64_t within the int64 range: the value is kept, the type is int64_t.
  lua.eval("function same(a, b) return a == b end");
  check_int64_roundtrip(lua, "2ULL^53 + 1", "int64_t");
  // What a double holds exactly comes back as a number.
  lua.eval("function same(a, b) return tonumber(a) == b end");
  for (const char* expr : {"5LL", "-1LL", "0ULL", "2LL^53", "-2LL^53", "-2LL^63", "2ULL^63",
                           "0xfffffffffffff800ULL"}) {
    check_int64_roundtrip(lua, expr, "number");
  }
}

TEST_CASE("lua.convert.int64_encodings") {
  Lua lua;
  const std::pair<const char*, const char*> cases[] = {
      {"5LL", "05"},
      {"5ULL", "05"},
      {"-1LL", "ff"},
      {"-200LL", "d1ff38"},
      {"2LL^53 + 1", "cf0020000000000001"},
      {"-2LL^63", "d38000000000000000"},
      {"0x7fffffffffffffffLL", "cf7fffffffffffffff"},
      {"0xffffffffffffffffULL", "cfffffffffffffffff"},
      {"{x = 2LL^62 + 1}", "81a178cf4000000000000001"}};
  for (const auto& [expr, want] : cases) {
    INFO(expr);
    CHECK(hex(lua.packed(expr)) == want);
  }
}

TEST_CASE("lua.convert.int64_nested_and_in_lists") {
  Lua lua;
  lua.eval(kKind);
  lua.eval(
      "return {a = {2LL^53 + 1, x = -2LL^63 + 7}, 0xffffffffffffffffULL, 2}, 2LL^62 + 1, "
      "'s', 0xfffffffffffffffeULL");
  std::string out;
  REQUIRE(pp::lua::pack_range(lua.L, 1, 4, out, "argument"));
  lua_settop(lua.L, 0);
  const pp::Result<int> n = pp::lua::push_array_elements(lua.L, out);
  REQUIRE(n.has_value());
  CHECK(*n == 4);
  lua_setglobal(lua.L, "d");
  lua_setglobal(lua.L, "c");
  lua_setglobal(lua.L, "b");
  lua_setglobal(lua.L, "a");
  lua.eval(
      "return kind(a.a[1]) == 'int64_t' and a.a[1] == 2LL^53 + 1 and "
      "kind(a.a.x) == 'int64_t' and a.a.x == -2LL^63 + 7 and "
      "kind(a[1]) == 'uint64_t' and a[1] == 0xffffffffffffffffULL and a[2] == 2 and "
      "kind(b) == 'int64_t' and b == 2LL^62 + 1 and c == 's' and "
      "kind(d) == 'uint64_t' and d == 0xfffffffffffffffeULL");
  CHECK(lua_toboolean(lua.L, -1));
}

TEST_CASE("lua.convert.int64_from_msgpack_c") {
  // Another writer's 64-bit ints (fixed widths, signed or not) read the same way.
  Lua lua;
  lua.eval(kKind);
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(&buf);
  pk.pack_array(5);
  pk.pack_fix_uint64(std::numeric_limits<uint64_t>::max());
  pk.pack_fix_uint64((uint64_t{1} << 53) + 1);
  pk.pack_fix_int64(-(int64_t{1} << 53) - 1);
  pk.pack_fix_int64((int64_t{1} << 53) + 3);
  pk.pack_fix_int64(-(int64_t{1} << 53));
  REQUIRE(pp::lua::push(lua.L, std::string_view(buf.data(), buf.size())));
  lua_setglobal(lua.L, "t");
  lua.eval(
      "return kind(t[1]) == 'uint64_t' and t[1] == 0xffffffffffffffffULL and "
      "kind(t[2]) == 'int64_t' and t[2] == 2LL^53 + 1 and "
      "kind(t[3]) == 'int64_t' and t[3] == -2LL^53 - 1 and "
      "kind(t[4]) == 'int64_t' and t[4] == 2LL^53 + 3 and "
      "kind(t[5]) == 'number' and t[5] == -2^53");
  CHECK(lua_toboolean(lua.L, -1));
}

TEST_CASE("lua.convert.int64_map_keys_are_numbers") {
  // A cdata key would compare by identity, so a 64-bit key becomes the nearest number.
  Lua lua;
  REQUIRE(pp::lua::push(lua.L, unhex("81cf0020000000000001c3")));
  lua_pushnumber(lua.L, 0x1p53);
  lua_rawget(lua.L, -2);
  CHECK(lua_toboolean(lua.L, -1));
}

TEST_CASE("lua.convert.int64_common_path_leaves_ffi_alone") {
  // Numbers that fit a double never reach the ffi helper: a state that converts only
  // them never loads the ffi module; the first 64-bit int does.
  Lua lua;
  lua.eval("return package.loaded.ffi == nil");
  REQUIRE(lua_toboolean(lua.L, -1));
  lua_settop(lua.L, 0);
  lua.eval("return {1, -2^53, 2^63, 0.5, 'x', {a = -2^31}}");
  std::string out;
  REQUIRE(pp::lua::pack(lua.L, 1, out));
  REQUIRE(pp::lua::push(lua.L, out));
  REQUIRE(pp::lua::push(lua.L, unhex("92cf0020000000000000d38000000000000000")));
  lua_settop(lua.L, 0);
  lua.eval("return package.loaded.ffi == nil");
  CHECK(lua_toboolean(lua.L, -1));
  lua_settop(lua.L, 0);
  REQUIRE(pp::lua::push(lua.L, unhex("cf0020000000000001")));
  lua.eval("return package.loaded.ffi ~= nil");
  CHECK(lua_toboolean(lua.L, -1));
}

TEST_CASE("lua.convert.int64_without_ffi") {
  // A bare state (no libraries) has no ffi module: a 64-bit int that needs cdata is
  // refused with a message, the stack unchanged; ordinary ints still decode.
  lua_State* L = luaL_newstate();
  pp::Status s = pp::lua::push(L, unhex("cf0020000000000001"));
  CHECK(!s);
  CHECK(s.message().find("64-bit integers need LuaJIT's ffi module") != std::string::npos);
  CHECK(s.message().find("at byte 0") != std::string::npos);
  CHECK(lua_gettop(L) == 0);
  CHECK(pp::lua::push(L, unhex("cf0020000000000000")));
  CHECK(lua_tonumber(L, -1) == 0x1p53);
  lua_close(L);
}
