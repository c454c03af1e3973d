// msgpack -> Lua: push() and push_array_elements() from core/lua/convert.hpp.
// (Lua -> msgpack is in convert.cpp.)
//
// The bytes may be hostile (they come off the network, and this is fuzzed), so
// the decoder is a bounds-checked cursor that builds Lua values directly,
// without msgpack-c's unpacker and its zone allocations: every length is
// checked against the remaining input before anything is allocated (each array
// element takes at least one byte, each map entry two), nesting is limited to
// kMaxDepth, and the Lua stack is grown with lua_checkstack before each push.
// So memory use is bounded by a constant factor of the input size.
//
// Integers: every width but the 64-bit ones fits a double, so only 0xcf and
// 0xd3 check exactness; an int that a double cannot hold becomes int64_t or
// uint64_t cdata (int64.hpp), except as a map key (see convert.hpp).
//
// Lua errors: only out-of-memory can still be raised (by lua_checkstack,
// lua_createtable, lua_pushlstring, lua_rawset), plus "stack overflow" from
// lua_checkstack in LuaJIT releases before 2023 when the coroutine's stack is
// already near LuaJIT's limit; that is the documented exception. Every other
// Lua error these calls could raise is ruled out first: nil and NaN keys are
// refused, and sizes stay within LuaJIT's table and string limits. C++
// exceptions are caught as std::exception only, so LuaJIT's own error
// unwinding passes through untouched.
#include "core/lua/convert.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>

#include <lua.hpp>

#include "core/lua/int64.hpp"

namespace pp::lua {
namespace {

// LuaJIT raises "table overflow" past 2^27 array slots or 2^26 hash slots, and
// refuses strings near 2 GiB; refuse such sizes here instead (they need an
// input of at least 64 MiB to reach anyway).
constexpr uint32_t kMaxElements = uint32_t{1} << 26;
constexpr uint32_t kMaxStringBytes = 0x7fff0000;

// Whether a double holds `m` exactly: its significant bits span at most 53.
bool exact_in_double(uint64_t m) {
  return m <= (uint64_t{1} << 53) || (m >> std::countr_zero(m)) < (uint64_t{1} << 53);
}

class Decoder {
 public:
  Decoder(lua_State* L, std::string_view bytes, const ExtHook* hook = nullptr)
      : L_(L),
        p_(reinterpret_cast<const unsigned char*>(bytes.data())),
        size_(bytes.size()),
        hook_(hook) {}

  bool at_end() const { return pos_ == size_; }

  // Decodes one value inside `depth` enclosing containers and pushes it. On
  // failure it may leave partial values on the stack: the caller resets it.
  Status value(int depth) {
    if (pos_ >= size_) return truncated();
    const size_t at = pos_;
    tag_at_ = at;
    const uint8_t b = p_[pos_++];
    if (b <= 0x7f) return number(b);
    if (b >= 0xe0) return number(static_cast<int8_t>(b));
    if (b <= 0x8f) return map(b & 0x0f, depth + 1);
    if (b <= 0x9f) return array(b & 0x0f, depth + 1);
    if (b <= 0xbf) return string(b & 0x1f);
    uint64_t n = 0;
    // One line per tag reads as the msgpack spec's table.
    // clang-format off
    switch (b) {
      case 0xc0: lua_pushnil(L_); return Status::ok();
      case 0xc2: lua_pushboolean(L_, 0); return Status::ok();
      case 0xc3: lua_pushboolean(L_, 1); return Status::ok();
      case 0xc4: case 0xd9: return read(1, n) ? string(n) : truncated();   // bin8, str8
      case 0xc5: case 0xda: return read(2, n) ? string(n) : truncated();   // bin16, str16
      case 0xc6: case 0xdb: return read(4, n) ? string(n) : truncated();   // bin32, str32
      case 0xca: return read(4, n) ? float32(static_cast<uint32_t>(n)) : truncated();
      case 0xcb: return read(8, n) ? float64(n) : truncated();
      case 0xcc: return read(1, n) ? number(static_cast<double>(n)) : truncated();
      case 0xcd: return read(2, n) ? number(static_cast<double>(n)) : truncated();
      case 0xce: return read(4, n) ? number(static_cast<double>(n)) : truncated();
      case 0xcf: return read(8, n) ? uint64(n) : truncated();
      case 0xd0: return read(1, n) ? number(static_cast<int8_t>(n)) : truncated();
      case 0xd1: return read(2, n) ? number(static_cast<int16_t>(n)) : truncated();
      case 0xd2: return read(4, n) ? number(static_cast<int32_t>(n)) : truncated();
      case 0xd3: return read(8, n) ? int64(static_cast<int64_t>(n)) : truncated();
      case 0xdc: return read(2, n) ? array(n, depth + 1) : truncated();
      case 0xdd: return read(4, n) ? array(n, depth + 1) : truncated();
      case 0xde: return read(2, n) ? map(n, depth + 1) : truncated();
      case 0xdf: return read(4, n) ? map(n, depth + 1) : truncated();
      case 0xc1: return invalid("reserved byte 0xc1", at);
      case 0xc7: return read(1, n) ? ext(n, b) : truncated();
      case 0xc8: return read(2, n) ? ext(n, b) : truncated();
      case 0xc9: return read(4, n) ? ext(n, b) : truncated();
      default:  // 0xd4..0xd8 fixext 1..16
        return ext(uint64_t{1} << (b - 0xd4), b);
    }
    // clang-format on
  }

