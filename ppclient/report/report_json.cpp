// The report as JSON (schema in docs/report.md) on nlohmann-json, the reading half:
// from_json parses it into a tree (report_json_reader.hpp) and walks the tree against
// the one schema below, which also names what a malformed value had to be. Writing is
// report_json_write.cpp's.
#include "ppclient/report/report.hpp"

#include <charconv>
#include <climits>
#include <cmath>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "ppclient/report/report_json_reader.hpp"
#include "ppclient/report/report_text.hpp"

namespace pp::client::report {

namespace {

using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

using detail::kFormat;
using detail::kVersion;

// ---------------------------------------------------------------- the schema

enum class Type : uint8_t { kObject, kArray, kString, kBool, kInteger, kNumber, kUnknown };
struct Fields;
// What a value must be: an integer from 0 to `max`; an object with `fields`, or an
// array of such objects.
struct Expect {
  Type type = Type::kUnknown;
  uint64_t max = 0;
  const Fields* fields = nullptr;
  const char* choices = nullptr;   // a string that names one of these
};
struct Field {
  const char* name;
  Expect expect;
};
// The first `required` fields must be there; keys not listed are skipped.
struct Fields {
  const Field* list;
  size_t size, required;
};

constexpr Expect kCount{Type::kInteger, UINT64_MAX};
constexpr Expect kNumber{Type::kNumber};
constexpr Expect kString{Type::kString};

constexpr Field kBatchList[] = {{"wall_seconds", kNumber}, {"jobs", kCount},
                                {"job_seconds", kNumber},  {"resent", kCount},
                                {"duplicates", kCount},    {"bytes_sent", kCount},
                                {"bytes_received", kCount}};
constexpr Field kNodeList[] = {
    {"name", kString},         {"host", kString},          {"workers", {Type::kInteger, INT_MAX}},
    {"speed_score", kNumber},  {"connected", {Type::kBool}}, {"jobs_done", kCount},
    {"failures", kCount},      {"crashes", kCount},        {"job_seconds", kNumber},
    {"cpu_seconds", kNumber},  {"busy_seconds", kNumber},  {"stolen_from", kCount},
    {"stolen_to", kCount},     {"backups_won", kCount},    {"backups_lost", kCount},
    {"requeued", kCount},      {"bytes_sent", kCount},     {"bytes_received", kCount},
    {"paused_seconds", kNumber}};
constexpr Field kExecutionList[] = {
    {"job", kCount},
    {"node", {Type::kInteger, UINT32_MAX}},
    {"worker", {Type::kInteger, UINT32_MAX}},
    {"start", kNumber},
    {"end", kNumber},
    {"kind", {Type::kString, 0, nullptr, "normal, stolen or backup"}},
    {"fate", {Type::kString, 0, nullptr, "won, lost, failed or crashed"}}};
// The bytes through the driver are optional (reports written before they were summed).
constexpr Fields kBatch{kBatchList, std::size(kBatchList), std::size(kBatchList) - 2};
constexpr Field kStageList[] = {{"name", kString},      {"items_in", kCount}, {"items_out", kCount},
                                {"dropped", kCount},    {"failed", kCount},   {"runs", kCount},
                                {"job_seconds", kNumber}};
constexpr Fields kStage{kStageList, std::size(kStageList), std::size(kStageList)};
constexpr Field kPipelineList[] = {{"name", kString},  {"wall_seconds", kNumber},
                                   {"items", kCount},  {"dropped", kCount},
                                   {"failed", kCount}, {"stages", {Type::kArray, 0, &kStage}}};
constexpr Fields kPipeline{kPipelineList, std::size(kPipelineList), std::size(kPipelineList)};
// The last three are optional (reports written before they were counted lack them).
constexpr Fields kNode{kNodeList, std::size(kNodeList), std::size(kNodeList) - 3};
constexpr Fields kExecution{kExecutionList, std::size(kExecutionList), std::size(kExecutionList)};
constexpr Field kRootList[] = {{"format", kString},
                               {"version", {Type::kInteger, UINT64_MAX}},
                               {"batch", {Type::kObject, 0, &kBatch}},
                               {"nodes", {Type::kArray, 0, &kNode}},
                               {"executions", {Type::kArray, 0, &kExecution}},
                               {"executions_dropped", kCount},
                               {"dropped_from", kNumber},
                               {"dropped_to", kNumber},
                               {"pipelines", {Type::kArray, 0, &kPipeline}}};
// The last three are optional (older reports lack them; "pipelines" came last).
constexpr Fields kRoot{kRootList, std::size(kRootList), 6};

// What the schema expects at `path` (kUnknown where it expects nothing in particular).
Expect expect_at(const detail::Path& path) {
  Expect e{Type::kObject, 0, &kRoot};
  for (const detail::PathStep& step : path) {
    if (step.is_index) {
      if (e.type != Type::kArray) return {};
      e = {Type::kObject, 0, e.fields};
      continue;
    }
    if (e.type != Type::kObject || !e.fields) return {};
    const Field* f = e.fields->list;
    const Field* end = f + e.fields->size;
    while (f != end && step.key != f->name) ++f;
    if (f == end) return {};
    e = f->expect;
  }
  return e;
}

std::string expected_text(const Expect& e) {
  switch (e.type) {
    case Type::kObject: return "expected an object";
    case Type::kArray: return "expected an array";
    case Type::kString: return "expected a string";
    case Type::kBool: return "expected true or false";
    case Type::kInteger:
      return detail::format("expected an integer from 0 to %llu",
                            static_cast<unsigned long long>(e.max));
    case Type::kNumber: return "expected a number";
    default: return "expected a value";
  }
}

}  // namespace

namespace {

// ---------------------------------------------------------------- reading

// Walks the parsed tree against the schema, keeping the path for messages.
class Walk {
 public:
  explicit Walk(std::string_view text) : text_(text) {}

