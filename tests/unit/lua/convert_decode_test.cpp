// msgpack -> Lua (convert_decode.cpp), with hostile inputs.
#include "core/lua/convert.hpp"

#include <cmath>
#include <random>
#include <string>

#include <doctest/doctest.h>
#include <lua.hpp>

#include "tests/unit/lua/test_support.hpp"

using pp::StatusCode;
using pp::lua::kMaxDepth;
using pp::lua::test::hex;
using pp::lua::test::Lua;
using pp::lua::test::push_fails;
using pp::lua::test::unhex;

TEST_CASE("lua.convert.push_array_elements") {
  Lua lua;
  const pp::Result<int> empty = pp::lua::push_array_elements(lua.L, unhex("90"));
  REQUIRE(empty.has_value());
  CHECK(*empty == 0);
  for (const char* bad :
       {"", "81a16101", "01", "a161", "c0", "dc00", "910102", "9201", "ddffffffff", "91c1"}) {
    INFO(bad);
    const pp::Result<int> r = pp::lua::push_array_elements(lua.L, unhex(bad));
    CHECK(!r.has_value());
    CHECK(r.status().code() == StatusCode::kInvalid);
    CHECK(lua.top() == 0);
  }
  // More values than a C function may push: refused before decoding any.
  std::string many = unhex("dc2710") + std::string(10000, '\xc0');
  const pp::Result<int> r = pp::lua::push_array_elements(lua.L, many);
  CHECK(r.status().code() == StatusCode::kTooLarge);
  CHECK(lua.top() == 0);
  many = unhex("dc1b58") + std::string(7000, '\x01');
  const pp::Result<int> ok = pp::lua::push_array_elements(lua.L, many);
  REQUIRE(ok.has_value());
  CHECK(*ok == 7000);
  CHECK(lua.top() == 7000);
  CHECK(lua_tonumber(lua.L, 7000) == 1);
}

TEST_CASE("lua.convert.decode_widths") {
  Lua lua;
  const std::pair<const char*, double> numbers[] = {{"ccff", 255},
                                                    {"cdffff", 65535},
                                                    {"ceffffffff", 4294967295.0},
                                                    {"cf0020000000000000", 0x1p53},
                                                    {"cffffffffffffff800", 0x1p64 - 0x1p11},
                                                    {"d080", -128},
                                                    {"d18000", -32768},
                                                    {"d280000000", -2147483648.0},
                                                    {"d38000000000000000", -0x1p63},
                                                    {"d0ff", -1},
                                                    {"d1ffff", -1},
                                                    {"d2ffffffff", -1},
                                                    {"d3ffffffffffffffff", -1},
                                                    {"ca3fc00000", 1.5},
                                                    {"cb3fb999999999999a", 0.1},
                                                    {"e0", -32},
                                                    {"7f", 127}};
  for (const auto& [bytes, want] : numbers) {
    INFO(bytes);
    REQUIRE(pp::lua::push(lua.L, unhex(bytes)));
    CHECK(lua_type(lua.L, -1) == LUA_TNUMBER);
    CHECK(lua_tonumber(lua.L, -1) == want);
    lua_pop(lua.L, 1);
  }
  // Strings and bins of every width decode to Lua strings, NULs included.
  for (const char* bytes : {"a3610062", "d903610062", "da0003610062", "db00000003610062",
                            "c403610062", "c50003610062", "c600000003610062"}) {
    INFO(bytes);
    REQUIRE(pp::lua::push(lua.L, unhex(bytes)));
    size_t len = 0;
    const char* s = lua_tolstring(lua.L, -1, &len);
    CHECK(std::string(s, len) == std::string("a\0b", 3));
    lua_pop(lua.L, 1);
  }
  // A NaN with a payload must come back as an ordinary NaN (LuaJIT tags values in NaNs).
  REQUIRE(pp::lua::push(lua.L, unhex("cbffffffffffffffff")));
  CHECK(lua_type(lua.L, -1) == LUA_TNUMBER);
  CHECK(std::isnan(lua_tonumber(lua.L, -1)));
  lua_pop(lua.L, 1);
  // Valid scalar map keys, bin keys included.
  REQUIRE(pp::lua::push(lua.L, unhex("83c301c40161020503")));
  lua.eval("return {[true] = 1, a = 2, [5] = 3}");
  CHECK(lua.equal(1, 2));
}

