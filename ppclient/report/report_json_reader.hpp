// JsonReader: a small strict recursive-descent JSON reader, driven by the caller's
// schema (report_json.cpp) rather than building a generic tree, so reading a report
// with many executions costs little beyond the Report itself. Internal to the report
// module.
//
// Strict: RFC 8259 grammar, UTF-8 validated, no trailing commas, no comments, nesting
// at most kMaxDepth. Every failure is a Status (kInvalid) naming line, column and the
// key path ("nodes[2].workers"); nothing throws and no input can overflow the stack.
//
//   JsonReader in(text);
//   Status st = in.object([&](std::string_view key) {
//     return key == "n" ? in.integer(n, 100) : in.skip();
//   });
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/status.hpp"

namespace pp::client::report::detail {

class JsonReader {
 public:
  static constexpr int kMaxDepth = 64;

  explicit JsonReader(std::string_view text) : t_(text) {}

  Status fail(std::string_view what) const { return fail_at(pos_, what); }
  Status fail_at(size_t pos, std::string_view what) const;

  bool next_is(char c) {
    ws();
    return pos_ < t_.size() && t_[pos_] == c;
  }
  bool at_end() {
    ws();
    return pos_ >= t_.size();
  }
  size_t pos() const { return pos_; }
  void skip_bom();

  // Reads an object; member(key) must read the value that follows "key":.
  template <typename F>
  Status object(F&& member);
  // Reads an array; element(index) must read one element.
  template <typename F>
  Status array(F&& element);
  Status string(std::string& out);
  Status boolean(bool& v);
  // An integer from 0 to max, written without fraction or exponent.
  Status integer(uint64_t& v, uint64_t max);
  // Any finite number.
  Status real(double& v);
  // Any value, read and dropped (keys the schema does not know).
  Status skip();

 private:
  void ws() {
    while (pos_ < t_.size() &&
           (t_[pos_] == ' ' || t_[pos_] == '\n' || t_[pos_] == '\r' || t_[pos_] == '\t')) {
      ++pos_;
    }
  }
  // `what` went wrong here, or the input ended too soon.
  Status expected(const char* what) const {
    return fail(pos_ < t_.size() ? what : "unexpected end");
  }
  Status enter(char open, const char* what);
  // After a member or an element: ',' (another follows) or `close` (done = true).
  Status separator(char close, bool& done) {
    if (next_is(',') || next_is(close)) {
      done = t_[pos_++] == close;
      return Status::ok();
    }
    return expected(close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
  }
  // Adds a key to the path shown in messages.
  void push_key(std::string_view key);
  Status number(std::string_view& raw, bool& plain);
  Status hex4(uint32_t& v);
  Status escape(std::string& out);

  std::string_view t_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string path_;
};

template <typename F>
Status JsonReader::object(F&& member) {
  if (Status st = enter('{', "expected an object"); !st) return st;
  if (next_is('}')) {
    ++pos_, --depth_;
    return Status::ok();
  }
  for (;;) {
    if (!next_is('"')) return expected("expected a key");
    std::string key;
    if (Status st = string(key); !st) return st;
    if (!next_is(':')) return expected("expected ':' after a key");
    ++pos_;
    size_t mark = path_.size();
    push_key(key);
    if (Status st = member(std::string_view(key)); !st) return st;
    path_.resize(mark);
    bool done = false;
    if (Status st = separator('}', done); !st) return st;
    if (done) break;
  }
  --depth_;
  return Status::ok();
}

template <typename F>
Status JsonReader::array(F&& element) {
  if (Status st = enter('[', "expected an array"); !st) return st;
  if (next_is(']')) {
    ++pos_, --depth_;
    return Status::ok();
  }
  for (size_t i = 0;; ++i) {
    size_t mark = path_.size();
    path_ += '[' + std::to_string(i) + ']';
    if (Status st = element(i); !st) return st;
    path_.resize(mark);
    bool done = false;
    if (Status st = separator(']', done); !st) return st;
    if (done) break;
  }
  --depth_;
  return Status::ok();
}

}  // namespace pp::client::report::detail