  // `what` about the value being read (its line and column are looked up).
  Status fail(std::string_view what) const {
    return detail::located(text_, detail::value_position(text_, path_), path_, what);
  }

  // Reads an object of `fields`: read(i, value) for each field i present, in the
  // schema's order; a missing required field is an error.
  template <typename F>
  Status object(const json& v, const Fields& fields, F&& read) {
    if (!v.is_object()) return fail(expected_text({Type::kObject}));
    for (size_t i = 0; i < fields.size; ++i) {
      const Field& f = fields.list[i];
      auto it = v.find(f.name);
      if (it == v.end()) {
        if (i < fields.required) return fail(detail::format("missing key \"%s\"", f.name));
        continue;
      }
      path_.push_back(detail::PathStep{f.name});
      expect_ = &f.expect;
      Status st = read(i, *it);
      path_.pop_back();
      if (!st) return st;
    }
    return Status::ok();
  }

  template <typename T, typename F>
  Status array(const json& v, std::vector<T>& out, F&& read) {
    if (!v.is_array()) return fail(expected_text({Type::kArray}));
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      path_.push_back(detail::PathStep{{}, i, true});
      Status st = read(v[i], out.emplace_back());
      path_.pop_back();
      if (!st) return st;
    }
    return Status::ok();
  }

  // The field being read, which must be what the schema says.
  Status get(const json& v, uint64_t& out) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > expect_->max) return wrong();
    out = v.get<uint64_t>();
    return Status::ok();
  }
  template <typename T>
  Status get(const json& v, T& out) requires std::is_integral_v<T> {
    uint64_t x = 0;
    Status st = get(v, x);
    out = static_cast<T>(x);
    return st;
  }
  Status get(const json& v, double& out) {
    if (!v.is_number()) return wrong();
    out = v.get<double>();
    return std::isfinite(out) ? Status::ok() : fail("number out of range");
  }
  Status get(const json& v, std::string& out) {
    if (!v.is_string()) return wrong();
    out = v.get<std::string>();
    return Status::ok();
  }
  Status get(const json& v, bool& out) {
    if (!v.is_boolean()) return wrong();
    out = v.get<bool>();
    return Status::ok();
  }
  // A string that names one of the n values of E.
  template <typename E>
  Status get(const json& v, E& out, int n, const char* (*name)(E)) {
    std::string s;
    if (Status st = get(v, s); !st) return st;
    for (int i = 0; i < n; ++i) {
      if (s == name(static_cast<E>(i))) return out = static_cast<E>(i), Status::ok();
    }
    return fail(detail::format("unknown value \"%s\" (expected %s)", detail::fit(s, 20).c_str(),
                               expect_->choices));
  }

 private:
  Status wrong() const { return fail(expected_text(*expect_)); }

  std::string_view text_;
  detail::Path path_;
  const Expect* expect_ = nullptr;
};

Status read_batch(Walk& w, const json& v, Batch& b) {
  return w.object(v, kBatch, [&](size_t i, const json& x) -> Status {
    switch (i) {
      case 0: return w.get(x, b.wall_seconds);
      case 1: return w.get(x, b.jobs);
      case 2: return w.get(x, b.job_seconds);
      case 3: return w.get(x, b.resent);
      case 4: return w.get(x, b.duplicates);
      case 5: return w.get(x, b.bytes_sent);
      default: return w.get(x, b.bytes_received);
    }
  });
}

Status read_stage(Walk& w, const json& v, Stage& s) {
  return w.object(v, kStage, [&](size_t i, const json& x) -> Status {
    switch (i) {
      case 0: return w.get(x, s.name);
      case 1: return w.get(x, s.items_in);
      case 2: return w.get(x, s.items_out);
      case 3: return w.get(x, s.dropped);
      case 4: return w.get(x, s.failed);
      case 5: return w.get(x, s.runs);
      default: return w.get(x, s.job_seconds);
    }
  });
}

