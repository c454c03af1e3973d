#include "ppclient/report/report_json_reader.hpp"

#include <charconv>
#include <cmath>
#include <system_error>

#include "ppclient/report/report_text.hpp"

namespace pp::client::report::detail {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

Status JsonReader::fail_at(size_t pos, std::string_view what) const {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < t_.size(); ++i) {
    if (t_[i] == '\n') {
      ++line, col = 1;
    } else if ((t_[i] & 0xC0) != 0x80) {
      ++col;
    }
  }
  std::string msg = format("report JSON, line %zu, column %zu", line, col);
  if (!path_.empty()) msg += " (at " + path_ + ")";
  msg += ": ";
  msg += what;
  return Status(StatusCode::kInvalid, msg);
}

void JsonReader::skip_bom() {
  if (pos_ == 0 && t_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

Status JsonReader::enter(char open, const char* what) {
  if (!next_is(open)) return expected(what);
  if (depth_ >= kMaxDepth) return fail("nesting deeper than 64 levels");
  ++depth_, ++pos_;
  return Status::ok();
}

void JsonReader::push_key(std::string_view key) {
  if (!path_.empty()) path_ += '.';
  for (char c : fit(key, 40)) path_ += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
}

Status JsonReader::string(std::string& out) {
  if (!next_is('"')) return expected("expected a string");
  ++pos_;
  out.clear();
  for (;;) {
    if (pos_ >= t_.size()) return fail("unterminated string");
    char c = t_[pos_];
    auto u = static_cast<unsigned char>(c);
    if (c == '"') {
      ++pos_;
      return Status::ok();
    }
    if (c == '\\') {
      if (Status st = escape(out); !st) return st;
    } else if (u < 0x20) {
      return fail("control character in a string (it must be escaped)");
    } else if (u < 0x80) {
      out += c, ++pos_;
    } else {
      size_t n = utf8_sequence(t_.substr(pos_));
      if (n == 0) return fail("invalid UTF-8 in a string");
      out.append(t_.substr(pos_, n)), pos_ += n;
    }
  }
}

Status JsonReader::boolean(bool& v) {
  ws();
  if (t_.substr(pos_, 4) == "true") {
    v = true, pos_ += 4;
  } else if (t_.substr(pos_, 5) == "false") {
    v = false, pos_ += 5;
  } else {
    return expected("expected true or false");
  }
  return Status::ok();
}

Status JsonReader::integer(uint64_t& v, uint64_t max) {
  ws();
  size_t at = pos_;
  std::string range =
      format("expected an integer from 0 to %llu", static_cast<unsigned long long>(max));
  if (pos_ >= t_.size()) return fail("unexpected end");
  if (t_[pos_] != '-' && !is_digit(t_[pos_])) return fail(range);
  std::string_view raw;
  bool plain = false;
  if (Status st = number(raw, plain); !st) return st;
  if (plain && raw[0] != '-') {
    auto r = std::from_chars(raw.data(), raw.data() + raw.size(), v);
    if (r.ec == std::errc() && v <= max) return Status::ok();
  }
  return fail_at(at, range);
}

Status JsonReader::real(double& v) {
  ws();
  size_t at = pos_;
  std::string_view raw;
  bool plain = false;
  if (Status st = number(raw, plain); !st) return st;
  auto r = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (r.ec != std::errc() || r.ptr != raw.data() + raw.size() || !std::isfinite(v)) {
    return fail_at(at, "number out of range");
  }
  return Status::ok();
}

Status JsonReader::skip() {
  ws();
  if (pos_ >= t_.size()) return fail("unexpected end");
  char c = t_[pos_];
  if (c == '{') return object([&](std::string_view) { return skip(); });
  if (c == '[') return array([&](size_t) { return skip(); });
  if (c == '"') {
    std::string s;
    return string(s);
  }
  if (c == 't' || c == 'f') {
    bool b;
    return boolean(b);
  }
  if (t_.substr(pos_, 4) == "null") {
    pos_ += 4;
    return Status::ok();
  }
  std::string_view raw;
  bool plain;
  return number(raw, plain);
}

Status JsonReader::number(std::string_view& raw, bool& plain) {
  size_t start = pos_, p = pos_;
  auto digits = [&] {
    size_t from = p;
    while (p < t_.size() && is_digit(t_[p])) ++p;
    return p > from;
  };
  if (p < t_.size() && t_[p] == '-') ++p;
  if (p < t_.size() && t_[p] == '0') {
    ++p;
  } else if (!digits()) {
    return expected(p > start ? "expected a digit after '-'" : "expected a number");
  }
  plain = true;
  if (p < t_.size() && t_[p] == '.') {
    ++p, plain = false;
    if (!digits()) return fail_at(p, "expected a digit after '.'");
  }
  if (p < t_.size() && (t_[p] == 'e' || t_[p] == 'E')) {
    ++p, plain = false;
    if (p < t_.size() && (t_[p] == '+' || t_[p] == '-')) ++p;
    if (!digits()) return fail_at(p, "expected a digit in the exponent");
  }
  raw = t_.substr(start, p - start);
  pos_ = p;
  return Status::ok();
}

Status JsonReader::hex4(uint32_t& v) {
  if (pos_ + 4 > t_.size()) return fail("unterminated \\u escape");
  v = 0;
  for (size_t i = 0; i < 4; ++i) {
    int d = hex_value(t_[pos_ + i]);
    if (d < 0) return fail("expected four hex digits after \\u");
    v = v * 16 + static_cast<uint32_t>(d);
  }
  pos_ += 4;
  return Status::ok();
}

Status JsonReader::escape(std::string& out) {
  if (++pos_ >= t_.size()) return fail("unterminated string");
  char c = t_[pos_++];
  switch (c) {
    case '"': out += '"'; return Status::ok();
    case '\\': out += '\\'; return Status::ok();
    case '/': out += '/'; return Status::ok();
    case 'b': out += '\b'; return Status::ok();
    case 'f': out += '\f'; return Status::ok();
    case 'n': out += '\n'; return Status::ok();
    case 'r': out += '\r'; return Status::ok();
    case 't': out += '\t'; return Status::ok();
    case 'u': break;
    default: --pos_; return fail("unknown escape in a string");
  }
  uint32_t cp;
  if (Status st = hex4(cp); !st) return st;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired surrogate in a \\u escape");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    uint32_t low;
    if (t_.substr(pos_, 2) != "\\u") return fail("unpaired surrogate in a \\u escape");
    pos_ += 2;
    if (Status st = hex4(low); !st) return st;
    if (low < 0xDC00 || low > 0xDFFF) return fail("unpaired surrogate in a \\u escape");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  put_utf8(out, cp);
  return Status::ok();
}

}  // namespace pp::client::report::detail