TEST_CASE("lua.convert.hostile_truncated_and_trailing") {
  Lua lua;
  lua.eval(
      "return {1, -200, 70000, -2^40, 2^60, 0.25, 'str', ('long'):rep(20), true, false, nil, "
      "{a = {b = {}}, [7] = 'x'}}");
  std::string good;
  REQUIRE(pp::lua::pack(lua.L, 1, good));
  lua_settop(lua.L, 0);
  for (size_t n = 0; n < good.size(); ++n) push_fails(lua, good.substr(0, n));
  for (size_t n = 0; n < good.size(); ++n) {
    CHECK(!pp::lua::push_array_elements(lua.L, good.substr(0, n)).has_value());
    CHECK(lua.top() == 0);
  }
  CHECK(push_fails(lua, good + '\0').message() ==
        "msgpack value ends at byte " + std::to_string(good.size()) + " but the input has " +
            std::to_string(good.size() + 1) + " bytes");
  push_fails(lua, unhex("c0c0"));
  CHECK(pp::lua::push(lua.L, good));
}

TEST_CASE("lua.convert.hostile_lengths") {
  Lua lua;
  // Lengths far beyond the input are refused before anything is allocated.
  for (const char* bytes :
       {"ddffffffff", "dfffffffff", "dbffffffff", "c6ffffffff", "dcffff", "deffff", "daffff",
        "c5ffff", "d9ff", "c4ff", "9f", "8f", "bf", "9f000000", "8f0000", "dd0000000200",
        "df0000000101", "dd7fffffff00", "91dd000fffff"}) {
    const pp::Status s = push_fails(lua, unhex(bytes));
    CHECK(s.code() == StatusCode::kInvalid);
  }
  CHECK(push_fails(lua, unhex("ddffffffff")).message() ==
        "msgpack array claims 4294967295 bytes/elements but only 0 bytes of input remain");
}

TEST_CASE("lua.convert.hostile_depth") {
  Lua lua;
  const auto arrays = [](size_t n) { return std::string(n, '\x91') + '\xc0'; };
  const auto maps = [](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += "\x81\xa1k";
    return s + '\xc0';
  };
  CHECK(pp::lua::push(lua.L, arrays(kMaxDepth)));
  CHECK(pp::lua::push(lua.L, maps(kMaxDepth)));
  CHECK(pp::lua::push_array_elements(lua.L, arrays(kMaxDepth)).has_value());
  lua_settop(lua.L, 0);
  CHECK(push_fails(lua, arrays(kMaxDepth + 1)).code() == StatusCode::kTooLarge);
  CHECK(push_fails(lua, maps(kMaxDepth + 1)).code() == StatusCode::kTooLarge);
  CHECK(push_fails(lua, arrays(100000)).message() ==
        "msgpack nested more than 64 deep (at byte 64)");
  CHECK(push_fails(lua, std::string(100000, '\xdc')).code() == StatusCode::kTooLarge);
  CHECK(push_fails(lua, std::string(100000, '\xdd')).code() == StatusCode::kInvalid);
  CHECK(!pp::lua::push_array_elements(lua.L, arrays(kMaxDepth + 1)).has_value());
  CHECK(lua.top() == 0);
}

TEST_CASE("lua.convert.hostile_ext_reserved_and_keys") {
  Lua lua;
  for (const char* bytes : {"d40100", "d5010000", "d6ffffffffff", "d7ff0000000000000000",
                            "d801000000000000000000000000000000", "c7010100", "c800010100",
                            "c9000000010100", "91d40100", "81a161d40100", "c7", "d4"}) {
    CHECK(push_fails(lua, unhex(bytes)).code() == StatusCode::kInvalid);
  }
  CHECK(push_fails(lua, unhex("91d40100")).message() ==
        "msgpack ext types are not supported (byte 0xd4) (at byte 1)");
  CHECK(push_fails(lua, unhex("c1")).message() == "reserved byte 0xc1 (at byte 0)");
  CHECK(push_fails(lua, unhex("81c001")).message() == "msgpack map key is nil (at byte 1)");
  CHECK(push_fails(lua, unhex("81cb7ff800000000000001")).message() ==
        "msgpack map key is NaN (at byte 1)");
  CHECK(push_fails(lua, unhex("81ca7fc0000001")).message() == "msgpack map key is NaN (at byte 1)");
  for (const char* bytes : {"819001", "818001", "81dc000001", "81df0000000001"}) {
    CHECK(push_fails(lua, unhex(bytes)).message() ==
          "msgpack map key is an array or map (at byte 1)");
  }
}

