#include "ppclient/src/dispatcher.hpp"

#include <algorithm>
#include <map>

#include "core/proto/codec.hpp"
#include "core/proto/frame_limit.hpp"
#include "core/util/log.hpp"
#include "ppclient/src/node_link.hpp"

namespace pp::client {
namespace {

using Clock = std::chrono::steady_clock;

// Times a job may be lost with its node (the connection dropped before its RESULT)
// before it is given up: no job bounces between reconnects for ever.
constexpr uint32_t kMaxDrops = 5;

// Jobs of microseconds fill a node's window with up to this much work per worker, so
// that each frame, write and wake-up on the way carries many of them (issue 11).
constexpr double kShortBacklogSeconds = 0.002;

// The outcome of a job that ends without a result of its own.
Outcome failure(proto::JobStatus status, std::string error) {
  Outcome o;
  o.status = status;
  o.error = std::move(error);
  return o;
}

}  // namespace

Dispatcher::Dispatcher(bool adaptive, Deliver deliver, Hungry hungry)
    : deliver_(std::move(deliver)),
      hungry_(std::move(hungry)),
      created_(Clock::now()),
      sched_(sched::SchedulerOptions{.clock = [this] { return now(); },
                                     .short_backlog_seconds = kShortBacklogSeconds,
                                     .adaptive = adaptive}),
      no_node_since_(created_) {}

double Dispatcher::now() const {
  return std::chrono::duration<double>(Clock::now() - created_).count();
}

NodeLink* Dispatcher::link(sched::NodeId node) const {
  return node < members_.size() ? members_[node].link : nullptr;
}

void Dispatcher::take(std::deque<Submission>& batch) {
  if (first_submit_ < 0 && !batch.empty()) first_submit_ = now();
  // Taken off the front as they move into the table, so a batch of a million is never
  // held twice (once in the hand-over, once here).
  std::vector<std::pair<uint64_t, std::string>> settle_now;   // held jobs: go, or fail
  for (; !batch.empty(); batch.pop_front()) {
    Submission& s = batch.front();
    if (s.settled) {
      sched_.skip(s.state->id);
      continue;
    }
    auto [it, fresh] = code_.try_emplace(s.code->hash, s.code);
    if (!fresh) s.code = it->second;
    uint64_t id = s.state->id;
    Job& job = jobs_.emplace(id, Job{std::move(s), 0, false, nullptr});
    SubmitExtras* x = job.sub.extras.get();
    if (x != nullptr && x->worker != 0) ++placed_;
    sched::JobRules rules;
    if (x != nullptr) rules = sched::JobRules{x->node, x->retries};
    if (x == nullptr || (x->inputs.empty() && x->after.empty())) {
      sched_.submit(id, rules);
      // A job making a lost value again names its kept inputs as handles already.
      if (!remaking_.empty() && remaking_.contains(id)) count_kept(id, job.sub.args, *x);
      continue;
    }
    // Dependencies: held until the jobs it needs are done (dispatcher_deps.cpp); one
    // that can go now goes after the batch, whose later jobs may wait for it.
    sched_.hold(id, rules);
    std::string why = hold(id, *x);
    if (!why.empty() || !deps_.waiting(id)) settle_now.emplace_back(id, std::move(why));
  }
  for (auto& [id, why] : settle_now) {
    if (why.empty()) {
      start_held(id);
    } else {
      end_held(id, failure(proto::JobStatus::kDependency, std::move(why)));
    }
  }
  pump();
}

void Dispatcher::pump() {
  for (const auto& a : sched_.assign()) {
    send(a, a.backup ? report::Kind::kBackup : report::Kind::kNormal);
  }
  // With nothing queued here, idle workers take not-started jobs back from busy nodes.
  std::map<sched::NodeId, std::vector<uint64_t>> asks;
  for (const auto& st : sched_.plan_steals()) asks[st.from].push_back(st.job);
  for (auto& [from, ids] : asks) {
    NodeLink* l = link(from);
    if (l != nullptr && l->can_steal()) {
      l->steal(ids);
    } else {
      for (uint64_t id : ids) sched_.started(id, from);  // it cannot give jobs back
    }
  }
  mark_sent();
  if (hungry_ && sched_.queued_for_any() == 0) hungry_();
}

// The jobs sent since the last call are running (a job's state is shared with user
// threads: one lock for all of them).
void Dispatcher::mark_sent() {
  if (sent_.empty()) return;
  {
    std::lock_guard lock(sent_.front().first->sync->mutex);
    for (auto& [state, counts] : sent_) {
      if (state->done) continue;
      state->phase = JobPhase::kRunning;
      if (counts && state->attempts < UINT16_MAX) ++state->attempts;
    }
  }
  sent_.clear();
}

void Dispatcher::send(const sched::Assignment& a, report::Kind kind) {
  Job& job = *jobs_.find(a.job);   // an assignment names an unfinished job
  NodeLink* l = link(a.node);
  if (l == nullptr) {  // not reachable: the scheduler removes it before any new send
    sched_.give_back(a.job, a.node);
    return;
  }
  // Sent, a frame over the node's limit would end the session: the job fails instead.
  const std::string whose = l->name() == "local" ? "the local node's"
                                                 : "node " + l->name() + "'s";
  const JobCode& code = *job.sub.code;
  std::string why = proto::job_too_large(a.job, code.blob.size(), job.args().size(),
                                         l->node_max_frame(), whose, " (ppserver --max-frame)");
  if (!why.empty()) {
    sched_.give_back(a.job, a.node);  // never sent; a backup's original goes on
    if (!a.backup) give_up(a.job, proto::JobStatus::kRejected, std::move(why));
    return;
  }
  const SubmitExtras* x = job.sub.extras.get();
  const uint32_t worker = x != nullptr ? x->worker : 0;
  if (worker != 0 && !l->can_place()) {
    sched_.give_back(a.job, a.node);
    give_up(a.job, proto::JobStatus::kRejected,
            (l->name() == "local" ? std::string("the local node") : "node " + l->name()) +
                " cannot run a job on a chosen worker (its ppserver lacks the placement "
                "capability: an older version); upgrade it");
    return;
  }
  if (x != nullptr && !x->data.empty()) {
    why = send_data(*l, *x, a.job, whose);
    if (!why.empty()) {
      sched_.give_back(a.job, a.node);
      if (!a.backup) give_up(a.job, proto::JobStatus::kRejected, std::move(why));
      return;
    }
  }
  bool parked = false;   // waits for a kept input to reach this driver (on_kept)
  if (x != nullptr && !x->kept.empty() && !ready_kept(a, *l, *x, parked)) return;
  if (kind != report::Kind::kNormal) special_[a.job].push_back({a.node, kind});
  // A stolen copy moves a run not started; a backup is a second copy of one.
  sent_.emplace_back(job.sub.state, kind == report::Kind::kNormal);
  if (parked) {
    sched_.started(a.job, a.node);   // not on the node yet: nothing there to steal
    return;
  }
  // Checked here: a batch without a dashboard reads no clock for it on every send.
  if (running_.enabled()) running_.sent(a.node, a.job, kind, now());
  submit_to(job, a.job, *l);
}

// Writes CODE (once) and SUBMIT of `job` to `l`.
void Dispatcher::submit_to(Job& job, uint64_t id, NodeLink& l) {
  const JobCode& code = *job.sub.code;
  const SubmitExtras* x = job.sub.extras.get();
  const uint32_t worker = x != nullptr ? x->worker : 0;
  const bool keep = l.can_keep() && wants_keep(id, job);
  job.keep_sent = job.keep_sent || keep;
  if (!job.wire_args && job.sub.args.size() >= proto::kMinSplice) {
    job.wire_args = std::make_shared<std::string>(std::move(job.sub.args));
  }
  l.submit(id, code.hash, std::shared_ptr<const std::string>(job.sub.code, &code.blob),
           job.args(), job.sub.timeout_ms, job.wire_args, worker, keep);
}

sched::NodeId Dispatcher::add_node(NodeLink& l) {
  const auto& h = l.node_hello();
  sched::NodeId id = sched_.add_node({l.name(), static_cast<int>(h.workers), h.speed});
  if (members_.size() <= id) members_.resize(id + 1);
  members_[id] = Member{&l, l.name(), h.host, h.speed > 0 ? h.speed : 1.0, 0};
  running_.add_node(id, h.workers);
  if (l.paused()) sched_.pause(id);   // it holds nothing yet: nothing to take back
  // Windows cover a round trip; twice the handshake's, for the work at both ends.
  double rtt = std::min(0.5, 2 * l.handshake_seconds());
  if (rtt > sched_.options().round_trip_seconds) sched_.set_round_trip(rtt);
  return id;
}

std::string Dispatcher::send_data(NodeLink& l, const SubmitExtras& x, uint64_t job,
                                  const std::string& whose) {
  for (const auto& d : x.data) {
    if (d->size() + proto::kDataEnvelope > l.node_max_frame()) {
      return "job " + std::to_string(job) + " names a scattered value of " +
             std::to_string(d->size()) + " bytes, more than " + whose + " frame limit of " +
             std::to_string(l.node_max_frame()) + " bytes (ppserver --max-frame)";
    }
    l.send_data(d->hash, d->bytes);
  }
  return {};
}

size_t Dispatcher::remove_node(sched::NodeId node, const std::string& reason) {
  if (NodeLink* l = link(node)) {
    members_[node].bytes_sent += l->bytes_sent();
    members_[node].bytes_received += l->bytes_received();
  }
  std::vector<uint64_t> back = sched_.remove_node(node);
  running_.node_gone(node);
  members_[node].link = nullptr;
  if (placed_ > 0) fail_placed(members_[node], reason);
  if (!kept_.empty()) kept_lost(node);
  // Jobs failed here (placed on the node, or waiting for a value it kept) go back to no one.
  std::erase_if(back, [this](uint64_t id) { return jobs_.find(id) == nullptr; });
  size_t requeued = back.size() - count_drops(back, members_[node].name, reason);
  resent_ += requeued;
  // Its cancelled copies will not answer any more.
  for (auto it = losers_.begin(); it != losers_.end();) {
    std::erase_if(it->second, [&](const SpecialCopy& c) { return c.node == node; });
    it = it->second.empty() ? losers_.erase(it) : std::next(it);
  }
  return requeued;
}

namespace {

template <typename Copies>
report::Kind kind_of(const Copies& copies, sched::NodeId on) {
  for (const auto& c : copies)
    if (c.node == on) return c.kind;
  return report::Kind::kNormal;
}

}  // namespace

report::Kind Dispatcher::special_kind(uint64_t job, sched::NodeId on) const {
  auto it = special_.find(job);
  return it == special_.end() ? report::Kind::kNormal : kind_of(it->second, on);
}

void Dispatcher::on_result(sched::NodeId node, proto::ResultMsg&& r) {
  const double t = now();
  members_[node].cpu_seconds += static_cast<double>(r.cpu_us) / 1e6;
  running_.ended(node, r.job_id, r.worker, t);
  if (jobs_.find(r.job_id) == nullptr) {
    // A copy of a job already finished: cancelled, or second to arrive.
    report::Kind kind = report::Kind::kNormal;
    if (auto l = losers_.find(r.job_id); l != losers_.end()) {
      kind = kind_of(l->second, node);
      std::erase_if(l->second, [node](const SpecialCopy& c) { return c.node == node; });
      if (l->second.empty()) losers_.erase(l);
    }
    lost(node, r, kind, t);
    return;
  }
  const report::Kind kind = special_kind(r.job_id, node);
  const bool ok = r.status == proto::JobStatus::kOk;
  // A job placed on one worker that crashed it is that worker's error: it would only
  // crash the same worker again, so the scheduler does not count it as a crash to retry.
  const SubmitExtras* x = jobs_.find(r.job_id)->sub.extras.get();
  const bool placed = x != nullptr && x->worker != 0;
  const bool crashed = r.status == proto::JobStatus::kCrashed && !placed;
  // What SubmitExtras::retries covers: the job's own failures, not its cancellation or
  // a refusal.
  const bool retryable = crashed || r.status == proto::JobStatus::kLuaError ||
                         r.status == proto::JobStatus::kTimeout ||
                         r.status == proto::JobStatus::kMemory;
  const double wall = static_cast<double>(r.wall_us) / 1e6;
  sched::Completion c = sched_.complete(r.job_id, node, wall, ok, crashed, retryable && !placed);
  if (placed && r.status == proto::JobStatus::kCrashed) sched_.count_crash(node);
  if (placed && r.status == proto::JobStatus::kCrashed && c.outcome == sched::Outcome::kAccepted) {
    r.error = "worker " + worker_name(members_[node], x->worker) + " crashed running it (" +
              r.error + "); a job placed on one worker is not run again";
  }
  switch (c.outcome) {
    case sched::Outcome::kRetry:
      retried(node, r, c, kind, t);
      break;
    case sched::Outcome::kAccepted:
      accept(node, std::move(r), c, kind, t);
      break;
    case sched::Outcome::kDuplicate:
    case sched::Outcome::kUnknown:
      lost(node, r, kind, t);
      break;
  }
  pump();
}

// A failed run that runs again: a crash (up to max_attempts), or a failure its
// retries cover.
void Dispatcher::retried(sched::NodeId node, const proto::ResultMsg& r, const sched::Completion& c,
                         report::Kind kind, double t) {
  ++resent_;
  count_resent(r.job_id);
  const bool crashed = r.status == proto::JobStatus::kCrashed;
  record(r.job_id, node, r, t, kind, crashed ? report::Fate::kCrashed : report::Fate::kFailed);
  const Job* job = jobs_.find(r.job_id);
  if (job != nullptr && job->sub.extras && job->sub.extras->retries > 0) {
    PP_INFO("job %llu failed on %s (%s: %s); running it again (%u of %u retries left)",
            static_cast<unsigned long long>(r.job_id), members_[node].name.c_str(),
            proto::job_status_name(r.status), r.error.c_str(), c.retries_left,
            job->sub.extras->retries);
    return;
  }
  PP_WARN("job %llu crashed a worker on %s (%s); running it again (%u of %u attempts)",
          static_cast<unsigned long long>(r.job_id), members_[node].name.c_str(),
          r.error.c_str(), c.crashes, sched_.options().max_attempts);
}

// The result the job keeps: its other copies are cancelled, the user gets it.
void Dispatcher::accept(sched::NodeId node, proto::ResultMsg&& r, const sched::Completion& c,
                        report::Kind kind, double t) {
  const bool ok = r.status == proto::JobStatus::kOk;
  const bool crashed = c.failed_for_good || r.status == proto::JobStatus::kCrashed;
  report::Fate fate = crashed ? report::Fate::kCrashed
                      : ok              ? report::Fate::kWon
                                        : report::Fate::kFailed;
  record(r.job_id, node, r, t, kind, fate);
  last_result_ = t;
  std::vector<SpecialCopy> out;
  for (const auto& copy : c.cancel) {
    if (NodeLink* l = link(copy.node)) l->cancel(r.job_id);
    running_.ended(copy.node, r.job_id, -1, t);
    out.push_back({copy.node, special_kind(r.job_id, copy.node)});
  }
  if (!out.empty()) losers_[r.job_id] = std::move(out);
  if (c.failed_for_good) {
    r.error = "the job crashed its worker " + std::to_string(c.crashes) +
              " times, on every attempt; it is not run again. Last: " + r.error;
  }
  const std::string kept = ok ? keep_result(r.job_id, node, r.value) : std::string();
  Outcome o{r.status, std::move(r.value), std::move(r.error), std::move(r.traceback),
            members_[node].name, static_cast<double>(r.wall_us) / 1e6, std::move(r.output)};
  o.kept = !kept.empty();
  finish(r.job_id, std::move(o));
  if (!kept.empty()) drop_unused(kept);
}

// A copy whose result is not used; it counts as a duplicate if it ran at all.
void Dispatcher::lost(sched::NodeId node, const proto::ResultMsg& r, report::Kind kind,
                      double t) {
  if (r.wall_us == 0) return;
  ++duplicates_;
  record(r.job_id, node, r, t, kind, report::Fate::kLost);
}

void Dispatcher::on_pause(sched::NodeId node) {
  NodeLink* l = link(node);
  if (l == nullptr) return;
  const proto::Pause& p = l->pause_state();
  if (!p.paused) {
    if (sched_.paused(node)) PP_INFO("node %s resumed: jobs go to it again", l->name().c_str());
    sched_.resume(node);
    pump();
    return;
  }
  if (sched_.paused(node)) return;   // only its reason changed
  std::vector<uint64_t> ids;
  for (const sched::Steal& st : sched_.pause(node)) ids.push_back(st.job);
  PP_INFO("node %s paused (%s): %zu of its jobs to take back, the ones running there "
          "to copy elsewhere",
          l->name().c_str(), p.reason.c_str(), ids.size());
  if (l->can_steal()) {
    l->steal(ids);
  } else {
    for (uint64_t id : ids) sched_.started(id, node);   // it cannot give jobs back
  }
  pump();
}

void Dispatcher::on_stolen(sched::NodeId node, proto::Stolen&& st) {
  for (uint64_t id : st.started) sched_.started(id, node);
  for (uint64_t id : st.taken) {
    running_.ended(node, id, -1, now());   // it had not started there
    if (auto a = sched_.stolen(id, node)) send(*a, report::Kind::kStolen);
  }
  pump();
}

void Dispatcher::record(uint64_t job, sched::NodeId node, const proto::ResultMsg& r, double t,
                        report::Kind kind, report::Fate fate) {
  double wall = static_cast<double>(r.wall_us) / 1e6;
  executions_.add(report::Execution{job, node, r.worker, t - wall, t, kind, fate});
}

void Dispatcher::finish(uint64_t id, Outcome&& outcome) {
  Job* job = jobs_.find(id);
  if (job == nullptr) return;
  Submission sub = std::move(job->sub);
  if (sub.extras && sub.extras->worker != 0) --placed_;
  if (job->wire_args) {
    // Its arguments back where the user side looks for them (the journal's key); a
    // SUBMIT still being written keeps its own reference.
    sub.args = job->wire_args.use_count() == 1 ? std::move(*job->wire_args) : *job->wire_args;
  }
  jobs_.erase(id);
  special_.erase(id);
  if (sub.extras && !sub.extras->kept.empty()) unref_kept(sub.extras->kept);
  if (deps_.held() > 0) deps_.drop(id);            // a held job ended otherwise
  if (!remaking_.empty()) remade(id, outcome);     // it made a lost value again
  settle_dependents(id, outcome);                  // the jobs waiting for it
  deliver_(sub, std::move(outcome));
}

// Jobs requeued because their node went away: each loss counts, and a job lost
// kMaxDrops times fails with the last reason instead of being sent again.
// Returns how many were given up.
size_t Dispatcher::count_drops(const std::vector<uint64_t>& requeued, const std::string& node,
                               const std::string& reason) {
  size_t given_up = 0;
  for (uint64_t id : requeued) {
    Job* job = jobs_.find(id);
    if (job != nullptr && ++job->drops < kMaxDrops) count_resent(id);   // sent again
    if (job == nullptr || job->drops < kMaxDrops) continue;
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
void Dispatcher::give_up(uint64_t id, proto::JobStatus st, std::string error) {
  for (const sched::Copy& c : sched_.abandon(id)) {
    if (NodeLink* l = link(c.node)) l->cancel(id);
    running_.ended(c.node, id, -1, now());
  }
  finish(id, failure(st, std::move(error)));
}

void Dispatcher::check_starvation(bool all_refused, std::chrono::milliseconds no_node_timeout,
                                  const std::function<std::string()>& why_none) {
  // With no node able to take work, jobs wait for one to appear; after
  // no_node_timeout (or at once when every node refused us) they fail with the reasons.
  bool any_ready = sched_.active_nodes() > 0;
  auto t = Clock::now();
  if (any_ready) no_node_since_ = t;
  bool starved = !any_ready && sched_.queued() > 0 &&
                 (all_refused ||
                  (no_node_timeout.count() > 0 && t - no_node_since_ > no_node_timeout));
  if (starved) {
    std::string why = "no node could run the job: " + why_none();
    for (uint64_t id : sched_.drain_queue()) finish(id, failure(proto::JobStatus::kLost, why));
  }
  // A job pinned to a node waits for that node as long as any job waits for some node.
  if (no_node_timeout.count() > 0) {
    const double limit = std::chrono::duration<double>(no_node_timeout).count();
    auto orphans = sched_.jobs_without_node(limit);
    for (auto& [id, name] : orphans) {
      finish(id, failure(proto::JobStatus::kLost,
                         "job " + std::to_string(id) + " may run only on node " + name +
                             ", which was not connected for " +
                             std::to_string(no_node_timeout.count() / 1000) +
                             " s (no_node_timeout). Nodes: " + why_none()));
    }
  }
  if (!kept_.empty()) sweep_kept();
  // Time passing can make a running job worth a backup copy.
  if (any_ready && sched_.unfinished() > 0) pump();
}

void Dispatcher::cancel(uint64_t id) {
  Job* job = jobs_.find(id);
  if (job == nullptr) return;   // it finished meanwhile (its outcome was not used)
  std::vector<SpecialCopy> out;
  for (const sched::Copy& c : sched_.abandon(id)) {
    if (NodeLink* l = link(c.node)) l->cancel(id);
    running_.ended(c.node, id, -1, now());
    out.push_back({c.node, special_kind(id, c.node)});
  }
  if (!out.empty()) losers_[id] = std::move(out);   // their answers are not counted twice
  // Through finish(), so the jobs that depend on it fail ("dependency") and a held job
  // leaves the dependency table; its own outcome was given by the canceller (this one
  // is not used again).
  finish(id, failure(proto::JobStatus::kCancelled, cancelled_error(id)));
  pump();   // the slots it held are free
}

void Dispatcher::fail_all(const std::string& why) {
  std::vector<uint64_t> ids;
  ids.reserve(jobs_.size());
  jobs_.for_each([&](uint64_t id, const Job&) { ids.push_back(id); });
  for (uint64_t id : ids) finish(id, failure(proto::JobStatus::kLost, why));
  for (auto& [hash, v] : kept_) answer_readers(v.readers, hash);   // no waiter hangs
}

}  // namespace pp::client
