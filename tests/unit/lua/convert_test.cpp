// Lua -> msgpack (convert.cpp).
#include "core/lua/convert.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include <lua.hpp>
#include <msgpack.hpp>

#include <doctest/doctest.h>

#include "tests/unit/lua/test_support.hpp"

using pp::StatusCode;
using pp::lua::test::check_roundtrip;
using pp::lua::test::hex;
using pp::lua::test::Lua;

TEST_CASE("lua.convert.roundtrip_scalars") {
  Lua lua;
  for (const char* expr : {"nil",
                           "true",
                           "false",
                           "0",
                           "1",
                           "-1",
                           "127",
                           "128",
                           "255",
                           "256",
                           "65535",
                           "65536",
                           "2^32 - 1",
                           "2^32",
                           "2^53",
                           "-2^53",
                           "2^63",
                           "-2^63",
                           "-32",
                           "-33",
                           "-128",
                           "-129",
                           "-32768",
                           "-32769",
                           "-2^31",
                           "-2^31 - 1",
                           "0.1",
                           "-0.5",
                           "1e300",
                           "5e-324",
                           "math.huge",
                           "-math.huge",
                           "0/0",
                           "-0.0",
                           "''",
                           "'hello'",
                           "'a\\0b\\0'",
                           "string.rep('x', 70000)",
                           "string.rep('\\255', 300)"}) {
    check_roundtrip(lua, expr);
  }
}

TEST_CASE("lua.convert.smallest_encodings") {
  Lua lua;
  const std::pair<const char*, const char*> cases[] = {{"nil", "c0"},
                                                       {"false", "c2"},
                                                       {"true", "c3"},
                                                       {"0", "00"},
                                                       {"127", "7f"},
                                                       {"128", "cc80"},
                                                       {"255", "ccff"},
                                                       {"256", "cd0100"},
                                                       {"65535", "cdffff"},
                                                       {"65536", "ce00010000"},
                                                       {"2^32 - 1", "ceffffffff"},
                                                       {"2^32", "cf0000000100000000"},
                                                       {"2^53", "cf0020000000000000"},
                                                       {"-1", "ff"},
                                                       {"-32", "e0"},
                                                       {"-33", "d0df"},
                                                       {"-128", "d080"},
                                                       {"-129", "d1ff7f"},
                                                       {"-32768", "d18000"},
                                                       {"-32769", "d2ffff7fff"},
                                                       {"-2^31", "d280000000"},
                                                       {"-2^31 - 1", "d3ffffffff7fffffff"},
                                                       {"-2^63", "d38000000000000000"},
                                                       {"2^63", "cb43e0000000000000"},
                                                       {"0.5", "cb3fe0000000000000"},
                                                       {"-0.0", "cb8000000000000000"},
                                                       {"''", "a0"},
                                                       {"'abc'", "a3616263"},
                                                       {"{}", "90"},
                                                       {"{1, 2}", "920102"},
                                                       {"{a = 1}", "81a16101"},
                                                       {"nest(2)", "9190"}};
  for (const auto& [expr, want] : cases) {
    INFO(expr);
    CHECK(hex(lua.packed(expr)) == want);
  }
  // Header widths of strings, arrays and maps.
  CHECK(hex(lua.packed("('x'):rep(31)")).substr(0, 2) == "bf");
  CHECK(hex(lua.packed("('x'):rep(32)")).substr(0, 4) == "d920");
  CHECK(hex(lua.packed("('x'):rep(256)")).substr(0, 6) == "da0100");
  CHECK(hex(lua.packed("('x'):rep(65536)")).substr(0, 10) == "db00010000");
  const char* fill =
      "(function(n, m) local t = {} for i = 1, n do t[m and 'k'..i or i] = 0 end "
      "return t end)";
  CHECK(hex(lua.packed(std::string(fill) + "(15)")).substr(0, 2) == "9f");
  CHECK(hex(lua.packed(std::string(fill) + "(16)")).substr(0, 6) == "dc0010");
  CHECK(hex(lua.packed(std::string(fill) + "(65536)")).substr(0, 10) == "dd00010000");
  CHECK(hex(lua.packed(std::string(fill) + "(15, true)")).substr(0, 2) == "8f");
  CHECK(hex(lua.packed(std::string(fill) + "(16, true)")).substr(0, 6) == "de0010");
  CHECK(hex(lua.packed(std::string(fill) + "(65536, true)")).substr(0, 10) == "df00010000");
}

