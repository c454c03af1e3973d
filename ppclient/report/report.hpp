// The contribution report: what every node contributed to a batch, rendered as a
// text table (print_stats, `ppclient stats`), JSON (read back by from_json), a
// standalone SVG picture and a self-contained HTML page. Figures are defined in
// docs/report.md, which also documents the JSON schema.
//
// A pure module: plain data in, text out; no Asio, no threads, no clock. The caller
// (the job server) collects a Report; everything derived (shares, speeds, speedup) is
// computed here. Functions are reentrant; a Report is a plain value.
//
//   report::Report r = collect();          // filled by the job server
//   std::fputs(report::to_table(r).c_str(), stdout);
//   if (auto st = report::write_file(r, "run.html"); !st) PP_WARN("%s", st.to_string().c_str());
//   auto back = report::from_json(report::to_json(r));   // == r
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/status.hpp"
#include "pp/node_stats.hpp"

namespace pp::client::report {

// A node's row is the one record of per-node figures, the public pp::NodeStats (the
// JSON keeps its own key names, docs/report.md).
using NodeRow = pp::NodeStats;

enum class Kind : uint8_t { kNormal, kStolen, kBackup };
// won = accepted ok result; lost = a copy whose result was not used (cancelled or came
// second); failed = accepted error; crashed = killed its worker.
enum class Fate : uint8_t { kWon, kLost, kFailed, kCrashed };

// One run of one job copy on one worker, as the client saw it.
struct Execution {
  uint64_t job = 0;
  uint32_t node = 0;         // index into Report::nodes
  uint32_t worker = 0;       // worker index on that node
  double start = 0, end = 0; // seconds since the batch started (client clock)
  Kind kind = Kind::kNormal;
  Fate fate = Fate::kWon;

  bool operator==(const Execution&) const = default;
};

struct Batch {
  double wall_seconds = 0;   // first submit to last result
  uint64_t jobs = 0;         // jobs with a result
  double job_seconds = 0;    // sum of accepted jobs' wall seconds
  uint64_t resent = 0;       // jobs sent again because their node went away or crashed
  uint64_t duplicates = 0;   // executions whose result was not used
  // Through the driver: bytes it sent to all nodes and read from them (the nodes' rows'
  // bytes_sent and bytes_received summed).
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;

  bool operator==(const Batch&) const = default;
};

// One stage of a pipeline. Items reach a stage with a value or not at all: one a stage
// dropped (returned nil) or failed goes no further.
struct Stage {
  std::string name;
  uint64_t items_in = 0;     // items that reached it (the first stage: items read, less
                             // those cancelled before they ran)
  uint64_t items_out = 0;    // items it passed on (returned a value)
  uint64_t dropped = 0;      // items it dropped (returned nil)
  uint64_t failed = 0;       // items it failed (its own error, not an earlier stage's)
  uint64_t runs = 0;         // its jobs that ran to an end (ok or failed)
  double job_seconds = 0;    // the sum of those jobs' run times

  bool operator==(const Stage&) const = default;
};

// A pipeline of the batch (js:pipeline, pp::Cluster::pipeline), its stages in order.
struct Pipeline {
  std::string name;          // "pipeline 1", numbered in the order they were made
  double wall_seconds = 0;   // its first job submitted to its last job finished
  uint64_t items = 0;        // items that came out of the last stage (values, nil or errors)
  uint64_t dropped = 0;      // of those, dropped by a stage (nil)
  uint64_t failed = 0;       // of those, failed by a stage
  std::vector<Stage> stages;

  bool operator==(const Pipeline&) const = default;
};

// The figures (batch, nodes) count every execution; `executions` may be a sample of
// them (the job server keeps a bounded one, see execution_sample.hpp), for the timeline.
struct Report {
  Batch batch;
  std::vector<NodeRow> nodes;
  std::vector<Execution> executions;
  uint64_t executions_dropped = 0;   // executions not in `executions` (not kept in the sample)
  // With executions_dropped > 0: the dropped ones all ran within [dropped_from,
  // dropped_to] (seconds since the batch started); outside it `executions` is complete.
  double dropped_from = 0, dropped_to = 0;
  std::vector<Pipeline> pipelines;   // in the order they were made

  bool operator==(const Report&) const = default;
};

// Derived figures of one node (see docs/report.md):
//   share                 job_seconds / sum of all nodes' job_seconds
//   throughput_per_worker jobs_done / busy_seconds / workers (0 when not measurable)
//   relative_speed        fastest node's mean_job_seconds / this node's (1.0 for the
//                         fastest; 0 if it did no job or its job time is 0)
//   mean_job_seconds      job_seconds / jobs_done (0 if it did no job)
struct Derived {
  double share = 0;
  double throughput_per_worker = 0;
  double relative_speed = 0;
  double mean_job_seconds = 0;
};

// All zeros for an index out of range.
Derived derive(const Report& report, size_t node_index);

// Derived figures of one stage (see docs/report.md):
//   items_per_second  runs / the pipeline's wall_seconds
//   seconds_per_item  job_seconds / runs (the mean of its jobs' run times)
//   workers           job_seconds / the pipeline's wall_seconds: how many workers it kept
//                     busy on average, its share of the workers over the run
struct StageDerived {
  double items_per_second = 0;
  double seconds_per_item = 0;
  double workers = 0;
};
// All zeros for an index out of range or a wall time of 0.
StageDerived derive(const Pipeline& pipeline, size_t stage_index);
// Speedup over serial: batch.job_seconds / batch.wall_seconds (0 if wall is 0).
double speedup(const Report& report);

const char* kind_name(Kind kind);   // "normal", "stolen", "backup"
const char* fate_name(Fate fate);   // "won", "lost", "failed", "crashed"

// "Job execution statistics": one row per node, a total row, then the batch figures.
// Lines stay within about 120 columns; control characters in names are shown as '?'.
std::string to_table(const Report& report);

// The JSON document described in docs/report.md ("format": "ppcluster-report",
// "version": 1). Non-finite numbers are written as 0 and invalid UTF-8 in names as
// U+FFFD; everything else round-trips exactly through from_json.
std::string to_json(const Report& report);
// Reads what to_json wrote. Rejects malformed JSON, wrong types, unknown enum names,
// out-of-range indices and documents of another format or a newer version, with a
// message that says where (line and column, or the key path). Never crashes.
pp::Result<Report> from_json(std::string_view text);

// Beyond this many executions the timeline merges each worker's jobs into busy spans
// (keeping stolen, backup, lost, failed and crashed copies visible) and says so.
inline constexpr size_t kTimelineDetailLimit = 20000;

// The share bars and the timeline as one standalone SVG document.
std::string to_svg(const Report& report);
// One self-contained HTML page (no external scripts, fonts or styles): title, batch
// figures, share bars, the table and the timeline.
std::string to_html(const Report& report);

// Writes the report in the format its extension names (case-insensitive): .json,
// .html / .htm, .svg; anything else gets the text table. kIo with the path and the
// system's reason when it cannot be written.
pp::Status write_file(const Report& report, const std::string& path);

}  // namespace pp::client::report
