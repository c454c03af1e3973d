// Lua -> msgpack: pack() and pack_range() from core/lua/convert.hpp.
// (msgpack -> Lua is in convert_decode.cpp.)
//
// The encoder walks the value recursively and writes msgpack by hand into the
// caller's std::string: the format needs a dozen tags, and writing them here
// keeps msgpack-c's large headers out of every worker build.
//
// Two choices beyond the header's mapping: -0.0 is sent as a float64 so that
// it keeps its sign; and cdata is sent only when it is an int64_t or uint64_t
// (asked of the ffi module through int64.hpp, never of the value's own
// metamethods, which would run user code); any other cdata is refused with a
// hint to use tonumber().
//
// Lua errors: everything used here is raw access (no metamethods run), so the
// only Lua error still possible comes from lua_checkstack growing the stack:
// out of memory or, in LuaJIT releases before 2023, "stack overflow" when the
// coroutine's stack is already near LuaJIT's limit. That is the documented
// exception (callers are inside lua_pcall, or the state panics as it would on
// any allocation). C++ exceptions (std::bad_alloc from the output string) are
// caught as std::exception only: a catch (...) would also catch LuaJIT's own
// error unwinding, which must be allowed to pass through.
#include "core/lua/convert.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <vector>

#include <lua.hpp>

#include "core/lua/int64.hpp"

