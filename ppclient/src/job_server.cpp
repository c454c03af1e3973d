#include "ppclient/src/job_server.hpp"

#include <algorithm>
#include <cstdio>
#include <future>
#include <sstream>
#include <stdexcept>

#include "core/proto/auth.hpp"
#include "core/proto/frame_limit.hpp"
#include "core/util/log.hpp"
#include "core/util/secret.hpp"
#include "core/discovery/discovery.hpp"
#include "ppclient/src/journal.hpp"
#include "ppclient/src/local_node.hpp"
#include "ppclient/src/node_link.hpp"

namespace pp::client {
namespace {

using Clock = std::chrono::steady_clock;

// Times a job may be lost with its node (the connection dropped before its RESULT)
// before it is given up: no job bounces between reconnects for ever.
constexpr uint32_t kMaxDrops = 5;

bool split_host_port(const std::string& s, std::string& host, uint16_t& port) {
  port = proto::kDefaultPort;
  std::string rest;
  if (!s.empty() && s.front() == '[') {  // [v6]:port
    auto close = s.find(']');
    if (close == std::string::npos) return false;
    host = s.substr(1, close - 1);
    rest = s.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto colon = s.find(':');
    host = s.substr(0, colon);
    rest = s.substr(colon);
  } else {
    host = s;  // a name, an IPv4 address, or a bare IPv6 address
  }
  if (!rest.empty()) {
    int p = std::atoi(rest.c_str() + 1);
    if (p <= 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  }
  return !host.empty();
}

}  // namespace

JobServer::JobServer(ClusterOptions options, bool lua_bytecode)
    : opt_(std::move(options)),
      lua_bytecode_(lua_bytecode),
      work_(io_.get_executor()),
      housekeeping_(io_),
      created_(Clock::now()),
      sched_(sched::SchedulerOptions{
          .clock = [this] { return now(); },
          .adaptive = opt_.scheduling == ClusterOptions::Scheduling::kAdaptive}) {
  std::string secret_file;
  auto secret = secret::resolve(opt_.secret, "", nullptr, &secret_file);
  if (!secret) throw std::runtime_error(secret.status().message());
  secret_ = *secret;
  if (Status open = secret_file.empty() ? Status::ok() : secret::check_private(secret_file); !open) {
    PP_WARN("%s", open.message().c_str());
  }
  if (std::string weak = secret::weakness(secret_); !weak.empty()) PP_WARN("%s", weak.c_str());
  if (const char* e = std::getenv("PP_ENCRYPT"); e != nullptr && std::string_view(e) == "1") {
    opt_.encrypt = true;
  }
  if (opt_.journal.empty()) {
    if (const char* j = std::getenv("PP_JOURNAL"); j != nullptr) opt_.journal = j;
  }
  if (!opt_.journal.empty()) {
    // One journal per batch script: jobs are told apart by code, arguments and their
    // place in the batch (Journal::job_key), so a rerun finds what it already did.
    // Its keys are unique within a run, so what it appends need not stay in memory.
    JournalOptions jo;
    jo.index_appends = false;
    auto j = Journal::open(opt_.journal, "ppcluster batch journal v1", jo);
    if (!j) throw std::runtime_error("journal " + opt_.journal + ": " + j.status().message());
    journal_ = std::move(*j);
    if (journal_->size() > 0) {
      PP_INFO("journal %s: %zu finished jobs from earlier runs%s", opt_.journal.c_str(),
              journal_->size(),
              journal_->dropped_tail_bytes() > 0 ? " (a torn last record was dropped)" : "");
    }
  }
  for (const auto& s : opt_.servers) {
    if (s == "*") {
      discover_ = true;
      continue;
    }
    NodeEntry e;
    e.name = s;
    if (!split_host_port(s, e.host, e.port)) {
      throw std::invalid_argument("bad node address '" + s + "': expected host or host:port");
    }
    nodes_.push_back(std::move(e));
  }
  int local = opt_.local_workers;
  // "*" counts as a server: with discovery, local workers only when asked for.
  if (local < 0) local = opt_.servers.empty() ? static_cast<int>(std::thread::hardware_concurrency()) : 0;
  if (local > 0) {
    std::string one_off = proto::random_hex(32);
    local_ = std::make_unique<LocalNode>(local, one_off);
    NodeEntry e;
    e.name = "local";
    e.host = "127.0.0.1";
    e.port = local_->port();
    e.local = true;
    nodes_.push_back(std::move(e));
    local_secret_ = one_off;
  }
  if (nodes_.empty() && !discover_) {
    throw std::invalid_argument("no nodes: give servers, \"*\" or local_workers > 0");
  }
  no_node_since_ = Clock::now();
  thread_ = std::thread([this] { io_main(); });
  enlist(this);
}

JobServer::~JobServer() {
  unlist(this);
  if (journal_) {
    std::lock_guard lock(sync_->mutex);
    PP_INFO("journal %s: %llu results taken from it, %llu added", opt_.journal.c_str(),
            static_cast<unsigned long long>(journal_hits_),
            static_cast<unsigned long long>(journal_appended_));
  }
  // PP_REPORT (set by `ppclient run --report FILE`): the report of the batch, on close.
  if (const char* path = std::getenv("PP_REPORT"); path != nullptr && *path != '\0') {
    Status st = write_report(path);
    if (!st) PP_ERROR("report: %s", st.message().c_str());
  }
  asio::post(io_, [this] { shutdown_io(); });
  thread_.join();
  // Only now: handlers of theirs that were cancelled by stop() may have been queued
  // until the loop ended; with the loop stopped none of them can run any more.
  discovery_.reset();
  std::lock_guard lock(sync_->mutex);
  closed_ = true;
}

void JobServer::io_main() {
  start_nodes();
  if (discover_) start_discovery();
  check_starvation();
  io_.run();
}

void JobServer::start_nodes() {
  for (auto& n : nodes_) connect(n);
}

void JobServer::connect(NodeEntry& n) {
  if (interrupted_) return;
  LinkOptions lo;
  lo.name = n.name;
  lo.host = n.host;
  lo.port = n.port;
  lo.key = proto::derive_key(n.local ? local_secret_ : secret_);
  lo.has_secret = n.local || !secret_.empty();
  lo.heartbeat = opt_.heartbeat;
  lo.needs_bytecode = lua_bytecode_;
  lo.encrypt = opt_.encrypt;
  n.link = std::make_shared<NodeLink>(
      io_, lo,
      NodeLink::Callbacks{[this](NodeLink& l) { on_ready(l); },
                          [this](NodeLink& l, proto::ResultMsg&& r) { on_result(l, std::move(r)); },
                          [this](NodeLink& l, proto::Stolen&& st) { on_stolen(l, std::move(st)); },
                          [this](NodeLink& l, const std::string& why, bool permanent) {
                            on_down(l, why, permanent);
                          }});
  n.link->start();
}

JobServer::NodeEntry* JobServer::entry_of(NodeLink& link) {
  for (auto& n : nodes_) {
    if (n.link.get() == &link) return &n;
  }
  return nullptr;
}

std::shared_ptr<JobState> JobServer::submit(const std::string& blob, std::string args,
                                            uint32_t timeout_ms) {
  auto state = std::make_shared<JobState>();
  state->sync = sync_;
  Pending p;
  p.state = state;
  p.args = std::move(args);
  p.timeout_ms = timeout_ms != 0 ? timeout_ms : static_cast<uint32_t>(opt_.job_timeout.count());
  p.hash = proto::code_hash(blob);
  std::lock_guard lock(sync_->mutex);
  if (closed_) throw std::runtime_error("the cluster is closed");
  state->id = ++next_id_;
  if (journal_) {
    p.journal_key = Journal::job_key(p.hash, p.args, state->id);
    if (auto rec = journal_->lookup(p.journal_key)) {
      // Finished in an earlier run of this batch: its result, without running it.
      state->done = true;
      state->status = rec->status;
      state->value = std::move(rec->value);
      state->error = std::move(rec->error);
      state->traceback = std::move(rec->traceback);
      state->node = rec->node;
      ++finished_count_;
      ++journal_hits_;
      if (track_finished_) finished_ids_.push_back(state->id);
      p.from_journal = true;
    }
  }
  // No node can take a frame a 4-byte length cannot announce: such a job fails here.
  if (std::string why = proto::job_too_large(state->id, blob.size(), p.args.size(),
                                             proto::kMaxWireFrame, "the protocol's", "");
      !why.empty() && !p.from_journal) {
    state->done = true;
    state->status = proto::JobStatus::kRejected;
    state->error = std::move(why);
    ++finished_count_;
    if (track_finished_) finished_ids_.push_back(state->id);
    p.refused = true;
    p.args.clear();
  }
  // The blob is shared by all jobs of the same code; the io thread dedups it.
  p.blob = std::make_shared<const std::string>(blob);
  incoming_.push_back(std::move(p));
  if (!wake_posted_) {
    wake_posted_ = true;
    asio::post(io_, [this] { drain_incoming(); });
  }
  return state;
}

void JobServer::drain_incoming() {
  std::vector<Pending> batch;
  {
    std::lock_guard lock(sync_->mutex);
    batch.swap(incoming_);
    wake_posted_ = false;
  }
  if (first_submit_ < 0 && !batch.empty()) first_submit_ = now();
  for (auto& p : batch) {
    if (p.from_journal || p.refused) {
      sched_.skip(p.state->id);
      continue;
    }
    auto [it, fresh] = code_.try_emplace(p.hash, p.blob);
    if (!fresh) p.blob = it->second;
    uint64_t id = p.state->id;
    jobs_.emplace(id, std::move(p));
    sched_.submit(id);
  }
  pump();
}

void JobServer::pump() {
  for (const auto& a : sched_.assign()) {
    send(a, a.backup ? report::Kind::kBackup : report::Kind::kNormal);
  }
  // With nothing queued here, idle workers take not-started jobs back from busy nodes.
  std::map<sched::NodeId, std::vector<uint64_t>> asks;
  for (const auto& st : sched_.plan_steals()) asks[st.from].push_back(st.job);
  for (auto& [from, ids] : asks) {
    NodeLink* link = extra_[from].link;
    if (link != nullptr && link->can_steal()) {
      link->steal(ids);
    } else {
      for (uint64_t id : ids) sched_.started(id, from);  // it cannot give jobs back
    }
  }
}

void JobServer::send(const sched::Assignment& a, report::Kind kind) {
  auto& p = jobs_.at(a.job);
  NodeLink* link = extra_[a.node].link;
  if (link == nullptr) {  // not reachable: the scheduler removes it before any new send
    sched_.give_back(a.job, a.node);
    return;
  }
  // Sent, a frame over the node's limit would end the session: the job fails instead.
  const std::string whose = link->name() == "local" ? "the local node's"
                                                   : "node " + link->name() + "'s";
  std::string why = proto::job_too_large(a.job, p.blob->size(), p.args.size(),
                                         link->node_max_frame(), whose, " (ppserver --max-frame)");
  if (!why.empty()) {
    sched_.give_back(a.job, a.node);  // never sent; a backup's original goes on
    if (!a.backup) give_up(a.job, proto::JobStatus::kRejected, std::move(why));
    return;
  }
  if (kind != report::Kind::kNormal) p.special.push_back({a.node, kind});
  link->submit(a.job, p.hash, p.blob, p.args, p.timeout_ms);
}

double JobServer::now() const {
  return std::chrono::duration<double>(Clock::now() - created_).count();
}

void JobServer::on_ready(NodeLink& link) {
  NodeEntry* n = entry_of(link);
  const auto& h = link.node_hello();
  link.sched_id = sched_.add_node({n ? n->name : link.name(), static_cast<int>(h.workers), h.speed});
  link.in_scheduler = true;
  if (extra_.size() <= link.sched_id) extra_.resize(link.sched_id + 1);
  extra_[link.sched_id] = NodeExtra{&link, h.host, h.speed > 0 ? h.speed : 1.0, 0};
  // Windows cover a round trip; twice the handshake's, for the work at both ends.
  double rtt = std::min(0.5, 2 * link.handshake_seconds());
  if (rtt > sched_.options().round_trip_seconds) sched_.set_round_trip(rtt);
  if (n) {
    n->failures = 0;
    n->last_error.clear();
  }
  had_node_ = true;
  PP_DEBUG("node %s ready: %u workers on %s", link.name().c_str(), h.workers, h.host.c_str());
  {
    std::lock_guard lock(sync_->mutex);
    active_snapshot_[link.name()] = static_cast<int>(h.workers);
  }
  pump();
}

void JobServer::on_result(NodeLink& link, proto::ResultMsg&& r) {
  const double t = now();
  const sched::NodeId node = link.sched_id;
  extra_[node].cpu_seconds += static_cast<double>(r.cpu_us) / 1e6;
  const double wall = static_cast<double>(r.wall_us) / 1e6;
  auto kind_of = [](const std::vector<SpecialCopy>& copies, sched::NodeId on) {
    for (const auto& c : copies)
      if (c.node == on) return c.kind;
    return report::Kind::kNormal;
  };
  // A copy whose result is not used; it counts as a duplicate if it ran at all.
  auto lost = [&](report::Kind kind) {
    if (r.wall_us == 0) return;
    ++duplicates_;
    record(r.job_id, node, r, t, kind, report::Fate::kLost);
  };
  auto it = jobs_.find(r.job_id);
  if (it == jobs_.end()) {
    // A copy of a job already finished: cancelled, or second to arrive.
    report::Kind kind = report::Kind::kNormal;
    if (auto l = losers_.find(r.job_id); l != losers_.end()) {
      kind = kind_of(l->second, node);
      std::erase_if(l->second, [node](const SpecialCopy& c) { return c.node == node; });
      if (l->second.empty()) losers_.erase(l);
    }
    return lost(kind);
  }
  const report::Kind kind = kind_of(it->second.special, node);
  const bool ok = r.status == proto::JobStatus::kOk;
  const bool crashed = r.status == proto::JobStatus::kCrashed;
  sched::Completion c = sched_.complete(r.job_id, node, wall, ok, crashed);
  switch (c.outcome) {
    case sched::Outcome::kRetry:
      ++resent_;
      record(r.job_id, node, r, t, kind, report::Fate::kCrashed);
      PP_WARN("job %llu crashed a worker on %s (%s); running it again (%u of %u attempts)",
              static_cast<unsigned long long>(r.job_id), link.name().c_str(), r.error.c_str(),
              c.crashes, sched_.options().max_attempts);
      break;
    case sched::Outcome::kAccepted: {
      report::Fate fate = c.failed_for_good ? report::Fate::kCrashed
                          : ok              ? report::Fate::kWon
                                            : report::Fate::kFailed;
      record(r.job_id, node, r, t, kind, fate);
      last_result_ = t;
      std::vector<SpecialCopy> out;
      for (const auto& copy : c.cancel) {
        if (NodeLink* l = extra_[copy.node].link) l->cancel(r.job_id);
        out.push_back({copy.node, kind_of(it->second.special, copy.node)});
      }
      if (!out.empty()) losers_[r.job_id] = std::move(out);
      if (c.failed_for_good) {
        r.error = "the job crashed its worker " + std::to_string(c.crashes) +
                  " times, on every attempt; it is not run again. Last: " + r.error;
      }
      finish(r.job_id, r.status, std::move(r.value), std::move(r.error), std::move(r.traceback),
             link.name(), wall);
      break;
    }
    case sched::Outcome::kDuplicate:
    case sched::Outcome::kUnknown:
      lost(kind);
      break;
  }
  pump();
}

void JobServer::on_stolen(NodeLink& link, proto::Stolen&& st) {
  for (uint64_t id : st.started) sched_.started(id, link.sched_id);
  for (uint64_t id : st.taken) {
    if (auto a = sched_.stolen(id, link.sched_id)) send(*a, report::Kind::kStolen);
  }
  pump();
}

void JobServer::record(uint64_t job, sched::NodeId node, const proto::ResultMsg& r, double t,
                       report::Kind kind, report::Fate fate) {
  double wall = static_cast<double>(r.wall_us) / 1e6;
  executions_.add(report::Execution{job, node, r.worker, t - wall, t, kind, fate});
}

void JobServer::finish(uint64_t id, proto::JobStatus st, std::string value, std::string error,
                       std::string traceback, const std::string& node, double wall) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  std::shared_ptr<JobState> state = std::move(it->second.state);
  if (journal_ && st == proto::JobStatus::kOk) {
    // Kept on disk before anyone sees it: a driver killed from here on loses nothing.
    Status js = journal_->append(it->second.journal_key, {st, value, error, traceback, node});
    if (js) {
      ++journal_appended_;
    } else {
      PP_WARN("journal %s: %s (the job will run again on resume)", opt_.journal.c_str(),
              js.message().c_str());
    }
  }
  jobs_.erase(it);
  bool notify;
  {
    std::lock_guard lock(sync_->mutex);
    state->done = true;
    state->status = st;
    state->value = std::move(value);
    state->error = std::move(error);
    state->traceback = std::move(traceback);
    state->node = node;
    state->wall_seconds = wall;
    ++finished_count_;
    if (track_finished_) finished_ids_.push_back(id);
    notify = state->waited || (waiting_all_ && finished_count_ == next_id_);
  }
  if (notify) sync_->cv.notify_all();
}

void JobServer::on_down(NodeLink& link, const std::string& reason, bool permanent) {
  NodeEntry* n = entry_of(link);
  // Jobs in flight there go back to the queue and on to other nodes.
  size_t requeued = 0;
  if (link.in_scheduler) {
    std::vector<uint64_t> back = sched_.remove_node(link.sched_id);
    requeued = back.size() - count_drops(back, n ? n->name : link.name(), reason);
    resent_ += requeued;
    link.in_scheduler = false;
    extra_[link.sched_id].link = nullptr;
    // Its cancelled copies will not answer any more.
    for (auto it = losers_.begin(); it != losers_.end();) {
      std::erase_if(it->second, [&](const SpecialCopy& c) { return c.node == link.sched_id; });
      it = it->second.empty() ? losers_.erase(it) : std::next(it);
    }
  }
  {
    std::lock_guard lock(sync_->mutex);
    active_snapshot_.erase(link.name());
  }
  if (n == nullptr) return;
  n->last_error = reason;
  n->refused = permanent;
  n->failures++;
  if (requeued > 0 || n->failures == 1 || permanent) {
    PP_WARN("node %s: %s%s", n->name.c_str(), reason.c_str(),
            requeued ? (" (" + std::to_string(requeued) + " jobs sent elsewhere)").c_str() : "");
  }
  // Keep the link object alive until this callback chain has unwound.
  auto old = std::move(n->link);
  asio::post(io_, [old] {});
  if (n->discovered) {
    // A discovered node comes back by announcing itself again.
    auto it = seen_.find(n->node_id);
    if (it != seen_.end()) it->second.connected = false;
  } else if (!permanent && !n->local) {
    auto delay = std::chrono::milliseconds(std::min(200 << std::min(n->failures, 5), 5000));
    auto t = std::make_shared<asio::steady_timer>(io_, delay);
    std::string name = n->name;
    t->async_wait([this, t, name](const asio::error_code& ec) {
      if (ec) return;
      for (auto& e : nodes_) {
        if (e.name == name && !e.link) connect(e);
      }
    });
  }
  pump();
}

// Jobs requeued because their node went away: each loss counts, and a job lost
// kMaxDrops times fails with the last reason instead of being sent again.
// Returns how many were given up.
size_t JobServer::count_drops(const std::vector<uint64_t>& requeued, const std::string& node,
                              const std::string& reason) {
  size_t given_up = 0;
  for (uint64_t id : requeued) {
    auto it = jobs_.find(id);
    if (it == jobs_.end() || ++it->second.drops < kMaxDrops) continue;
    ++given_up;
    give_up(id, proto::JobStatus::kLost,
            "job " + std::to_string(id) + " was sent " + std::to_string(kMaxDrops) +
                " times and each time its node went away before answering; it is not sent "
                "again (at most " + std::to_string(kMaxDrops) + " such losses). Last: node " +
                node + ": " + reason);
  }
  if (given_up > 0) {
    PP_WARN("%zu jobs given up: each was lost with its node %u times", given_up, kMaxDrops);
  }
  return given_up;
}

// Ends a job the client will not send again, through the normal failure path.
void JobServer::give_up(uint64_t id, proto::JobStatus st, std::string error) {
  for (const sched::Copy& c : sched_.abandon(id)) {
    if (c.node < extra_.size() && extra_[c.node].link != nullptr) extra_[c.node].link->cancel(id);
  }
  finish(id, st, "", std::move(error), "", "", 0);
}

void JobServer::check_starvation() {
  // With no node able to take work, jobs wait for one to appear; after
  // no_node_timeout (or at once when every node refused us) they fail with the reasons.
  bool any_ready = sched_.active_nodes() > 0;
  bool all_refused = !discover_;
  for (const auto& n : nodes_) all_refused = all_refused && n.refused;
  auto now = Clock::now();
  if (any_ready) no_node_since_ = now;
  bool give_up = !any_ready && sched_.queued() > 0 &&
                 (all_refused || (opt_.no_node_timeout.count() > 0 &&
                                  now - no_node_since_ > opt_.no_node_timeout));
  if (give_up) {
    std::string why = "no node could run the job: ";
    if (discover_ && seen_.empty()) why += "none found by discovery; ";
    for (size_t i = 0; i < nodes_.size(); ++i) {
      why += (i ? "; " : "") + nodes_[i].name + ": " +
             (nodes_[i].last_error.empty() ? "not reachable" : nodes_[i].last_error);
    }
    for (uint64_t id : sched_.drain_queue()) finish(id, proto::JobStatus::kLost, "", why, "", "", 0);
  }
  // Time passing can make a running job worth a backup copy.
  if (any_ready && sched_.unfinished() > 0) pump();
  housekeeping_.expires_after(std::chrono::milliseconds(100));
  housekeeping_.async_wait([this](const asio::error_code& ec) {
    if (!ec) check_starvation();
  });
}

void JobServer::shutdown_io() {
  housekeeping_.cancel();
  if (discovery_) discovery_->stop();
  for (auto& n : nodes_) {
    if (n.link) n.link->close("client finished");
  }
  // Unfinished jobs get an outcome so no waiter hangs.
  std::vector<uint64_t> ids;
  for (auto& [id, p] : jobs_) ids.push_back(id);
  for (uint64_t id : ids) finish(id, proto::JobStatus::kLost, "", "the cluster was closed", "", "", 0);
  work_.reset();
  // Let the BYE frames leave, then stop.
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(20));
  t->async_wait([this, t](const asio::error_code&) {
    for (auto& n : nodes_) n.link.reset();
    io_.stop();
  });
}