TEST_CASE("lua.convert.roundtrip_tables") {
  Lua lua;
  for (const char* expr :
       {"{}", "{{}, {{}}}", "{1, 2.5, 'x', true, false}", "{a = 1, b = {c = {d = 'e'}}}",
        "{[1] = 'a', [3] = 'c'}", "{[0] = 0, 1, 2}", "{[-1] = 1, [1.5] = 2, [2^53] = 3}",
        "{[true] = 'yes', [false] = 'no'}", "{['a\\0b'] = 'n\\0l', [''] = ''}",
        "{list = {1, {2, {3, {x = {}}}}}, n = 0/0, z = -0.0}", "{[1] = {}, [2] = {}}",
        "nest(64)"}) {
    check_roundtrip(lua, expr);
  }
}

TEST_CASE("lua.convert.maps_pack_canonically") {
  // Equal tables give equal bytes whatever the insertion order (Lua's traversal order
  // depends on it, and on a per-process hash seed): entries are sorted by encoded key.
  Lua lua;
  const std::string forward = lua.packed(
      "(function() local t = {} for i = 1, 200 do t['k' .. i] = {i, x = i, [i + 0.5] = true} "
      "end t[true] = 1 t[-3] = 'n' return t end)()");
  const std::string backward = lua.packed(
      "(function() local t = {} t[-3] = 'n' t[true] = 1 for i = 200, 1, -1 do "
      "local v = {} v[i + 0.5] = true v.x = i v[1] = i t['k' .. i] = v end return t end)()");
  CHECK(forward == backward);
  CHECK(lua.packed("{b = 1, a = 2}") == lua.packed("{a = 2, b = 1}"));
  CHECK(hex(lua.packed("{b = 1, a = 2}")) == "82a16102a16201");  // "a" before "b"
  check_roundtrip(lua, "{b = 1, a = 2, [1] = 3, [true] = 4}");
}

TEST_CASE("lua.convert.array_or_map") {
  Lua lua;
  CHECK(hex(lua.packed("{10, 20, 30}")) == "930a141e");
  CHECK(hex(lua.packed("{[1] = 10, [2] = 20}")) == "920a14");
  CHECK(hex(lua.packed("{[2] = 20}")) == "810214");
  CHECK(hex(lua.packed("{[1.5] = 1}")) == "81cb3ff800000000000001");
  // Keys that are not exactly 1..n make a map even when a count matches the length.
  for (const char* expr : {"{1, nil, 3}", "{1, 2, x = 1}", "{[0] = 0, 1}", "{1, nil, 3, x = 1}",
                           "{n = 1}", "{[1] = 1, ['2'] = 2}"}) {
    INFO(expr);
    const std::string h = hex(lua.packed(expr));
    CHECK(h[0] == '8');
  }
}

