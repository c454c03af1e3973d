#include "ppclient/src/job_server.hpp"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "core/discovery/discovery.hpp"
#include "core/proto/auth.hpp"
#include "core/proto/frame_limit.hpp"
#include "core/util/log.hpp"
#include "core/util/secret.hpp"
#include "ppclient/journal/journal.hpp"
#include "ppclient/src/dashboard.hpp"
#include "ppclient/src/dispatcher.hpp"
#include "ppclient/src/local_node.hpp"
#include "ppclient/src/node_table.hpp"
#include "ppclient/src/output_echo.hpp"
#include "ppclient/src/progress_bar.hpp"

namespace pp::client {

struct JobServer::Delivered {
  std::shared_ptr<JobState> state;
  Outcome outcome;
  bool appended = false;   // kept in the journal
  std::unique_ptr<SubmitExtras> extras;   // its group, for the live figures
};

namespace {

std::string_view group_of(const std::unique_ptr<SubmitExtras>& extras) {
  return extras ? std::string_view(extras->group) : std::string_view();
}

}  // namespace

JobServer::JobServer(ClusterOptions options, bool lua_bytecode)
    : opt_(std::move(options)),
      lua_bytecode_(lua_bytecode),
      work_(io_.get_executor()),
      dispatcher_(std::make_unique<Dispatcher>(
          opt_.scheduling == ClusterOptions::Scheduling::kAdaptive,
          [this](Submission& job, Outcome&& outcome) { deliver(job, std::move(outcome)); },
          [this] { on_hungry(); })),
      housekeeping_(io_) {
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
  check_dashboard();   // a value it cannot read is refused before anything starts
  if (!opt_.dashboard.empty()) dispatcher_->track_running();   // its task stream's reader
  open_journal();
  if (journal_) dispatcher_->set_recall([this](const Submission& s) { return recall(s); });
  // A kept value lost with its node is made again by a job of its own (dispatcher_lineage.cpp).
  dispatcher_->set_remake([this](const CodeRef& code, std::string args, uint32_t timeout_ms,
                                 std::unique_ptr<SubmitExtras> extras) -> uint64_t {
    try {
      return submit(code, std::move(args), timeout_ms, std::move(extras))->id;
    } catch (const std::exception&) {
      return 0;   // closed: what waits for the value fails
    }
  });
  add_nodes();
  // The last holder of a value may let go on any thread: the nodes hear it on the io one.
  data_ = std::make_shared<DataRegistry>([this](const std::string& hash) {
    asio::post(io_, [this, hash] { release_data(hash); });
  });
  // A user thread asking for a kept result's value (resolve_kept): the io thread fetches
  // it. No job exists yet: no lock needed.
  sync_->fetch_kept = [this](std::shared_ptr<JobState> job) {
    asio::post(io_, [this, job = std::move(job)]() mutable {
      dispatcher_->fetch_for_user(std::move(job));
    });
  };
  if (opt_.progress.value_or(::isatty(STDERR_FILENO) == 1)) {
    progress_ = std::make_unique<ProgressBar>([this] { return live_snapshot(); },
                                              [this] { return live_.jobs().finished(); });
    sync_->observer = progress_.get();   // no job yet: no lock needed
  }
  bind_dashboard();   // last: nothing after it may throw and leave its socket bound
  thread_ = std::thread([this] { io_main(); });
  enlist(this);
  serve_dashboard();
}

void JobServer::open_journal() {
  if (opt_.journal.empty()) {
    if (const char* j = std::getenv("PP_JOURNAL"); j != nullptr) opt_.journal = j;
  }
  if (opt_.journal.empty()) return;
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

// The node table: given nodes, then the embedded local node when there is one.
void JobServer::add_nodes() {
  int local = opt_.local_workers;
  // "*" counts as a server: with discovery, local workers only when asked for.
  if (local < 0) local = opt_.servers.empty() ? static_cast<int>(std::thread::hardware_concurrency()) : 0;
  if (local > 0) local_secret_ = proto::random_hex(32);
  nodes_ = std::make_unique<NodeTable>(
      io_, NodeTableOptions{secret_, local_secret_, opt_.heartbeat, lua_bytecode_, opt_.encrypt},
      *dispatcher_, active_);
  for (const auto& s : opt_.servers) {
    if (s == "*") {
      discover_ = true;
    } else {
      nodes_->add_given(s);
    }
  }
  if (local > 0) {
    local_ = std::make_unique<LocalNode>(local, local_secret_);
    nodes_->add_local(local_->port());
  }
  if (nodes_->empty() && !discover_) {
    throw std::invalid_argument("no nodes: give servers, \"*\" or local_workers > 0");
  }
}

JobServer::~JobServer() { close(); }

void JobServer::close() {
  if (!thread_.joinable()) return;
  unlist(this);
  if (progress_) {
    {
      std::lock_guard lock(sync_->mutex);
      sync_->observer = nullptr;
    }
    progress_->stop();
  }
  data_->close();   // the links go with the loop: nothing more to release
  if (!opt_.report.empty()) {
    Status st = write_report(opt_.report);
    if (!st) PP_ERROR("report: %s", st.message().c_str());
  }
  finish_dashboard();
  asio::post(io_, [this] { shutdown_io(); });
  thread_.join();
  hand_over();   // what the loop's last turn left (the io thread is gone)
  linger_dashboard();
  // Only now: handlers of theirs that were cancelled by stop() may have been queued
  // until the loop ended; with the loop stopped none of them can run any more.
  discovery_.reset();
  std::lock_guard lock(sync_->mutex);
  closed_ = true;
  if (journal_) {
    PP_INFO("journal %s: %llu results taken from it, %llu added", opt_.journal.c_str(),
            static_cast<unsigned long long>(journal_hits_),
            static_cast<unsigned long long>(journal_appended_));
  }
}

void JobServer::io_main() {
  nodes_->connect_all();
  if (discover_) start_discovery();
  housekeeping();
  io_.run();
  // shutdown_io() stopped the loop: the BYE frames leave now. This ends as soon as
  // nothing is pending, at the latest after 20 ms.
  io_.restart();
  io_.run_for(std::chrono::milliseconds(20));
  nodes_->drop_links();
}

CodeRef JobServer::code_ref(std::string blob) {
  std::string hash = proto::code_hash(blob);
  return std::make_shared<const JobCode>(JobCode{std::move(hash), std::move(blob)});
}

std::shared_ptr<JobState> JobServer::submit(const std::string& blob, std::string args,
                                            uint32_t timeout_ms,
                                            std::unique_ptr<SubmitExtras> extras) {
  // Jobs of one code come in a row: they share its record, hashed once.
  CodeRef code;
  {
    std::lock_guard lock(sync_->mutex);
    if (last_code_ && last_code_->blob == blob) code = last_code_;
  }
  if (!code) {
    code = code_ref(blob);
    std::lock_guard lock(sync_->mutex);
    last_code_ = code;
  }
  return submit(code, std::move(args), timeout_ms, std::move(extras));
}

std::shared_ptr<JobState> JobServer::submit(const CodeRef& code, std::string args,
                                            uint32_t timeout_ms,
                                            std::unique_ptr<SubmitExtras> extras) {
  auto state = std::make_shared<JobState>();
  state->sync = sync_;
  Submission p;
  p.state = state;
  p.args = std::move(args);
  p.timeout_ms = timeout_ms != 0 ? timeout_ms : static_cast<uint32_t>(opt_.job_timeout.count());
  p.code = code;
  p.extras = std::move(extras);
  // Dependencies name jobs of this cluster only (their ids are its own).
  const bool refers = p.extras && !p.extras->inputs.empty();
  if (p.extras) check_dependencies(*p.extras);
  std::unique_lock lock(sync_->mutex);
  if (closed_) throw std::runtime_error("the cluster is closed");
  state->id = ++next_id_;
  if (p.extras && !p.extras->group.empty()) add_to_group(p.extras->group, state);
  live_.submitted(group_of(p.extras));
  count_stage_submitted(p.extras.get());
  // A job whose arguments refer to other jobs is looked up once they are replaced by
  // those jobs' values (recall), so its key follows the values, not the job ids.
  if (journal_ && !refers) {
    if (auto rec = journal_->lookup(Journal::job_key(p.code->hash, p.args, state->id))) {
      // Finished in an earlier run of this batch: its result, without running it.
      state->done = true;
      state->phase = JobPhase::kDone;
      state->status = rec->status;
      state->value = std::move(rec->value);
      state->set_failure(std::move(rec->error), std::move(rec->traceback));
      state->node = rec->node;
      ++finished_count_;
      ++journal_hits_;
      p.settled = true;
    }
  }
  // No node can take a frame a 4-byte length cannot announce: such a job fails here.
  if (std::string why = proto::job_too_large(state->id, code->blob.size(), p.args.size(),
                                             proto::kMaxWireFrame, "the protocol's", "");
      !why.empty() && !p.settled) {
    state->done = true;
    state->phase = JobPhase::kDone;
    state->status = proto::JobStatus::kRejected;
    state->set_failure(std::move(why), "");
    ++finished_count_;
    p.settled = true;
    p.args.clear();
  }
  if (p.settled) {
    live_.finished(state->status, group_of(p.extras));
    count_stage_finished(p.extras.get(), state->status, nullptr);
  }
  incoming_.push_back(std::move(p));
  // One wake-up of the io thread per burst, and only when it could send the job now
  // (a settled job has nothing to send: it goes along with the next ones).
  if (!wake_posted_ && hungry_) {
    wake_posted_ = true;
    hungry_ = false;
    // Posted once the lock is let go: the io thread it wakes takes that lock first thing,
    // and would otherwise sleep on it again at once.
    lock.unlock();
    asio::post(io_, [this] { drain_incoming(); });
  }
  return state;
}

void JobServer::drain_incoming() {
  hand_over();   // an input finished before its dependent comes has its state filled
  std::deque<Submission> batch;
  {
    std::lock_guard lock(sync_->mutex);
    batch.swap(incoming_);
    wake_posted_ = false;
    hungry_ = false;
  }
  dispatcher_->take(batch);   // pump() says when the queue is dry again (on_hungry)
}

// io thread: the scheduler's queue is empty. What waits in incoming_ comes now;
// otherwise the next submission wakes the io thread.
void JobServer::on_hungry() {
  std::lock_guard lock(sync_->mutex);
  if (incoming_.empty()) {
    hungry_ = true;
  } else if (!wake_posted_) {
    wake_posted_ = true;
    asio::post(io_, [this] { drain_incoming(); });
  }
}

// The one place a job's outcome crosses to the user: kept in the journal first (when
// there is one), then, with the others of this turn, its JobState filled and its
// waiters woken (hand_over).
void JobServer::deliver(Submission& job, Outcome&& o) {
  bool appended = false;
  if (journal_ && o.status == proto::JobStatus::kOk && !job.settled) {
    // Kept on disk before anyone sees it: a driver killed from here on loses nothing.
    Status js = journal_->append(Journal::job_key(job.code->hash, job.args, job.state->id),
                                 {o.status, o.value, o.error, o.traceback, o.node});
    appended = js.is_ok();
    if (!js) {
      PP_WARN("journal %s: %s (the job will run again on resume)", opt_.journal.c_str(),
              js.message().c_str());
    }
  }
  // What the job printed, echoed as its result arrives (failed jobs' too).
  if (opt_.echo_output && !o.output.empty()) {
    echo_output(job.state->id, o.node, o.output, progress_.get());
  }
  outbox_.push_back(Delivered{std::move(job.state), std::move(o), appended, std::move(job.extras)});
  if (!hand_over_posted_) {
    // After this handler and the others ready now: a burst of results crosses at once.
    hand_over_posted_ = true;
    asio::post(io_, [this] { hand_over(); });
  }
}

void JobServer::check_dependencies(const SubmitExtras& x) const {
  for (const auto* list : {&x.inputs, &x.after}) {
    for (const auto& in : *list) {
      if (!in || in->sync != sync_) {
        throw std::invalid_argument(
            "job " + std::to_string(in ? in->id : 0) + " belongs to another cluster: a job can "
            "only be an input of (or run after) jobs of its own cluster");
      }
    }
  }
}

// io thread: a held job's final arguments are known; its result from an earlier run.
std::optional<Outcome> JobServer::recall(const Submission& s) {
  auto rec = journal_->lookup(Journal::job_key(s.code->hash, s.args, s.state->id));
  if (!rec) return std::nullopt;
  {
    std::lock_guard lock(sync_->mutex);
    ++journal_hits_;
  }
  return Outcome{rec->status, std::move(rec->value), std::move(rec->error),
                 std::move(rec->traceback), rec->node, 0, {}};
}

void JobServer::hand_over() {
  hand_over_posted_ = false;
  if (outbox_.empty()) return;
  bool notify = false;
  {
    std::lock_guard lock(sync_->mutex);
    for (Delivered& d : outbox_) {
      JobState& state = *d.state;
      if (d.appended) ++journal_appended_;
      if (state.done) {   // cancelled by the user meanwhile: that is its outcome
        live_.finished(proto::JobStatus::kCancelled, group_of(d.extras));
        count_stage_finished(d.extras.get(), proto::JobStatus::kCancelled, nullptr);
        continue;
      }
      Outcome& o = d.outcome;
      count_live(d);
      state.done = true;
      state.status = o.status;
      state.value = std::move(o.value);
      state.set_failure(std::move(o.error), std::move(o.traceback));
      state.node = std::move(o.node);
      if (!o.output.empty()) state.output = std::make_unique<std::string>(std::move(o.output));
      state.elapsed = o.wall_seconds;
      state.kept = o.kept;
      finished_locked(d.state);
      notify = notify || state.waited;
    }
    notify = notify || (waiting_all_ && finished_count_ == next_id_);
  }
  outbox_.clear();
  if (notify) sync_->cv.notify_all();
}

// Under sync_->mutex: a job's final outcome in the live figures (its failure and what it
// printed among the last ones kept).
void JobServer::count_live(const Delivered& d) {
  const Outcome& o = d.outcome;
  live_.finished(o.status, group_of(d.extras));
  count_stage_finished(d.extras.get(), o.status, &o);
  if (!o.output.empty()) live_.output(d.state->id, o.node, o.output);
  if (o.status != proto::JobStatus::kOk) {
    live_.failure(d.state->id, o.node, o.status, o.error, o.traceback,
                  dispatcher_->batch_seconds());
  }
}

void JobServer::housekeeping() {
  drain_incoming();   // jobs that came while no node could take any
  dispatcher_->check_starvation(!discover_ && nodes_->all_refused(), opt_.no_node_timeout,
                                [this] { return why_no_node(); });
  housekeeping_.expires_after(std::chrono::milliseconds(100));
  housekeeping_.async_wait([this](const asio::error_code& ec) {
    if (!ec) housekeeping();
  });
}

std::string JobServer::why_no_node() const {
  std::string why;
  if (discover_ && seen_.empty()) why += "none found by discovery; ";
  return why + nodes_->reasons();
}

void JobServer::shutdown_io() {
  {
    std::lock_guard lock(sync_->mutex);
    sync_->fetch_kept = nullptr;   // a kept value asked for from now on is told so
  }
  drain_incoming();   // every job gets its outcome, those not yet taken too
  housekeeping_.cancel();
  if (discovery_) discovery_->stop();
  nodes_->close_all("client finished", true);
  // Unfinished jobs get an outcome so no waiter hangs.
  dispatcher_->fail_all("the cluster was closed");
  work_.reset();
  io_.stop();  // io_main() lets the BYE frames leave
}

void JobServer::wait(JobState& job) {
  std::unique_lock lock(sync_->mutex);
  job.waited = true;
  if (job.done) return;
  BlockedWait blocked(*sync_);
  sync_->cv.wait(lock, [&] { return job.done; });
}

void JobServer::wait_all() {
  std::unique_lock lock(sync_->mutex);
  waiting_all_ = true;
  if (finished_count_ != next_id_) {
    BlockedWait blocked(*sync_);
    sync_->cv.wait(lock, [&] { return finished_count_ == next_id_; });
  }
  waiting_all_ = false;
}

int JobServer::ncpus() const { return active_.workers(); }

std::map<std::string, int> JobServer::active_nodes() const { return active_.copy(); }

report::Report JobServer::report() const {
  report::Report rep = on_io([this] { return dispatcher_->report(true); });
  std::lock_guard lock(sync_->mutex);
  rep.pipelines = live_.pipelines();
  return rep;
}

Status JobServer::write_report(const std::string& path) const {
  return report::write_file(report(), path);
}

std::vector<NodeStats> JobServer::stats() const {
  return on_io([this] { return dispatcher_->node_stats(); });
}

std::string JobServer::stats_table() const {
  return report::to_table(on_io([this] { return dispatcher_->report(false); }));
}

}  // namespace pp::client