  // Reads an array header (the first byte must be one) into `n` and checks
  // that the input has room for n elements.
  Status array_header(uint64_t& n) {
    if (pos_ >= size_) return truncated();
    const uint8_t b = p_[pos_++];
    bool ok = true;
    if (b >= 0x90 && b <= 0x9f) {
      n = b & 0x0f;
    } else if (b == 0xdc) {
      ok = read(2, n);
    } else if (b == 0xdd) {
      ok = read(4, n);
    } else {
      return invalid("expected a msgpack array, found byte 0x" + hex(b), 0);
    }
    if (!ok) return truncated();
    return check_count(n, 1, "array");
  }

  Status trailing() const {
    return Status(StatusCode::kInvalid, "msgpack value ends at byte " + std::to_string(pos_) +
                                            " but the input has " + std::to_string(size_) +
                                            " bytes");
  }

 private:
  size_t remaining() const { return size_ - pos_; }

  // Reads a `width`-byte big-endian unsigned integer.
  bool read(size_t width, uint64_t& n) {
    if (remaining() < width) return false;
    n = 0;
    for (size_t i = 0; i < width; ++i) n = (n << 8) | p_[pos_ + i];
    pos_ += width;
    return true;
  }

  Status number(double d) {
    lua_pushnumber(L_, d);
    return Status::ok();
  }
  Status uint64(uint64_t u) {
    if (exact_in_double(u) || in_key_) return number(static_cast<double>(u));
    return cdata_int(u, u <= static_cast<uint64_t>(INT64_MAX));
  }
  Status int64(int64_t i) {
    if (i >= 0) return uint64(static_cast<uint64_t>(i));
    if (exact_in_double(0 - static_cast<uint64_t>(i)) || in_key_) {
      return number(static_cast<double>(i));
    }
    return cdata_int(static_cast<uint64_t>(i), true);
  }
  Status cdata_int(uint64_t bits, bool is_signed) {
    Status s = detail::push_cdata_int(L_, bits, is_signed);
    if (!s) {
      return Status(s.code(), "cannot decode the 64-bit integer at byte " +
                                  std::to_string(tag_at_) + ": " + s.message());
    }
    return s;
  }
  Status float32(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return number(f);
  }
  Status float64(uint64_t bits) {
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return number(d);
  }

  // An ext value of `len` bytes after its type byte (tag `b`): the hook's, if any.
  Status ext(uint64_t len, uint8_t b) {
    if (hook_ == nullptr || in_key_) {
      return invalid("msgpack ext types are not supported (byte 0x" + hex(b) + ")", tag_at_);
    }
    if (remaining() < 1 || len > remaining() - 1) return truncated();
    const auto type = static_cast<int8_t>(p_[pos_]);
    std::string_view body(reinterpret_cast<const char*>(p_ + pos_ + 1), len);
    pos_ += 1 + len;
    if (!lua_checkstack(L_, 3)) return Status(StatusCode::kTooLarge, "Lua stack exhausted");
    return hook_->push(hook_->context, L_, type, body);
  }