Status read_pipeline(Walk& w, const json& v, Pipeline& p) {
  return w.object(v, kPipeline, [&](size_t i, const json& x) -> Status {
    switch (i) {
      case 0: return w.get(x, p.name);
      case 1: return w.get(x, p.wall_seconds);
      case 2: return w.get(x, p.items);
      case 3: return w.get(x, p.dropped);
      case 4: return w.get(x, p.failed);
      default:
        return w.array(x, p.stages, [&](const json& y, Stage& s) { return read_stage(w, y, s); });
    }
  });
}

Status read_node(Walk& w, const json& v, NodeRow& n) {
  return w.object(v, kNode, [&](size_t i, const json& x) -> Status {
    switch (i) {
      case 0: return w.get(x, n.node);
      case 1: return w.get(x, n.host);
      case 2: return w.get(x, n.workers);
      case 3: return w.get(x, n.speed_score);
      case 4: return w.get(x, n.connected);
      case 5: return w.get(x, n.jobs);
      case 6: return w.get(x, n.failures);
      case 7: return w.get(x, n.crashes);
      case 8: return w.get(x, n.job_time);
      case 9: return w.get(x, n.cpu_time);
      case 10: return w.get(x, n.busy_time);
      case 11: return w.get(x, n.stolen_from);
      case 12: return w.get(x, n.stolen_to);
      case 13: return w.get(x, n.backups_won);
      case 14: return w.get(x, n.backups_lost);
      case 15: return w.get(x, n.requeued);
      case 16: return w.get(x, n.bytes_sent);
      case 17: return w.get(x, n.bytes_received);
      default: return w.get(x, n.paused_time);
    }
  });
}

Status read_execution(Walk& w, const json& v, Execution& e) {
  return w.object(v, kExecution, [&](size_t i, const json& x) -> Status {
    switch (i) {
      case 0: return w.get(x, e.job);
      case 1: return w.get(x, e.node);
      case 2: return w.get(x, e.worker);
      case 3: return w.get(x, e.start);
      case 4: return w.get(x, e.end);
      case 5: return w.get(x, e.kind, 3, kind_name);
      default: return w.get(x, e.fate, 4, fate_name);
    }
  });
}

// "format" and "version" first: a document of another kind or a newer version gets
// that said, not whatever else differs.
Status read_header(Walk& w, size_t i, const json& v) {
  if (i == 0) {
    std::string name;
    if (Status st = w.get(v, name); !st) return st;
    if (name == kFormat) return Status::ok();
    return w.fail(detail::format("not a ppcluster report (\"format\" is \"%s\", not \"%s\")",
                                 detail::fit(name, 40).c_str(), kFormat));
  }
  uint64_t version = 0;
  if (Status st = w.get(v, version); !st) return st;
  if (version == 0) return w.fail("version 0 does not exist");
  if (version > kVersion) {
    return Status(StatusCode::kIncompatible,
                  detail::format("report JSON version %llu is newer than this ppclient reads "
                                 "(%llu); read it with a newer ppclient",
                                 static_cast<unsigned long long>(version),
                                 static_cast<unsigned long long>(kVersion)));
  }
  return Status::ok();
}

Status read_report(Walk& w, const json& root, Report& r) {
  if (!root.contains("format")) {
    return w.fail(detail::format("not a ppcluster report (it has no \"format\": \"%s\")", kFormat));
  }
  return w.object(root, kRoot, [&](size_t i, const json& v) -> Status {
    switch (i) {
      case 0:
      case 1: return read_header(w, i, v);
      case 2: return read_batch(w, v, r.batch);
      case 3: return w.array(v, r.nodes, [&](const json& x, NodeRow& n) { return read_node(w, x, n); });
      case 4:
        return w.array(v, r.executions,
                       [&](const json& x, Execution& e) { return read_execution(w, x, e); });
      case 5: return w.get(v, r.executions_dropped);
      case 6: return w.get(v, r.dropped_from);
      case 7: return w.get(v, r.dropped_to);
      default:
        return w.array(v, r.pipelines,
                       [&](const json& x, Pipeline& p) { return read_pipeline(w, x, p); });
    }
  });
}

}  // namespace

pp::Result<Report> from_json(std::string_view text) {
  if (text.find_first_not_of(" \n\r\t", text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0) ==
      std::string_view::npos) {
    return Status(StatusCode::kInvalid, "report JSON: the input is empty");
  }
  json tree;
  detail::JsonError err;
  if (!detail::parse_tree(text, tree, err)) {
    if (err.what.empty()) err.what = expected_text(expect_at(err.path));
    return detail::located(text, err.pos, err.path, err.what);
  }
  Report r;
  Walk walk(text);
  if (Status st = read_report(walk, tree, r); !st) return st;
  for (size_t i = 0; i < r.executions.size(); ++i) {
    if (r.executions[i].node >= r.nodes.size()) {
      return Status(StatusCode::kInvalid,
                    detail::format("report JSON (at executions[%zu].node): %u is not a node index "
                                   "(the report has %zu nodes)",
                                   i, r.executions[i].node, r.nodes.size()));
    }
  }
  return r;
}

}  // namespace pp::client::report
