// The report's JSON text as a tree: nlohmann-json parses it (through its SAX interface,
// so that this module sees where every value starts), and every failure becomes one
// message that names the line, the column and the key path ("nodes[2].workers").
// Internal to the report module; report_json.cpp walks the tree against the schema.
//
// Strict: RFC 8259 grammar, UTF-8 validated, no comments, no trailing commas, no
// duplicate keys, nesting at most kMaxDepth (so no input can make the tree, or its
// destruction, deep). Nothing throws.
//
//   detail::JsonError err;
//   nlohmann::json tree;
//   if (!detail::parse_tree(text, tree, err)) {
//     return detail::located(text, err.pos, err.path, err.what.empty() ? "expected a number"
//                                                                      : err.what);
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/status.hpp"

namespace pp::client::report::detail {

// The document's "format" and the newest "version" written and read.
inline constexpr const char* kFormat = "ppcluster-report";
inline constexpr uint64_t kVersion = 1;

inline constexpr int kMaxDepth = 64;

// One step from a container to a value in it: a key, or an index in an array.
struct PathStep {
  std::string key;
  size_t index = 0;
  bool is_index = false;

  bool operator==(const PathStep&) const = default;
};
// Where a value lies, from the root; empty for the root itself.
using Path = std::vector<PathStep>;
// "nodes[2].workers" (keys cut to 40 columns, control characters shown as '?').
std::string path_text(const Path& path);

// A failure while parsing. `what` is empty when a value is malformed where a value was
// expected: only the schema knows what that value had to be, so the caller says it.
struct JsonError {
  size_t pos = 0;   // byte offset into the text
  Path path;
  std::string what;
};

// Parses `text` (a leading UTF-8 BOM allowed) into `tree`. Its root must be an object;
// whitespace alone may follow it. On failure fills `err` and returns false.
bool parse_tree(std::string_view text, nlohmann::json& tree, JsonError& err);

// Byte offset where the value at `path` starts in `text` (which parse_tree accepted);
// the text's length if there is no such value. Reads the text again: for messages only.
size_t value_position(std::string_view text, const Path& path);

// Status kInvalid: "report JSON, line L, column C (at PATH): WHAT".
Status located(std::string_view text, size_t pos, const Path& path, std::string_view what);

}  // namespace pp::client::report::detail