TEST_CASE("lua.convert.hostile_random") {
  Lua lua;
  std::mt19937 rng(20240601);
  // Container and length tags are over-represented so that garbage nests.
  const unsigned char tags[] = {0x91, 0x92, 0x9f, 0x81, 0x8f, 0xdc, 0xdd, 0xde, 0xdf, 0xc0,
                                0xd9, 0xdb, 0xc6, 0xcb, 0xca, 0xd4, 0xc7, 0xff, 0x00, 0xa1};
  lua.eval("return {1, -2^40, 'x', {a = {1.5, true}, [3] = false}, ('y'):rep(40)}");
  std::string seed;
  REQUIRE(pp::lua::pack(lua.L, 1, seed));
  lua_settop(lua.L, 0);
  int decoded = 0;
  for (int i = 0; i < 40000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      const size_t len = rng() % 48;
      for (size_t j = 0; j < len; ++j) {
        bytes += static_cast<char>(rng() % 2 ? tags[rng() % sizeof tags] : rng() % 256);
      }
    } else {
      bytes = seed;
      for (int flips = 1 + rng() % 4; flips > 0; --flips) {
        bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
      }
      if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    }
    const pp::Status s = pp::lua::push(lua.L, bytes);
    CHECK(lua.top() == (s ? 1 : 0));
    if (s) ++decoded;
    lua_settop(lua.L, 0);
    const pp::Result<int> r = pp::lua::push_array_elements(lua.L, bytes);
    CHECK(lua.top() == (r.has_value() ? *r : 0));
    lua_settop(lua.L, 0);
  }
  CHECK(decoded > 100);  // the generator does reach valid values
}

namespace {

// An ExtHook that pushes "<type>:<body>" for ext type 2 and refuses the others.
pp::Status push_tagged(void* calls, lua_State* L, int8_t type, std::string_view body) {
  ++*static_cast<int*>(calls);
  if (type != 2) return pp::Status(StatusCode::kInvalid, "not a type 2");
  std::string s = std::to_string(type) + ":" + std::string(body);
  lua_pushlstring(L, s.data(), s.size());
  return pp::Status::ok();
}

}  // namespace

TEST_CASE("lua.convert.ext_hook_resolves_exts_at_any_depth_but_keys") {
  Lua lua;
  int calls = 0;
  const pp::lua::ExtHook hook{push_tagged, &calls};
  // [ext2 "ab", {x = fixext1 type 2 "c"}, 7]
  const pp::Result<int> n =
      pp::lua::push_array_elements(lua.L, unhex("93c702026162" "81a178d40263" "07"), &hook);
  REQUIRE(n.has_value());
  CHECK(*n == 3);
  CHECK(calls == 2);
  CHECK(std::string(lua_tostring(lua.L, 1)) == "2:ab");
  lua_getfield(lua.L, 2, "x");
  CHECK(std::string(lua_tostring(lua.L, -1)) == "2:c");
  lua_settop(lua.L, 0);
  // The hook's error ends the decoding, leaving the stack as it was.
  const pp::Result<int> bad = pp::lua::push_array_elements(lua.L, unhex("9201d40163"), &hook);
  CHECK(bad.status().message() == "not a type 2");
  CHECK(lua.top() == 0);
  // A truncated ext, and an ext as a map key, are refused before the hook.
  calls = 0;
  CHECK(!pp::lua::push_array_elements(lua.L, unhex("91c70502616263"), &hook).has_value());
  CHECK(!pp::lua::push_array_elements(lua.L, unhex("9181d4026301"), &hook).has_value());
  CHECK(calls == 0);
  CHECK(lua.top() == 0);
}