TEST_CASE("lua.convert.refusals") {
  Lua lua;
  const std::pair<const char*, const char*> cases[] = {
      {"{1, 2, {x = {io.stdout}}}", "cannot send a userdata value (value, at [3].x[1])"},
      {"coroutine.create(print)", "cannot send a thread value (value)"},
      {"{n = require('ffi').new('int32_t', 1)}",
       "cannot send a cdata value (value, at .n); only int64_t and uint64_t cdata travel: "
       "convert others with tonumber()"},
      {"{[{}] = 1}",
       "cannot send a table with a table key (keys must be strings, numbers or booleans) "
       "(value)"},
      {"{a = {[print] = 1}}",
       "cannot send a table with a function key (keys must be strings, numbers or booleans) "
       "(value, at .a)"},
      {"{['a b'] = {[2.5] = {[true] = {x1 = {[-3] = print}}}}}",
       "cannot send a function value (value, at [\"a b\"][2.5][true].x1[-3])"},
      {"{[('k'):rep(40)] = print}",
       "cannot send a function value (value, at [\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\"])"},
      {"{['\\0\"'] = print}", "cannot send a function value (value, at [\"\\x00\\x22\"])"},
      {"(function() local t = {} t.self = t return t end)()",
       "cannot send tables nested more than 64 deep (is the table cyclic?) (value, at "
       ".self.self.self.self.self.self....self.self.self.self.self.self)"},
      {"nest(65)",
       "cannot send tables nested more than 64 deep (is the table cyclic?) (value, at "
       "[1][1][1][1][1][1]...[1][1][1][1][1][1])"}};
  for (const auto& [expr, want] : cases) {
    INFO(expr);
    lua.eval("return " + std::string(expr));
    const int top = lua.top();
    std::string out = "prefix";
    const pp::Status s = pp::lua::pack(lua.L, -1, out);
    CHECK(!s);
    CHECK(s.message() == want);
    CHECK(out == "prefix");
    CHECK(lua.top() == top);
    lua_settop(lua.L, 0);
  }
  lua_pushlightuserdata(lua.L, &lua);
  std::string out;
  CHECK(pp::lua::pack(lua.L, 1, out).message() == "cannot send a userdata value (value)");
  CHECK(pp::lua::pack(lua.L, 2, out).code() == StatusCode::kInvalid);
  CHECK(pp::lua::pack(lua.L, 0, out).code() == StatusCode::kInvalid);
  CHECK(pp::lua::pack(lua.L, -2, out).code() == StatusCode::kInvalid);
  CHECK(pp::lua::pack(lua.L, -5, out).code() == StatusCode::kInvalid);
  CHECK(out.empty());
}

TEST_CASE("lua.convert.refusals_name_the_value") {
  // Messages name what is being sent, as the caller calls it: a function in the
  // second argument, a return value, a raised error value.
  Lua lua;
  std::string out;
  lua.eval("return 1, {f = print}");
  pp::Status s = pp::lua::pack_range(lua.L, 1, 2, out, "argument");
  CHECK(s.message() == "cannot send a function value (argument 2, at .f)");
  CHECK(lua.top() == 2);
  CHECK(out.empty());
  s = pp::lua::pack_range(lua.L, 1, 2, out);
  CHECK(s.message() == "cannot send a function value (value 2, at .f)");
  lua_settop(lua.L, 0);
  lua.eval("return print, 2");
  s = pp::lua::pack_range(lua.L, 1, 2, out, "return value");
  CHECK(s.message() == "cannot send a function value (return value 1)");
  s = pp::lua::pack(lua.L, 1, out, "error value");
  CHECK(s.message() == "cannot send a function value (error value)");
  CHECK(out.empty());
}

TEST_CASE("lua.convert.depth_limit") {
  Lua lua;
  std::string out;
  lua.eval("return nest(64), nest(63), nest(64)");
  REQUIRE(pp::lua::pack(lua.L, 1, out));
  CHECK(pp::lua::push(lua.L, out));
  // pack_range's own array counts as a level, as it does for push_array_elements.
  out.clear();
  REQUIRE(pp::lua::pack_range(lua.L, 2, 2, out));
  CHECK(pp::lua::push_array_elements(lua.L, out).has_value());
  out.clear();
  CHECK(pp::lua::pack_range(lua.L, 3, 3, out).code() == StatusCode::kTooLarge);
  CHECK(out.empty());
}