namespace pp::lua {
namespace {

// LUA_TCDATA in LuaJIT's lj_obj.h; lua.h does not export it.
constexpr int kLuaTypeCdata = 10;
// A path longer than this is shown with its middle elided.
constexpr size_t kMaxPathSteps = 12;
// String keys longer than this are shortened in paths.
constexpr size_t kMaxKeyChars = 32;

void put_byte(std::string& out, uint8_t b) { out.push_back(static_cast<char>(b)); }

// Writes `tag` followed by `v` big-endian (msgpack's byte order).
template <typename U>
void put_tagged(std::string& out, uint8_t tag, U v) {
  char buf[1 + sizeof(U)];
  buf[0] = static_cast<char>(tag);
  for (size_t i = 0; i < sizeof(U); ++i) {
    buf[1 + i] = static_cast<char>(v >> (8 * (sizeof(U) - 1 - i)));
  }
  out.append(buf, sizeof buf);
}

// The smallest msgpack int encoding of `i`, as msgpack-c's packer chooses it.
void put_int(std::string& out, int64_t i) {
  if (i >= 0) {
    const auto u = static_cast<uint64_t>(i);
    if (u < 0x80) return put_byte(out, static_cast<uint8_t>(u));
    if (u <= 0xff) return put_tagged(out, 0xcc, static_cast<uint8_t>(u));
    if (u <= 0xffff) return put_tagged(out, 0xcd, static_cast<uint16_t>(u));
    if (u <= 0xffffffff) return put_tagged(out, 0xce, static_cast<uint32_t>(u));
    return put_tagged(out, 0xcf, u);
  }
  if (i >= -32) return put_byte(out, static_cast<uint8_t>(i));
  if (i >= INT8_MIN) return put_tagged(out, 0xd0, static_cast<uint8_t>(i));
  if (i >= INT16_MIN) return put_tagged(out, 0xd1, static_cast<uint16_t>(i));
  if (i >= INT32_MIN) return put_tagged(out, 0xd2, static_cast<uint32_t>(i));
  put_tagged(out, 0xd3, static_cast<uint64_t>(i));
}

void put_uint(std::string& out, uint64_t u) {
  if (u <= static_cast<uint64_t>(INT64_MAX)) return put_int(out, static_cast<int64_t>(u));
  put_tagged(out, 0xcf, u);
}

// Integers in the int64 range go out as msgpack ints, everything else
// (fractions, huge values, inf, NaN) as float64. -0.0 stays a float so that it
// round-trips with its sign.
void put_number(std::string& out, lua_Number d) {
  const bool integral = d >= -0x1p63 && d < 0x1p63 && std::trunc(d) == d;
  if (integral && !(d == 0 && std::signbit(d))) return put_int(out, static_cast<int64_t>(d));
  uint64_t bits;
  static_assert(sizeof bits == sizeof d);
  std::memcpy(&bits, &d, sizeof bits);
  put_tagged(out, 0xcb, bits);
}

// A str/array/map header: the fix form when n fits, else the 8 (str only),
// 16 or 32 bit form. `tag8` is 0 for types without an 8 bit form.
void put_header(std::string& out, uint32_t n, uint8_t fix, uint32_t fix_limit, uint8_t tag8,
                uint8_t tag16, uint8_t tag32) {
  if (n < fix_limit) return put_byte(out, static_cast<uint8_t>(fix | n));
  if (tag8 != 0 && n <= 0xff) return put_tagged(out, tag8, static_cast<uint8_t>(n));
  if (n <= 0xffff) return put_tagged(out, tag16, static_cast<uint16_t>(n));
  put_tagged(out, tag32, n);
}

void put_array_header(std::string& out, uint32_t n) { put_header(out, n, 0x90, 16, 0, 0xdc, 0xdd); }
void put_map_header(std::string& out, uint32_t n) { put_header(out, n, 0x80, 16, 0, 0xde, 0xdf); }

// One step of the path from the root to the value being encoded, kept so an
// error can say where it happened. `str` borrows a Lua string key that stays on
// the Lua stack (under lua_next) for as long as the step is on the path.
struct PathStep {
  enum Kind { kIndex, kNumber, kString, kBoolean } kind;
  double number = 0;  // kIndex, kNumber; kBoolean: 0 or 1
  const char* str = nullptr;
  size_t len = 0;
};

bool is_identifier(const char* s, size_t len) {
  if (len == 0 || len > kMaxKeyChars) return false;
  for (size_t i = 0; i < len; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void append_step(std::string& s, const PathStep& step) {
  char buf[48];
  switch (step.kind) {
    case PathStep::kIndex:
    case PathStep::kNumber:
      if (std::trunc(step.number) == step.number && std::fabs(step.number) < 0x1p63) {
        std::snprintf(buf, sizeof buf, "[%lld]", static_cast<long long>(step.number));
      } else {
        std::snprintf(buf, sizeof buf, "[%.17g]", step.number);
      }
      s += buf;
      return;
    case PathStep::kBoolean:
      s += step.number != 0 ? "[true]" : "[false]";
      return;
    case PathStep::kString:
      if (is_identifier(step.str, step.len)) {
        s += '.';
        s.append(step.str, step.len);
        return;
      }
      s += "[\"";
      for (size_t i = 0; i < step.len && i < kMaxKeyChars; ++i) {
        const auto c = static_cast<unsigned char>(step.str[i]);
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          s += buf;
        } else {
          s += static_cast<char>(c);
        }
      }
      s += step.len > kMaxKeyChars ? "...\"]" : "\"]";
      return;
  }
}

class Encoder {
 public:
  // Messages call the value `name`, or "<name> <position>" once a position is set.
  Encoder(lua_State* L, std::string& out, const char* name, const UserdataHook* hook = nullptr)
      : L_(L), out_(out), name_(name), hook_(hook) {}

  // Encodes the value at absolute stack index `index`, which sits inside
  // `depth` enclosing containers. Leaves the Lua stack as it found it.
  Status value(int index, int depth) {
    const int type = lua_type(L_, index);
    switch (type) {
      case LUA_TNIL:
        put_byte(out_, 0xc0);
        return Status::ok();
      case LUA_TBOOLEAN:
        put_byte(out_, lua_toboolean(L_, index) ? 0xc3 : 0xc2);
        return Status::ok();
      case LUA_TNUMBER:
        put_number(out_, lua_tonumber(L_, index));
        return Status::ok();
      case LUA_TSTRING:
        return string(index);
      case LUA_TTABLE:
        return table(index, depth + 1);
      case LUA_TNONE:
        return fail(StatusCode::kInvalid, "no value to send (invalid stack index)");
      case kLuaTypeCdata:
        return cdata(index);
      case LUA_TUSERDATA:
        if (hook_ != nullptr && hook_->pack != nullptr) {
          Status s = hook_->pack(hook_->context, L_, index, out_);
          if (s.code() != StatusCode::kNotFound) return s ? s : fail(s.code(), s.message());
        }
        [[fallthrough]];
      default:  // function, userdata, light userdata, thread
        return fail(StatusCode::kInvalid,
                    std::string("cannot send a ") + lua_typename(L_, type) + " value");
    }
  }

  // The position of the value being encoded in a list of values (1-based).
  void set_position(int position) { position_ = position; }

 private:
  Status cdata(int index) {
    Result<detail::CdataInt> v = detail::read_cdata_int(L_, index);
    if (!v) return fail(v.status().code(), "cannot send a cdata value: " + v.status().message());
    switch (v->kind) {
      case detail::CdataInt::kSigned:
        put_int(out_, static_cast<int64_t>(v->bits));
        return Status::ok();
      case detail::CdataInt::kUnsigned:
        put_uint(out_, v->bits);
        return Status::ok();
      case detail::CdataInt::kOther:
        break;
    }
    return fail(StatusCode::kInvalid, "cannot send a cdata value",
                "; only int64_t and uint64_t cdata travel: convert others with tonumber()");
  }

  Status string(int index) {
    size_t len = 0;
    const char* s = lua_tolstring(L_, index, &len);
    if (len > UINT32_MAX) return fail(StatusCode::kTooLarge, "cannot send a string over 4 GiB");
    put_header(out_, static_cast<uint32_t>(len), 0xa0, 32, 0xd9, 0xda, 0xdb);
    out_.append(s, len);
    return Status::ok();
  }

  // `depth` counts this table. Cycles are caught here too: a cyclic table
  // looks infinitely deep.
  Status table(int index, int depth) {
    if (depth > kMaxDepth) {
      return fail(StatusCode::kTooLarge, "cannot send tables nested more than " +
                                             std::to_string(kMaxDepth) +
                                             " deep (is the table cyclic?)");
    }
    if (!lua_checkstack(L_, 3)) return fail(StatusCode::kTooLarge, "Lua stack exhausted");
    // Keys exactly 1..n: every key is an integer in [1, n] (so they are
    // distinct members of 1..n) and there are n of them, n being a border.
    const size_t n = lua_objlen(L_, index);
    size_t count = 0;
    bool array = true;
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      ++count;
      if (array && !is_array_key(-2, n)) array = false;
      lua_pop(L_, 1);
    }
    if (count > UINT32_MAX)
      return fail(StatusCode::kTooLarge, "cannot send a table of over 2^32 keys");
    if (array && count == n) return array_items(index, static_cast<uint32_t>(n), depth);
    return map_items(index, static_cast<uint32_t>(count), depth);
  }

  bool is_array_key(int key, size_t n) const {
    if (lua_type(L_, key) != LUA_TNUMBER) return false;
    const lua_Number k = lua_tonumber(L_, key);
    return k >= 1 && k <= static_cast<lua_Number>(n) && std::trunc(k) == k;
  }

  Status array_items(int index, uint32_t n, int depth) {
    put_array_header(out_, n);
    for (uint32_t i = 1; i <= n; ++i) {
      lua_rawgeti(L_, index, static_cast<int>(i));
      path_.push_back({PathStep::kIndex, static_cast<double>(i)});
      Status s = value(lua_gettop(L_), depth);
      path_.pop_back();
      lua_pop(L_, 1);
      if (!s) return s;
    }
    return Status::ok();
  }

  // Entries come out sorted by their encoded keys, so equal tables pack to equal bytes
  // whatever order Lua's traversal takes (it differs between processes): the bytes can
  // be hashed (journal keys) and compared.
  Status map_items(int index, uint32_t count, int depth) {
    put_map_header(out_, count);
    struct Entry {
      size_t begin, key_end, end;
    };
    std::vector<Entry> entries;
    entries.reserve(count);
    const size_t base = out_.size();
    lua_pushnil(L_);
    while (lua_next(L_, index) != 0) {
      const int key = lua_gettop(L_) - 1;
      const size_t begin = out_.size();
      size_t key_end = begin;
      Status s = map_entry(key, depth, key_end);
      lua_pop(L_, 1);  // the value; the key stays for lua_next
      if (!s) {
        lua_pop(L_, 1);
        return s;
      }
      entries.push_back({begin, key_end, out_.size()});
    }
    if (entries.size() > 1) {
      const std::string& o = out_;
      auto key_of = [&o](const Entry& e) {
        return std::string_view(o).substr(e.begin, e.key_end - e.begin);
      };
      std::sort(entries.begin(), entries.end(),
                [&](const Entry& a, const Entry& b) { return key_of(a) < key_of(b); });
      std::string sorted;
      sorted.reserve(out_.size() - base);
      for (const Entry& e : entries) sorted.append(out_, e.begin, e.end - e.begin);
      out_.resize(base);
      out_ += sorted;
    }
    return Status::ok();
  }

  // Encodes the key at `key` and the value just above it; `key_end` is where the
  // key's bytes end in the output.
  Status map_entry(int key, int depth, size_t& key_end) {
    PathStep step{PathStep::kNumber};
    switch (lua_type(L_, key)) {
      case LUA_TNUMBER:
        step.number = lua_tonumber(L_, key);
        break;
      case LUA_TBOOLEAN:
        step = {PathStep::kBoolean, lua_toboolean(L_, key) ? 1.0 : 0.0};
        break;
      case LUA_TSTRING:
        step.kind = PathStep::kString;
        step.str = lua_tolstring(L_, key, &step.len);  // a string key: no conversion
        break;
      default:
        return fail(StatusCode::kInvalid, std::string("cannot send a table with a ") +
                                              lua_typename(L_, lua_type(L_, key)) +
                                              " key (keys must be strings, numbers or booleans)");
    }
    Status s = value(key, depth);  // a scalar: cannot fail
    if (!s) return s;
    key_end = out_.size();
    path_.push_back(step);
    s = value(key + 1, depth);
    path_.pop_back();
    return s;
  }

  // "<what> (<name>)", or "<what> (<name>, at <path>)" inside a table.
  Status fail(StatusCode code, std::string what, const char* suffix = "") const {
    what += " (";
    what += name_;
    if (position_ > 0) what += ' ' + std::to_string(position_);
    const size_t n = path_.size();
    if (n > 0) what += ", at ";
    for (size_t i = 0; i < n; ++i) {
      if (n > kMaxPathSteps && i == kMaxPathSteps / 2) {
        what += "...";
        i = n - kMaxPathSteps / 2;
      }
      append_step(what, path_[i]);
    }
    what += ')';
    what += suffix;
    return Status(code, std::move(what));
  }

  lua_State* L_;
  std::string& out_;
  const char* name_;
  const UserdataHook* hook_;
  int position_ = 0;
  std::vector<PathStep> path_;
};

// Turns a relative (negative, non-pseudo) index into an absolute one.
int absolute(lua_State* L, int index) {
  return index < 0 && index > LUA_REGISTRYINDEX ? lua_gettop(L) + index + 1 : index;
}

// A Status for an out-of-memory C++ exception. The message fits the small
// string buffer, so building it does not allocate.
Status out_of_memory() { return Status(StatusCode::kTooLarge, "out of memory"); }

}  // namespace

Status pack(lua_State* L, int index, std::string& out, const char* name) {
  const int top = lua_gettop(L);
  const size_t mark = out.size();
  const int abs = absolute(L, index);
  const bool pseudo = abs <= LUA_REGISTRYINDEX;  // registry, globals, upvalues
  if (!pseudo && (abs < 1 || abs > top)) {
    return Status(StatusCode::kInvalid,
                  "pack: stack index " + std::to_string(index) + " is not valid");
  }
  try {
    Encoder encoder(L, out, name);
    Status s = encoder.value(abs, 0);
    if (!s) {
      out.resize(mark);
      lua_settop(L, top);
    }
    return s;
  } catch (const std::exception&) {
    out.resize(mark);
    lua_settop(L, top);
    return out_of_memory();
  }
}

Status pack_range(lua_State* L, int first, int last, std::string& out, const char* item,
                  const UserdataHook* hook) {
  const int top = lua_gettop(L);
  const size_t mark = out.size();
  first = absolute(L, first);
  last = absolute(L, last);
  if (last >= first && (first < 1 || last > top)) {
    return Status(StatusCode::kInvalid, "pack_range: stack indices " + std::to_string(first) +
                                            ".." + std::to_string(last) + " are not valid");
  }
  try {
    const int n = last >= first ? last - first + 1 : 0;
    put_array_header(out, static_cast<uint32_t>(n));
    // The enclosing array counts as one level, so what pack_range writes is
    // always within the depth that push_array_elements accepts.
    Encoder encoder(L, out, item, hook);
    for (int i = 0; i < n; ++i) {
      encoder.set_position(i + 1);
      Status s = encoder.value(first + i, 1);
      if (!s) {
        out.resize(mark);
        lua_settop(L, top);
        return s;
      }
    }
    return Status::ok();
  } catch (const std::exception&) {
    out.resize(mark);
    lua_settop(L, top);
    return out_of_memory();
  }
}

}  // namespace pp::lua
