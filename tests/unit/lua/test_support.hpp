// Shared by the lua_test sources: a fresh Lua state with deep-equality helpers,
// hex helpers, and checks used by both the encoding and the decoding tests.
// Header-only and test-only; everything is inline.
#pragma once

#include <string>

#include <doctest/doctest.h>
#include <lua.hpp>

#include "core/lua/convert.hpp"

namespace pp::lua::test {

// Lua helpers shared by the tests: deep equality (NaN equals NaN, 0 and -0
// differ) and a builder for tables nested n deep.
inline constexpr const char* kHelpers = R"(
  function deq(a, b)
    if type(a) ~= type(b) then return false end
    if type(a) ~= 'table' then
      if a ~= a then return b ~= b end
      if a == 0 and b == 0 then return 1/a == 1/b end
      return a == b
    end
    for k, v in pairs(a) do if not deq(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  function nest(n) local t = {} for i = 2, n do t = {t} end return t end
)";

// A fresh Lua state per test, with the standard libraries and the helpers.
struct Lua {
  lua_State* L = luaL_newstate();
  Lua() {
    luaL_openlibs(L);
    eval(kHelpers);
  }
  ~Lua() { lua_close(L); }
  Lua(const Lua&) = delete;
  Lua& operator=(const Lua&) = delete;

  // Runs `code`, leaving its results on the stack.
  void eval(const std::string& code) {
    const bool ok = luaL_loadstring(L, code.c_str()) == 0 && lua_pcall(L, 0, LUA_MULTRET, 0) == 0;
    INFO(code);
    REQUIRE_MESSAGE(ok, (ok ? "" : lua_tostring(L, -1)));
  }
  int top() const { return lua_gettop(L); }
  // deq() of the values at the two (absolute) indices.
  bool equal(int a, int b) {
    lua_getglobal(L, "deq");
    lua_pushvalue(L, a);
    lua_pushvalue(L, b);
    REQUIRE(lua_pcall(L, 2, 1, 0) == 0);
    const bool eq = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
    return eq;
  }
  // The encoding of `return <expr>`, or the error message.
  std::string packed(const std::string& expr) {
    eval("return " + expr);
    std::string out;
    pp::Status s = pp::lua::pack(L, -1, out);
    lua_pop(L, 1);
    return s ? out : s.message();
  }
};

inline std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) h += {digits[c >> 4], digits[c & 15]};
  return h;
}

inline std::string unhex(const std::string& h) {
  std::string s;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    s += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return s;
}

// Packs `return <expr>`, decodes it and checks the result equals the original.
inline void check_roundtrip(Lua& lua, const std::string& expr) {
  INFO(expr);
  const int base = lua.top();
  lua.eval("return " + expr);
  std::string out;
  REQUIRE(pp::lua::pack(lua.L, -1, out));
  CHECK(lua.top() == base + 1);
  const pp::Status s = pp::lua::push(lua.L, out);
  REQUIRE_MESSAGE(s, s.message());
  REQUIRE(lua.top() == base + 2);
  CHECK(lua.equal(base + 1, base + 2));
  lua_settop(lua.L, base);
}

// Decodes `bytes` expecting failure; checks the stack is unchanged.
inline pp::Status push_fails(Lua& lua, const std::string& bytes) {
  const int base = lua.top();
  const pp::Status s = pp::lua::push(lua.L, bytes);
  INFO(hex(bytes));
  CHECK(!s);
  CHECK(lua.top() == base);
  return s;
}

}  // namespace pp::lua::test