TEST_CASE("lua.convert.pack_range") {
  Lua lua;
  std::string out = "p";
  CHECK(pp::lua::pack_range(lua.L, 1, 0, out));
  CHECK(hex(out) == "7090");  // appended after the existing byte
  lua.eval("return 1, nil, 'x', {y = true}");
  out.clear();
  REQUIRE(pp::lua::pack_range(lua.L, -2, -1, out));
  CHECK(hex(out) == "92a17881a179c3");
  out.clear();
  REQUIRE(pp::lua::pack_range(lua.L, 1, 4, out));
  const pp::Result<int> n = pp::lua::push_array_elements(lua.L, out);
  REQUIRE(n.has_value());
  CHECK(*n == 4);
  REQUIRE(lua.top() == 8);
  for (int i = 1; i <= 4; ++i) CHECK(lua.equal(i, i + 4));
  CHECK(pp::lua::pack_range(lua.L, 1, 9, out).code() == StatusCode::kInvalid);
  CHECK(pp::lua::pack_range(lua.L, 0, 2, out).code() == StatusCode::kInvalid);
  CHECK(pp::lua::pack_range(lua.L, LUA_GLOBALSINDEX, LUA_GLOBALSINDEX, out).code() ==
        StatusCode::kInvalid);
}

TEST_CASE("lua.convert.msgpack_c_crosscheck") {
  Lua lua;
  // msgpack-c writes, we read: every int width in its fixed form, float32, bin.
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(&buf);
  pk.pack_map(4);
  pk.pack(std::string("ints"));
  pk.pack_array(9);
  pk.pack_fix_uint8(200);
  pk.pack_fix_uint16(60000);
  pk.pack_fix_uint32(4000000000u);
  pk.pack_fix_uint64(uint64_t{1} << 53);
  pk.pack_fix_int8(-100);
  pk.pack_fix_int16(-30000);
  pk.pack_fix_int32(-2000000000);
  pk.pack_fix_int64(std::numeric_limits<int64_t>::min());
  pk.pack(-5);
  pk.pack(std::string("floats"));
  pk.pack_array(2);
  pk.pack_float(1.5f);
  pk.pack_double(0.1);
  pk.pack(std::string("bin"));
  pk.pack_bin(3);
  pk.pack_bin_body("a\0b", 3);
  pk.pack(std::string("misc"));
  pk.pack_array(3);
  pk.pack_nil();
  pk.pack_true();
  pk.pack_map(0);
  REQUIRE(pp::lua::push(lua.L, std::string_view(buf.data(), buf.size())));
  lua.eval(
      "return {ints = {200, 60000, 4000000000, 2^53, -100, -30000, -2000000000, -2^63, -5}, "
      "floats = {1.5, 0.1}, bin = 'a\\0b', misc = {nil, true, {}}}");
  CHECK(lua.equal(1, 2));
  lua_settop(lua.L, 0);

  // We write, msgpack-c reads.
  lua.eval("return 1, -200, 2^40, 0.25, 's\\0', true, {k = 'v'}, nil, -2^63");
  std::string out;
  REQUIRE(pp::lua::pack_range(lua.L, 1, lua.top(), out));
  std::size_t off = 0;
  const msgpack::object_handle oh = msgpack::unpack(out.data(), out.size(), off);
  CHECK(off == out.size());
  const msgpack::object& o = oh.get();
  REQUIRE(o.type == msgpack::type::ARRAY);
  REQUIRE(o.via.array.size == 9);
  const msgpack::object* a = o.via.array.ptr;
  CHECK(a[0].as<int>() == 1);
  CHECK(a[1].as<int64_t>() == -200);
  CHECK(a[2].as<int64_t>() == int64_t{1} << 40);
  CHECK(a[3].as<double>() == 0.25);
  CHECK(a[4].as<std::string>() == std::string("s\0", 2));
  CHECK(a[5].as<bool>());
  REQUIRE(a[6].type == msgpack::type::MAP);
  CHECK(a[6].via.map.ptr[0].key.as<std::string>() == "k");
  CHECK(a[7].is_nil());
  CHECK(a[8].as<int64_t>() == std::numeric_limits<int64_t>::min());
}
