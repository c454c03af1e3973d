// pp::ClusterOptions: how a cluster (pp::Cluster, the Lua pp.server, the engine behind
// both) finds its nodes, authenticates, schedules and reports. Plain data, copied into
// the cluster when it is made; nothing here is read again afterwards.
//
//   pp::ClusterOptions opt;
//   opt.servers = {"node1:60000", "node2"};    // or {"*"}: every node on the LAN
//   opt.job_timeout = std::chrono::seconds(30);
//   pp::Cluster cluster(opt);
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pp {

struct ClusterOptions {
  // Nodes as "host:port" (port defaults to 60000), or "*": every node of the
  // cluster found on the LAN (UDP broadcast, mDNS). Empty: local workers only.
  std::vector<std::string> servers;
  uint16_t discovery_port = 60001;
  // Where discovery QUERYs are broadcast; empty = $PP_BROADCAST (comma-separated),
  // else every broadcast-capable interface.
  std::vector<std::string> discovery_broadcast;
  // Local worker processes: -1 = one per core when `servers` is empty, else none.
  int local_workers = -1;
  // The cluster secret; empty = $PP_SECRET, then ~/.ppcluster/secret.
  std::string secret;
  // Per-job time limit enforced on the node (0 = the node's default).
  std::chrono::milliseconds job_timeout{0};
  // Fail jobs when no node has been reachable for this long (0 = wait forever).
  std::chrono::milliseconds no_node_timeout{std::chrono::seconds(60)};
  // kAdaptive: node windows from measured speeds, work stealing, backup copies at the
  // tail. kFreeSlot: a job goes to whichever node has an idle worker, nothing more
  // (what Parallel Python does; for comparisons).
  enum class Scheduling { kAdaptive, kFreeSlot };
  Scheduling scheduling = Scheduling::kAdaptive;
  // A journal file: each successful result is kept there as it arrives, and a job
  // found there (same code, same arguments, same place in the batch) is not run
  // again, so a rerun of a batch whose driver died runs only what is missing.
  // Empty = $PP_JOURNAL, else none.
  std::string journal;
  // Encrypt every session after the handshake (ChaCha20-Poly1305); also on when
  // $PP_ENCRYPT is 1. A node started with --encrypt encrypts regardless.
  bool encrypt = false;
  // Echo what each job prints to this process's stdout as its result arrives, each line
  // prefixed "[job 12 on host:port] " (a job's output is kept either way:
  // pp::Job::stdout_text(), job.stdout in Lua). `ppclient run --no-echo` turns it off.
  bool echo_output = true;
  // A progress bar on stderr while the driver waits for jobs (over about 0.5 s): done /
  // total, percent, jobs/s, ETA, nodes in use, failures and retries. Unset: on when
  // stderr is a terminal. `ppclient run --progress` / `--no-progress` set it.
  std::optional<bool> progress;
  // Heartbeat interval; a node silent for 5 intervals is dropped.
  std::chrono::milliseconds heartbeat{std::chrono::milliseconds(1000)};
  // Where the contribution report is written when the cluster closes (.json, .html,
  // .svg, else the text table); empty = none. `ppclient run --report FILE` sets it
  // for every cluster its script makes.
  std::string report;
  // A live dashboard of the batch in the browser, served at "[ADDRESS:]PORT" while the
  // cluster is open ("8787" = 127.0.0.1:8787; port 0 = any free port); empty = none.
  // On a loopback address no token is asked for; on any other (0.0.0.0: every
  // interface) the URL printed at start carries a token that every request must show.
  // The constructor throws std::invalid_argument for a value it cannot read, and
  // std::runtime_error when it cannot listen there. `ppclient run --dashboard`.
  std::string dashboard;
  // When the cluster closes, the dashboard shows the final state for this long before
  // close() returns (0: it stops with the cluster). `ppclient run --dashboard-linger S`.
  std::chrono::milliseconds dashboard_linger{0};
};

}  // namespace pp
