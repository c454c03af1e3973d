#include "ppclient/report/report_json_reader.hpp"

#include <iterator>
#include <utility>

#include "ppclient/report/report_text.hpp"

namespace pp::client::report::detail {

namespace {

using json = nlohmann::json;

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The text as nlohmann reads it, one character at a time; `*read` follows how far it
// got, which is how a SAX event learns where it is (the events carry no position).
class TrackedIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackedIterator(const char* p, const char** read) : p_(p), read_(read) {}
  reference operator*() const { return *p_; }
  TrackedIterator& operator++() {
    *read_ = ++p_;
    return *this;
  }
  TrackedIterator operator++(int) {
    TrackedIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackedIterator& other) const { return p_ == other.p_; }

 private:
  const char* p_;
  const char** read_;
};

// The path of the value being read, kept from the SAX events: one step per open
// container, its current key or the index of the element being read.
class PathTracker {
 protected:
  void opened(bool array) { steps_.push_back(PathStep{{}, 0, array}); }
  void closed() {
    steps_.pop_back();
    ended();
  }
  // A value ended: an array's next element has the next index.
  void ended() {
    if (!steps_.empty() && steps_.back().is_index) ++steps_.back().index;
  }
  Path container() const { return Path(steps_.begin(), steps_.end() - (steps_.empty() ? 0 : 1)); }

  Path steps_;
};

// nlohmann's words for a failure, in this reader's; what the lexer found wrong in a
// string or a number is the same whatever the context.
constexpr std::pair<const char*, const char*> kLexerWords[] = {
    {"missing closing quote", "unterminated string"},
    {"4 hex digits", "expected four hex digits after \\u"},
    {"surrogate U+", "unpaired surrogate in a \\u escape"},
    {"forbidden character after backslash", "unknown escape in a string"},
    {"control character", "control character in a string (it must be escaped)"},
    {"ill-formed UTF-8", "invalid UTF-8 in a string"},
    {"expected digit after '-'", "expected a digit after '-'"},
    {"expected digit after '.'", "expected a digit after '.'"},
    {"exponent", "expected a digit in the exponent"},
};
// Otherwise the parser's context says what was expected.
constexpr std::pair<const char*, const char*> kContextWords[] = {
    {"while parsing object key ", "expected a key"},
    {"while parsing object separator ", "expected ':' after a key"},
    {"while parsing object ", "expected ',' or '}'"},
    {"while parsing array ", "expected ',' or ']'"},
};

// Builds the tree as nlohmann's own DOM parser does, and refuses what the reader
// must refuse on top of the grammar: duplicate keys and deep nesting.
class TreeBuilder : PathTracker {
 public:
  TreeBuilder(json& root, const char* begin, const char* const* read, JsonError& err)
      : root_(root), begin_(begin), read_(read), err_(err) {}

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(json::number_integer_t v) { return put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return put(json(v)); }
  bool string(std::string& v) { return put(json(std::move(v))); }
  bool binary(json::binary_t&) { return false; }   // JSON text has none
  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k) {
    steps_.back().key = k;
    if (open_.back()->contains(k)) return fail(steps_, format("duplicate key \"%s\"", fit(k, 40).c_str()));
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    err_.pos = position > 0 ? position - 1 : 0;
    std::string_view m = ex.what();
    err_.path = steps_;
    if (ex.id == 406) return err_.what = "number out of range", false;
    if (m.find("unexpected end of input") != m.npos) return err_.what = "unexpected end", false;
    for (auto [theirs, ours] : kLexerWords) {
      if (m.find(theirs) != m.npos) return err_.what = ours, false;
    }
    for (auto [context, ours] : kContextWords) {
      if (m.find(context) != m.npos) return err_.path = container(), err_.what = ours, false;
    }
    err_.what.clear();   // a malformed value: the schema names what it had to be
    return false;
  }

 private:
  // Where the value being read goes: the root, the current key, or a new element.
  json& slot() {
    if (open_.empty()) return root_;
    json& c = *open_.back();
    if (c.is_object()) return c[steps_.back().key];
    c.push_back(nullptr);
    return c.back();
  }
  bool put(json&& v) {
    slot() = std::move(v);
    ended();
    return true;
  }
  bool open(json::value_t type) {
    if (open_.size() >= static_cast<size_t>(kMaxDepth)) return fail(steps_, "nesting deeper than 64 levels");
    json& s = slot();
    s = json(type);
    open_.push_back(&s);   // stays put: its container grows only after it is closed
    opened(type == json::value_t::array);
    return true;
  }
  bool close() {
    open_.pop_back();
    closed();
    return true;
  }
  bool fail(const Path& path, std::string what) {
    size_t read = static_cast<size_t>(*read_ - begin_);
    err_ = JsonError{read > 0 ? read - 1 : 0, path, std::move(what)};
    return false;
  }