void JobServer::wait(JobState& job) {
  std::unique_lock lock(sync_->mutex);
  job.waited = true;
  sync_->cv.wait(lock, [&] { return job.done; });
}

void JobServer::wait_all() {
  std::unique_lock lock(sync_->mutex);
  waiting_all_ = true;
  sync_->cv.wait(lock, [&] { return finished_count_ == next_id_; });
  waiting_all_ = false;
}

std::vector<uint64_t> JobServer::take_finished() {
  std::lock_guard lock(sync_->mutex);
  std::vector<uint64_t> out;
  out.swap(finished_ids_);
  return out;
}

void JobServer::track_finished(bool on) {
  std::lock_guard lock(sync_->mutex);
  track_finished_ = on;
}

int JobServer::ncpus() const {
  std::lock_guard lock(sync_->mutex);
  int n = 0;
  for (const auto& [name, w] : active_snapshot_) n += w;
  return n;
}

std::map<std::string, int> JobServer::active_nodes() const {
  std::lock_guard lock(sync_->mutex);
  return active_snapshot_;
}

double JobServer::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - created_).count();
}

}  // namespace pp::client

namespace pp::client {

report::Report JobServer::build_report() const {
  report::Report rep;
  std::map<std::string, uint32_t> row_of;
  std::vector<uint32_t> row_by_node(sched_.node_count());
  for (size_t i = 0; i < sched_.node_count(); ++i) {
    const auto& s = sched_.stats(static_cast<sched::NodeId>(i));
    auto [it, fresh] = row_of.try_emplace(s.name, static_cast<uint32_t>(rep.nodes.size()));
    if (fresh) rep.nodes.emplace_back().name = s.name;
    row_by_node[i] = it->second;
    report::NodeRow& row = rep.nodes[it->second];  // a node that reconnected: one row
    if (i < extra_.size()) {
      row.host = extra_[i].host;
      row.speed_score = extra_[i].speed;
      row.cpu_seconds += extra_[i].cpu_seconds;
    }
    row.workers = std::max(row.workers, s.workers);
    row.connected = row.connected || s.active;
    row.jobs_done += s.jobs_done;
    row.failures += s.failures;
    row.crashes += s.crashes;
    row.job_seconds += s.job_seconds;
    row.busy_seconds += s.busy_seconds;
    row.stolen_from += s.stolen_from;
    row.stolen_to += s.stolen_to;
    row.backups_won += s.backups_won;
    row.backups_lost += s.backups_lost;
    row.requeued += s.requeued;
    rep.batch.jobs += s.jobs_done;
    rep.batch.job_seconds += s.job_seconds;
  }
  rep.executions = executions_.kept();
  double origin = std::max(0.0, first_submit_);
  for (auto& e : rep.executions) {
    e.node = row_by_node.at(e.node);
    e.start = std::max(0.0, e.start - origin);
    e.end = std::max(0.0, e.end - origin);
  }
  rep.executions_dropped = executions_.dropped();
  if (rep.executions_dropped > 0) {
    rep.dropped_from = std::max(0.0, executions_.dropped_from() - origin);
    rep.dropped_to = std::max(0.0, executions_.dropped_to() - origin);
  }
  if (first_submit_ >= 0) {
    double end = sched_.unfinished() > 0 ? now() : last_result_;
    rep.batch.wall_seconds = std::max(0.0, end - first_submit_);
  }
  rep.batch.resent = resent_;
  rep.batch.duplicates = duplicates_;
  return rep;
}

report::Report JobServer::report() const {
  return on_io([this] { return build_report(); });
}

Status JobServer::write_report(const std::string& path) const {
  return report::write_file(report(), path);
}

std::vector<NodeStats> JobServer::stats() const {
  report::Report rep = report();
  std::vector<NodeStats> out;
  for (const auto& r : rep.nodes) {
    NodeStats n;
    n.node = r.name;
    n.host = r.host;
    n.workers = r.workers;
    n.speed_score = r.speed_score;
    n.connected = r.connected;
    n.jobs = r.jobs_done;
    n.job_time = r.job_seconds;
    n.failures = r.failures;
    n.crashes = r.crashes;
    n.cpu_time = r.cpu_seconds;
    n.busy_time = r.busy_seconds;
    n.stolen_from = r.stolen_from;
    n.stolen_to = r.stolen_to;
    n.backups_won = r.backups_won;
    n.backups_lost = r.backups_lost;
    n.requeued = r.requeued;
    out.push_back(std::move(n));
  }
  return out;
}

std::string JobServer::stats_table() const { return report::to_table(report()); }

}  // namespace pp::client
