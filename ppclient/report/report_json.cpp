// The report as JSON (schema in docs/report.md), and the schema that from_json reads
// with JsonReader straight into a Report.
#include "ppclient/report/report.hpp"

#include <charconv>
#include <climits>
#include <cmath>
#include <system_error>

#include "ppclient/report/report_json_reader.hpp"
#include "ppclient/report/report_text.hpp"

namespace pp::client::report {

namespace {

constexpr const char* kFormat = "ppcluster-report";
constexpr uint64_t kVersion = 1;

// ---------------------------------------------------------------- writing

void put_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string v = detail::valid_utf8(s);
  out += '"';
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20 || u == 0x7F) {
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Shortest text that reads back as the same double.
void put_double(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void put_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Appends `"key": ` after a separator (none before the first key of an object).
void key(std::string& out, const char* name, bool first = false) {
  if (!first) out += ", ";
  out += '"';
  out += name;
  out += "\": ";
}

void put_node(std::string& out, const Report& r, size_t i) {
  const NodeRow& n = r.nodes[i];
  Derived d = derive(r, i);
  out += "    {";
  key(out, "name", true), put_string(out, n.node);
  key(out, "host"), put_string(out, n.host);
  key(out, "workers"), out += std::to_string(n.workers);
  key(out, "speed_score"), put_double(out, n.speed_score);
  key(out, "connected"), out += n.connected ? "true" : "false";
  key(out, "jobs_done"), put_uint(out, n.jobs);
  key(out, "failures"), put_uint(out, n.failures);
  key(out, "crashes"), put_uint(out, n.crashes);
  key(out, "job_seconds"), put_double(out, n.job_time);
  key(out, "cpu_seconds"), put_double(out, n.cpu_time);
  key(out, "busy_seconds"), put_double(out, n.busy_time);
  key(out, "stolen_from"), put_uint(out, n.stolen_from);
  key(out, "stolen_to"), put_uint(out, n.stolen_to);
  key(out, "backups_won"), put_uint(out, n.backups_won);
  key(out, "backups_lost"), put_uint(out, n.backups_lost);
  key(out, "requeued"), put_uint(out, n.requeued);
  key(out, "bytes_sent"), put_uint(out, n.bytes_sent);
  key(out, "bytes_received"), put_uint(out, n.bytes_received);
  key(out, "derived"), out += '{';
  key(out, "share", true), put_double(out, d.share);
  key(out, "throughput_per_worker"), put_double(out, d.throughput_per_worker);
  key(out, "relative_speed"), put_double(out, d.relative_speed);
  key(out, "mean_job_seconds"), put_double(out, d.mean_job_seconds);
  out += "}}";
}

void put_execution(std::string& out, const Execution& e) {
  out += "    {";
  key(out, "job", true), put_uint(out, e.job);
  key(out, "node"), put_uint(out, e.node);
  key(out, "worker"), put_uint(out, e.worker);
  key(out, "start"), put_double(out, e.start);
  key(out, "end"), put_double(out, e.end);
  key(out, "kind"), out += '"', out += kind_name(e.kind), out += '"';
  key(out, "fate"), out += '"', out += fate_name(e.fate), out += '"';
  out += '}';
}

}  // namespace

std::string to_json(const Report& r) {
  std::string out;
  out.reserve(512 + r.nodes.size() * 512 + r.executions.size() * 112);
  out += "{\n  \"format\": \"";
  out += kFormat;
  out += "\",\n  \"version\": ";
  put_uint(out, kVersion);
  out += ",\n  \"batch\": {";
  key(out, "wall_seconds", true), put_double(out, r.batch.wall_seconds);
  key(out, "jobs"), put_uint(out, r.batch.jobs);
  key(out, "job_seconds"), put_double(out, r.batch.job_seconds);
  key(out, "resent"), put_uint(out, r.batch.resent);
  key(out, "duplicates"), put_uint(out, r.batch.duplicates);
  key(out, "speedup"), put_double(out, speedup(r));
  out += "},\n  \"nodes\": [";
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    out += i ? ",\n" : "\n";
    put_node(out, r, i);
  }
  out += r.nodes.empty() ? "],\n" : "\n  ],\n";
  out += "  \"executions\": [";
  for (size_t i = 0; i < r.executions.size(); ++i) {
    out += i ? ",\n" : "\n";
    put_execution(out, r.executions[i]);
  }
  out += r.executions.empty() ? "],\n" : "\n  ],\n";
  out += "  \"executions_dropped\": ";
  put_uint(out, r.executions_dropped);
  out += ",\n  \"dropped_from\": ";
  put_double(out, r.dropped_from);
  out += ",\n  \"dropped_to\": ";
  put_double(out, r.dropped_to);
  out += "\n}\n";
  return out;
}

namespace {

// ---------------------------------------------------------------- reading

using detail::format;
using detail::JsonReader;

// The last two are optional (reports written before the timeline kept a sample lack them).
constexpr const char* kRootKeys[] = {"format",     "version",          "batch",
                                     "nodes",      "executions",       "executions_dropped",
                                     "dropped_from", "dropped_to"};
constexpr size_t kRequiredRootKeys = 6;
constexpr const char* kBatchKeys[] = {"wall_seconds", "jobs", "job_seconds", "resent",
                                      "duplicates"};
constexpr const char* kNodeKeys[] = {
    "name",         "host",        "workers",     "speed_score", "connected",  "jobs_done",
    "failures",     "crashes",     "job_seconds", "cpu_seconds", "busy_seconds", "stolen_from",
    "stolen_to",    "backups_won", "backups_lost", "requeued",    "bytes_sent", "bytes_received"};
// The last two are optional (reports written before they were counted lack them).
constexpr size_t kRequiredNodeKeys = 16;
constexpr const char* kExecutionKeys[] = {"job", "node", "worker", "start", "end", "kind", "fate"};

template <size_t N>
int index_of(const char* const (&names)[N], std::string_view key) {
  for (size_t i = 0; i < N; ++i) {
    if (key == names[i]) return static_cast<int>(i);
  }
  return -1;
}

// Reads one object of the schema: read(i) reads the value of names[i]; `seen` gets
// bit i for every names[i] read. Keys this version does not know (such as the
// "derived" figures) are skipped; a known key given twice is an error.
template <size_t N, typename F>
Status read_object(JsonReader& in, const char* const (&names)[N], uint32_t& seen, F&& read) {
  static_assert(N <= 32);
  seen = 0;
  return in.object([&](std::string_view key) -> Status {
    int i = index_of(names, key);
    if (i < 0) return in.skip();
    if (seen & (1u << i)) return in.fail(format("duplicate key \"%s\"", names[i]));
    seen |= 1u << i;
    return read(i);
  });
}

// Every key is one that to_json writes: a missing one is an error (of the first
// `required` ones; the rest are optional).
template <size_t N>
Status require_all(JsonReader& in, size_t start, const char* const (&names)[N], uint32_t seen,
                   size_t required = N) {
  for (size_t i = 0; i < required; ++i) {
    if (!(seen & (1u << i))) return in.fail_at(start, format("missing key \"%s\"", names[i]));
  }
  return Status::ok();
}

template <size_t N, typename F>
Status read_fields(JsonReader& in, const char* const (&names)[N], size_t required, F&& read) {
  uint32_t seen = 0;
  size_t start = (in.next_is('{'), in.pos());
  if (Status st = read_object(in, names, seen, read); !st) return st;
  return require_all(in, start, names, seen, required);
}
template <size_t N, typename F>
Status read_fields(JsonReader& in, const char* const (&names)[N], F&& read) {
  return read_fields(in, names, N, std::forward<F>(read));
}

Status read_count(JsonReader& in, uint64_t& v) { return in.integer(v, UINT64_MAX); }

template <typename T>
Status read_small(JsonReader& in, T& v, uint64_t max) {
  uint64_t x = 0;
  Status st = in.integer(x, max);
  v = static_cast<T>(x);
  return st;
}

Status read_batch(JsonReader& in, Batch& b) {
  return read_fields(in, kBatchKeys, [&](int i) -> Status {
    switch (i) {
      case 0: return in.real(b.wall_seconds);
      case 1: return read_count(in, b.jobs);
      case 2: return in.real(b.job_seconds);
      case 3: return read_count(in, b.resent);
      default: return read_count(in, b.duplicates);
    }
  });
}

Status read_node(JsonReader& in, NodeRow& n) {
  return read_fields(in, kNodeKeys, kRequiredNodeKeys, [&](int i) -> Status {
    switch (i) {
      case 0: return in.string(n.node);
      case 1: return in.string(n.host);
      case 2: return read_small(in, n.workers, INT_MAX);
      case 3: return in.real(n.speed_score);
      case 4: return in.boolean(n.connected);
      case 5: return read_count(in, n.jobs);
      case 6: return read_count(in, n.failures);
      case 7: return read_count(in, n.crashes);
      case 8: return in.real(n.job_time);
      case 9: return in.real(n.cpu_time);
      case 10: return in.real(n.busy_time);
      case 11: return read_count(in, n.stolen_from);
      case 12: return read_count(in, n.stolen_to);
      case 13: return read_count(in, n.backups_won);
      case 14: return read_count(in, n.backups_lost);
      case 15: return read_count(in, n.requeued);
      case 16: return read_count(in, n.bytes_sent);
      default: return read_count(in, n.bytes_received);
    }
  });
}

// Reads a string that must be one of names(0..n-1).
template <typename E>
Status read_enum(JsonReader& in, E& v, int n, const char* (*name)(E), const char* expected) {
  size_t at = (in.next_is('"'), in.pos());
  std::string s;
  if (Status st = in.string(s); !st) return st;
  for (int i = 0; i < n; ++i) {
    if (s == name(static_cast<E>(i))) {
      v = static_cast<E>(i);
      return Status::ok();
    }
  }
  return in.fail_at(at, format("unknown value \"%s\" (expected %s)", detail::fit(s, 20).c_str(),
                               expected));
}

Status read_execution(JsonReader& in, Execution& e) {
  return read_fields(in, kExecutionKeys, [&](int i) -> Status {
    switch (i) {
      case 0: return read_count(in, e.job);
      case 1: return read_small(in, e.node, UINT32_MAX);
      case 2: return read_small(in, e.worker, UINT32_MAX);
      case 3: return in.real(e.start);
      case 4: return in.real(e.end);
      case 5: return read_enum(in, e.kind, 3, kind_name, "normal, stolen or backup");
      default: return read_enum(in, e.fate, 4, fate_name, "won, lost, failed or crashed");
    }
  });
}

Status read_header(JsonReader& in, int key) {
  size_t at = (in.next_is('"'), in.pos());
  if (key == 0) {
    std::string format_name;
    if (Status st = in.string(format_name); !st) return st;
    if (format_name == kFormat) return Status::ok();
    return in.fail_at(at, format("not a ppcluster report (\"format\" is \"%s\", not \"%s\")",
                                 detail::fit(format_name, 40).c_str(), kFormat));
  }
  uint64_t version = 0;
  if (Status st = in.integer(version, UINT64_MAX); !st) return st;
  if (version == 0) return in.fail_at(at, "version 0 does not exist");
  if (version > kVersion) {
    return Status(StatusCode::kIncompatible,
                  format("report JSON version %llu is newer than this ppclient reads (%llu); "
                         "read it with a newer ppclient",
                         static_cast<unsigned long long>(version),
                         static_cast<unsigned long long>(kVersion)));
  }
  return Status::ok();
}

Status read_report(JsonReader& in, Report& r) {
  uint32_t seen = 0;
  size_t start = (in.next_is('{'), in.pos());
  Status st = read_object(in, kRootKeys, seen, [&](int i) -> Status {
    switch (i) {
      case 0:
      case 1: return read_header(in, i);
      case 2: return read_batch(in, r.batch);
      case 3:
        return in.array([&](size_t) { return read_node(in, r.nodes.emplace_back()); });
      case 4:
        return in.array([&](size_t) { return read_execution(in, r.executions.emplace_back()); });
      case 5: return read_count(in, r.executions_dropped);
      case 6: return in.real(r.dropped_from);
      default: return in.real(r.dropped_to);
    }
  });
  if (!st) return st;
  if (!(seen & 1u)) {
    return in.fail_at(start, format("not a ppcluster report (it has no \"format\": \"%s\")",
                                    kFormat));
  }
  return require_all(in, start, kRootKeys, seen, kRequiredRootKeys);
}

}  // namespace

pp::Result<Report> from_json(std::string_view text) {
  JsonReader in(text);
  in.skip_bom();
  if (in.at_end()) return Status(StatusCode::kInvalid, "report JSON: the input is empty");
  Report r;
  if (Status st = read_report(in, r); !st) return st;
  if (!in.at_end()) return in.fail("unexpected text after the report");
  for (size_t i = 0; i < r.executions.size(); ++i) {
    if (r.executions[i].node >= r.nodes.size()) {
      return Status(StatusCode::kInvalid,
                    format("report JSON (at executions[%zu].node): %u is not a node index "
                           "(the report has %zu nodes)",
                           i, r.executions[i].node, r.nodes.size()));
    }
  }
  return r;
}

}  // namespace pp::client::report