  json& root_;
  const char* begin_;
  const char* const* read_;
  JsonError& err_;
  std::vector<json*> open_;
};

// Finds where the value at `target` starts: the first character after the previous
// event's text that is not whitespace or a separator.
class Locator : PathTracker {
 public:
  Locator(const Path& target, const char* end, const char* const* read)
      : target_(target), end_(end), read_(read), last_(*read) {}

  const char* found() const { return found_; }

  bool null() { return scalar(); }
  bool boolean(bool) { return scalar(); }
  bool number_integer(json::number_integer_t) { return scalar(); }
  bool number_unsigned(json::number_unsigned_t) { return scalar(); }
  bool number_float(json::number_float_t, const std::string&) { return scalar(); }
  bool string(std::string&) { return scalar(); }
  bool binary(json::binary_t&) { return false; }
  bool start_object(std::size_t) { return open(false); }
  bool start_array(std::size_t) { return open(true); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& k) {
    steps_.back().key = k;
    last_ = *read_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  bool here() {
    if (steps_ != target_) return false;
    const char* p = last_;
    while (p < end_ && (is_space(*p) || *p == ',' || *p == ':')) ++p;
    found_ = p;
    return true;
  }
  bool scalar() {
    if (here()) return false;
    ended();
    last_ = *read_;
    return true;
  }
  bool open(bool array) {
    if (here()) return false;
    opened(array);
    last_ = *read_;
    return true;
  }
  bool close() {
    closed();
    last_ = *read_;
    return true;
  }

  const Path& target_;
  const char* end_;
  const char* const* read_;
  const char* last_;
  const char* found_ = nullptr;
};

size_t skip_bom(std::string_view text) { return text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0; }

}  // namespace

std::string path_text(const Path& path) {
  std::string out;
  for (const PathStep& s : path) {
    if (s.is_index) {
      out += '[' + std::to_string(s.index) + ']';
      continue;
    }
    if (!out.empty()) out += '.';
    for (char c : fit(s.key, 40)) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  }
  return out;
}

bool parse_tree(std::string_view text, json& tree, JsonError& err) {
  size_t at = skip_bom(text);
  while (at < text.size() && is_space(text[at])) ++at;
  if (at >= text.size() || text[at] != '{') {
    err = JsonError{at, {}, at < text.size() ? "expected an object" : "unexpected end"};
    return false;
  }
  const char* begin = text.data() + at;
  const char* end = text.data() + text.size();
  const char* read = begin;
  TreeBuilder builder(tree, begin, &read, err);
  // Not strict: the text after the root object is checked here, where it is known.
  bool ok = json::sax_parse(TrackedIterator(begin, &read), TrackedIterator(end, &read), &builder,
                            json::input_format_t::json, /*strict=*/false);
  if (!ok) {
    err.pos += at;
    return false;
  }
  while (read < end && is_space(*read)) ++read;
  if (read < end) {
    err = JsonError{static_cast<size_t>(read - text.data()), {}, "unexpected text after the report"};
    return false;
  }
  return true;
}

size_t value_position(std::string_view text, const Path& path) {
  size_t at = skip_bom(text);
  const char* begin = text.data() + at;
  const char* end = text.data() + text.size();
  const char* read = begin;
  Locator locator(path, end, &read);
  json::sax_parse(TrackedIterator(begin, &read), TrackedIterator(end, &read), &locator,
                  json::input_format_t::json, /*strict=*/false);
  return locator.found() ? static_cast<size_t>(locator.found() - text.data()) : text.size();
}

Status located(std::string_view text, size_t pos, const Path& path, std::string_view what) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line, col = 1;
    } else if ((text[i] & 0xC0) != 0x80) {
      ++col;
    }
  }
  std::string msg = format("report JSON, line %zu, column %zu", line, col);
  if (!path.empty()) msg += " (at " + path_text(path) + ")";
  msg += ": ";
  msg += what;
  return Status(StatusCode::kInvalid, msg);
}

}  // namespace pp::client::report::detail