  Status string(uint64_t len) {
    if (len > remaining()) return too_long("string", len, 1);
    if (len > kMaxStringBytes) return Status(StatusCode::kTooLarge, "msgpack string over 2 GiB");
    lua_pushlstring(L_, reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return Status::ok();
  }

  // Each element or entry needs at least `min_bytes` of input; checking that
  // first bounds every allocation by the input size.
  Status check_count(uint64_t n, uint64_t min_bytes, const char* what) const {
    if (n > remaining() / min_bytes) return too_long(what, n, min_bytes);
    if (n > kMaxElements) {
      return Status(StatusCode::kTooLarge, std::string("msgpack ") + what + " of " +
                                               std::to_string(n) +
                                               " elements is larger than a Lua table can be");
    }
    return Status::ok();
  }

  Status container(int depth) const {
    if (depth > kMaxDepth) {
      return Status(StatusCode::kTooLarge, "msgpack nested more than " + std::to_string(kMaxDepth) +
                                               " deep (at byte " + std::to_string(tag_at_) + ")");
    }
    if (!lua_checkstack(L_, 3)) return Status(StatusCode::kTooLarge, "Lua stack exhausted");
    return Status::ok();
  }

  // `depth` counts this array.
  Status array(uint64_t n, int depth) {
    Status s = container(depth);
    if (s) s = check_count(n, 1, "array");
    if (!s) return s;
    lua_createtable(L_, static_cast<int>(n), 0);
    for (uint64_t i = 1; i <= n; ++i) {
      if (!(s = value(depth))) return s;
      lua_rawseti(L_, -2, static_cast<int>(i));
    }
    return Status::ok();
  }

  // `depth` counts this map. Keys must decode to a string, number (not NaN)
  // or boolean: Lua cannot hold nil or NaN keys, and encoding never writes
  // container keys, so those are refused as malformed.
  Status map(uint64_t n, int depth) {
    Status s = container(depth);
    if (s) s = check_count(n, 2, "map");
    if (!s) return s;
    lua_createtable(L_, 0, static_cast<int>(n));
    for (uint64_t i = 0; i < n; ++i) {
      const size_t at = pos_;
      if (at < size_ && is_container(p_[at])) {
        return invalid("msgpack map key is an array or map", at);
      }
      in_key_ = true;
      s = value(depth);
      in_key_ = false;
      if (!s) return s;
      if (lua_isnil(L_, -1)) return invalid("msgpack map key is nil", at);
      if (lua_type(L_, -1) == LUA_TNUMBER && std::isnan(lua_tonumber(L_, -1))) {
        return invalid("msgpack map key is NaN", at);
      }
      if (!(s = value(depth))) return s;
      lua_rawset(L_, -3);
    }
    return Status::ok();
  }

  static bool is_container(uint8_t b) {
    return (b >= 0x80 && b <= 0x9f) || (b >= 0xdc && b <= 0xdf);
  }

  static std::string hex(uint8_t b) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", b);
    return buf;
  }

  Status invalid(std::string what, size_t at) const {
    return Status(StatusCode::kInvalid, what + " (at byte " + std::to_string(at) + ")");
  }
  Status truncated() const {
    return Status(StatusCode::kInvalid,
                  "msgpack input truncated (" + std::to_string(size_) + " bytes)");
  }
  Status too_long(const char* what, uint64_t n, uint64_t min_bytes) const {
    return Status(StatusCode::kInvalid,
                  std::string("msgpack ") + what + " claims " + std::to_string(n) +
                      (min_bytes == 1 ? " bytes/elements" : " entries") + " but only " +
                      std::to_string(remaining()) + " bytes of input remain");
  }

  lua_State* L_;
  const unsigned char* p_;
  size_t size_;
  size_t pos_ = 0;
  size_t tag_at_ = 0;  // where the value being decoded starts, for messages
  bool in_key_ = false;  // decoding a map key (always a scalar)
  const ExtHook* hook_;
};

Status out_of_memory() { return Status(StatusCode::kTooLarge, "out of memory"); }

}  // namespace

Status push(lua_State* L, std::string_view bytes) {
  const int top = lua_gettop(L);
  try {
    if (!lua_checkstack(L, 1)) return Status(StatusCode::kTooLarge, "Lua stack exhausted");
    Decoder decoder(L, bytes);
    Status s = decoder.value(0);
    if (s && !decoder.at_end()) s = decoder.trailing();
    if (!s) lua_settop(L, top);
    return s;
  } catch (const std::exception&) {
    lua_settop(L, top);
    return out_of_memory();
  }
}

Result<int> push_array_elements(lua_State* L, std::string_view bytes, const ExtHook* hook) {
  const int top = lua_gettop(L);
  try {
    Decoder decoder(L, bytes, hook);
    uint64_t n = 0;
    Status s = decoder.array_header(n);
    if (!s) return s;
    // The array counts as one level, as pack_range counts it.
    if (n > LUAI_MAXCSTACK || !lua_checkstack(L, static_cast<int>(n) + 1)) {
      return Status(StatusCode::kTooLarge,
                    "cannot push " + std::to_string(n) + " values: the Lua stack has no room");
    }
    for (uint64_t i = 0; i < n && s; ++i) s = decoder.value(1);
    if (s && !decoder.at_end()) s = decoder.trailing();
    if (!s) {
      lua_settop(L, top);
      return s;
    }
    return static_cast<int>(n);
  } catch (const std::exception&) {
    lua_settop(L, top);
    return out_of_memory();
  }
}

}  // namespace pp::lua
