// The Dispatcher's kept results (SubmitExtras::keep; docs/protocol.md, "Kept results"): a
// job asked to keep its result leaves its first value on the node that made it, in that
// node's store, and its RESULT carries the value's handle (core/proto/data_ref.hpp). A
// dependent job's arguments then name the handle (start_held substitutes it as any
// value); the Scheduler prefers the holder for it. Sent there, the node resolves the
// handle itself; sent elsewhere (the holder was full, the job was stolen or backed up),
// the value is fetched from the holder once (KEEP_FETCH / KEPT), kept here while a job
// names it, and sent as DATA to each other node once. The last job naming a value
// releases it on every node (DATA_RELEASE). A holder that leaves before the value was
// fetched takes it along: what still needs it has it made again (dispatcher_lineage.cpp),
// or fails ("lost"), never waits for ever.
#include "core/proto/data_ref.hpp"
#include "core/proto/job_ref.hpp"
#include "core/util/log.hpp"
#include "ppclient/src/dispatcher.hpp"
#include "ppclient/src/node_link.hpp"

namespace pp::client {
namespace {

// What moving a value costs the Scheduler weighs a backup copy against: to this driver
// and on, at a gigabit LAN's ~100 MB/s.
constexpr double kMoveBytesPerSecond = 100e6;

// The handle a node puts in a kept result's place: exactly one ext 2 of 24 bytes.
bool is_handle(const std::string& first, proto::DataRef& ref) {
  if (first.size() != 3 + proto::kDataRefBodySize ||
      static_cast<unsigned char>(first[0]) != 0xc7 ||
      static_cast<unsigned char>(first[1]) != proto::kDataRefBodySize ||
      first[2] != proto::kDataRefExt) {
    return false;
  }
  Result<proto::DataRef> r = proto::parse_data_ref_body(std::string_view(first).substr(3));
  if (!r) return false;
  ref = std::move(*r);
  return true;
}

}  // namespace

// The accepted result of job `id`, asked to be kept, came from `node`: its first value,
// if the node kept it, is registered (its handle is what dependents get).
std::string Dispatcher::keep_result(uint64_t id, sched::NodeId node, const std::string& value) {
  const Job* job = jobs_.find(id);
  if (job == nullptr || !job->keep_sent) return {};
  Result<std::string> first = proto::first_element(value);
  proto::DataRef ref;
  if (!first || !is_handle(*first, ref)) return {};   // small values come back inline
  auto [it, fresh] = kept_.try_emplace(ref.hash);
  KeptValue& v = it->second;
  if (fresh) {
    v.size = ref.size;
    v.internal = true;
  }
  if (fresh || v.holder_gone) v.holder = node, v.holder_gone = false;
  ++v.holds[node];
  // A value two jobs made is released when neither needs it: internal only if both are.
  v.internal = v.internal && job->sub.extras && job->sub.extras->intermediate;
  if (remaking_.contains(id)) return ref.hash;   // made again: its first maker's records
  if (!v.internal) v.producers.push_back(job->sub.state);
  if (!v.recipe) v.recipe = recipe_of(id, *job, ref.size);
  return ref.hash;
}

// After the keeping job's outcome went to its dependents: a value none of them named
// (they were cancelled) is released at once.
void Dispatcher::drop_unused(const std::string& hash) {
  auto it = kept_.find(hash);
  if (it != kept_.end() && unused(it->second)) drop_kept(hash);
}

// No job names it and none waits for it; and the user cannot ask for it (a pipeline's
// intermediate its dependent took, or a job whose handle the user let go).
bool Dispatcher::unused(const KeptValue& v) const {
  if (v.users > 0 || !v.parked.empty() || !v.readers.empty()) return false;
  if (v.remaking || !v.deferred.empty()) return false;
  if (v.internal && v.used) return true;
  for (const auto& p : v.producers) {
    if (!p.expired()) return false;
  }
  return true;
}

// Every 100 ms or so: values whose job the user let go are released.
void Dispatcher::sweep_kept() {
  std::vector<std::string> gone;
  for (const auto& [hash, v] : kept_) {
    if (unused(v)) gone.push_back(hash);
  }
  for (const std::string& hash : gone) drop_kept(hash);
}

// Whether a copy of `job` sent now should leave its result on its node: a pipeline's
// intermediate always; a job other jobs wait for when the user has not asked for its
// value (they may still: it is fetched then). Never with a journal, which keeps values.
bool Dispatcher::wants_keep(uint64_t id, const Job& job) const {
  if (recall_) return false;
  const SubmitExtras* x = job.sub.extras.get();
  if (x != nullptr && x->keep) return true;
  if (!deps_.has_waiters(id)) return false;
  std::lock_guard lock(job.sub.state->sync->mutex);
  return !job.sub.state->waited;
}

// A job now waited for by `input`'s dependent (hold): if `input` was sent without
// `keep`, the nodes running it are asked to keep its value after all (KEEP_LATE), so the
// dependent takes it there instead of through this driver. Costs a plain batch nothing:
// only a dependent that comes while its input runs sends a frame. Too late (the result
// is on its way), the value arrives inline as before.
void Dispatcher::late_keep(uint64_t input) {
  Job* job = jobs_.find(input);
  if (job == nullptr || job->keep_sent || !wants_keep(input, *job)) return;
  for (sched::NodeId node : sched_.holders(input)) {
    NodeLink* l = link(node);
    if (l != nullptr && l->keep_late(input)) job->keep_sent = true;
  }
}

void Dispatcher::fetch_for_user(std::shared_ptr<JobState> job) {
  std::string value;
  {
    std::lock_guard lock(job->sync->mutex);
    if (!job->kept) return;
    value = job->value;
  }
  Result<std::string> first = proto::first_element(value);
  proto::DataRef ref;
  if (!first || !is_handle(*first, ref)) ref.hash.clear();
  auto it = kept_.find(ref.hash);
  std::vector<std::shared_ptr<JobState>> one{std::move(job)};
  if (it == kept_.end()) return answer_readers(one, ref.hash);
  KeptValue& v = it->second;
  if (v.remaking && !v.bytes) {   // asked for once it is made again (remade)
    v.readers.push_back(std::move(one.front()));
    return;
  }
  NodeLink* holder = v.holder_gone ? nullptr : link(v.holder);
  if (v.bytes || holder == nullptr) return answer_readers(one, ref.hash);
  v.readers.push_back(std::move(one.front()));
  if (!v.fetching) holder->fetch_kept(ref.hash);
  v.fetching = true;
}

// The users waiting for the kept value `hash` get it in place of its handle, or, when
// it is gone, their job fails saying why.
void Dispatcher::answer_readers(std::vector<std::shared_ptr<JobState>>& readers,
                                const std::string& hash) {
  if (readers.empty()) return;
  auto it = kept_.find(hash);
  std::shared_ptr<const std::string> bytes = it != kept_.end() ? it->second.bytes : nullptr;
  const std::string where = it != kept_.end() ? members_[it->second.holder].name : "";
  const std::string lost = it != kept_.end() ? it->second.lost : "";
  std::shared_ptr<Sync> sync = readers.front()->sync;
  {
    std::lock_guard lock(sync->mutex);
    for (const auto& job : readers) {
      if (!job->kept) continue;
      job->kept = false;
      Result<std::pair<size_t, size_t>> span = proto::first_element_span(job->value);
      if (bytes && span) {
        auto [at, size] = *span;
        job->value = job->value.substr(0, at) + *bytes + job->value.substr(at + size);
        continue;
      }
      job->status = proto::JobStatus::kLost;
      job->value.clear();
      job->set_failure(!lost.empty() ? lost
                       : "job " + std::to_string(job->id) + "'s value stayed on node " +
                           (where.empty() ? std::string("that made it") : where) +
                           ", which no longer holds it (the node went away or the value "
                           "was released)", "");
    }
  }
  readers.clear();
  sync->cv.notify_all();
}

// The held job `id` got its inputs' values: the kept ones it names are counted as used
// by it, and it prefers the node holding most of their bytes.
void Dispatcher::count_kept(uint64_t id, const std::string& args, SubmitExtras& x) {
  if (kept_.empty()) return;
  std::vector<proto::DataRef> refs;
  if (!proto::find_data_refs(args, refs)) return;
  std::unordered_map<sched::NodeId, uint64_t> bytes_on;
  for (const proto::DataRef& ref : refs) {
    auto it = kept_.find(ref.hash);
    if (it == kept_.end()) continue;
    ++it->second.users;
    it->second.used = true;
    x.kept.push_back(ref.hash);
  }
  prefer_holder(id, x);
}

// The held job `id` prefers the node holding most bytes of the kept values it names.
void Dispatcher::prefer_holder(uint64_t id, const SubmitExtras& x) {
  std::unordered_map<sched::NodeId, uint64_t> bytes_on;
  for (const std::string& hash : x.kept) {
    auto it = kept_.find(hash);
    if (it != kept_.end() && !it->second.holder_gone) {
      bytes_on[it->second.holder] += it->second.size;
    }
  }
  sched::NodeId best = 0;
  uint64_t most = 0;
  for (auto [node, bytes] : bytes_on) {
    if (bytes > most) best = node, most = bytes;
  }
  // Moving them elsewhere: two transfers and a round trip each.
  const double move = 2 * static_cast<double>(most) / kMoveBytesPerSecond +
                      2 * sched_.options().round_trip_seconds;
  if (most > 0) sched_.prefer(id, best, move);
}

// Job `id`, about to go to `to` (scheduler node `node`), names kept values: each one the
// node lacks is sent (DATA) when this driver has its bytes, else fetched from its holder
// first, and the job is `parked` until it is in. Returns why it cannot run ("" if it can).
std::string Dispatcher::move_kept(NodeLink& to, sched::NodeId node, uint64_t id,
                                  const SubmitExtras& x, Wait& wait) {
  wait = Wait::kNone;
  for (const std::string& hash : x.kept) {
    auto it = kept_.find(hash);
    if (it == kept_.end()) return "job " + std::to_string(id) + ": an input's kept value is gone";
    KeptValue& v = it->second;
    if (v.holds.count(node) != 0 || to.has_data(hash)) continue;
    if (v.bytes) {
      to.send_data(hash, v.bytes);
      continue;
    }
    if (v.remaking) {
      v.deferred.push_back(id);
      wait = Wait::kDeferred;
      return "";
    }
    NodeLink* holder = v.holder_gone ? nullptr : link(v.holder);
    if (holder == nullptr) {
      if (!v.lost.empty()) return v.lost;
      return "job " + std::to_string(id) + ": its input's value (" + std::to_string(v.size) +
             " bytes) stayed on node " + members_[v.holder].name +
             ", which went away before it could be moved";
    }
    if (!v.fetching) holder->fetch_kept(hash);
    v.fetching = true;
    v.parked.emplace_back(id, node);
    wait = Wait::kParked;
    return "";   // once this one is in, the job is tried again (on_kept)
  }
  return "";
}

// Before `a` is sent: the kept values its job names. False when it does not go now
// (it failed, went back to the queue, or waits held until a value is made again);
// `parked` when it goes once a value reached this driver.
bool Dispatcher::ready_kept(const sched::Assignment& a, NodeLink& l, const SubmitExtras& x,
                            bool& parked) {
  if (a.backup && remaking_input(x)) {   // the original goes on
    sched_.give_back(a.job, a.node);
    return false;
  }
  Wait wait = Wait::kNone;
  std::string why = move_kept(l, a.node, a.job, x, wait);
  if (!why.empty()) {
    sched_.give_back(a.job, a.node);
    if (!a.backup) give_up(a.job, proto::JobStatus::kLost, std::move(why));
    return false;
  }
  if (wait == Wait::kDeferred) {   // remade() releases it
    sched_.hold_again(a.job, a.node);
    return false;
  }
  parked = wait == Wait::kParked;
  return true;
}

void Dispatcher::on_kept(sched::NodeId node, proto::Kept&& k) {
  auto it = kept_.find(k.hash);
  if (it == kept_.end()) return;   // released meanwhile
  KeptValue& v = it->second;
  v.fetching = false;
  if (k.bytes.empty() || proto::data_hash(k.bytes) != k.hash) {
    PP_WARN("node %s no longer holds a kept value of %llu bytes", members_[node].name.c_str(),
            static_cast<unsigned long long>(v.size));
    v.holds.erase(node);
    NodeLink* other = v.holds.empty() ? nullptr : link(v.holds.begin()->first);
    if (other != nullptr) {   // another node kept it too: ask that one
      v.holder = v.holds.begin()->first;
      v.fetching = true;
      other->fetch_kept(k.hash);
      return;
    }
    v.holder_gone = true;
    // Made again if anything still needs it (its parked jobs wait for that), else lost.
    lose_value(k.hash, "node " + members_[node].name + " no longer held", kNoNode);
    drop_unused(k.hash);
    pump();
    return;
  }
  auto parked = std::move(v.parked);
  v.parked.clear();
  auto readers = std::move(v.readers);
  if (!v.holder_gone) {
    kept_moved_ += k.bytes.size();
    v.bytes = std::make_shared<const std::string>(std::move(k.bytes));
  }
  answer_readers(readers, k.hash);
  for (auto [id, to] : parked) {
    Job* job = jobs_.find(id);
    NodeLink* l = link(to);
    if (job == nullptr || l == nullptr) continue;   // ended, or its node left (requeued)
    Wait wait = Wait::kNone;
    std::string why = move_kept(*l, to, id, *job->sub.extras, wait);
    if (!why.empty()) {
      give_up(id, proto::JobStatus::kLost, std::move(why));
    } else if (wait == Wait::kDeferred) {
      sched_.hold_again(id, to);
    } else if (wait == Wait::kNone) {
      running_.sent(to, id, special_kind(id, to), now());
      submit_to(*job, id, *l);
    }
  }
  drop_unused(k.hash);   // every job that waited for it ended meanwhile
  pump();
}

// Jobs naming `hashes` ended: a value no job names any more is released everywhere.
void Dispatcher::unref_kept(const std::vector<std::string>& hashes) {
  for (const std::string& hash : hashes) {
    auto it = kept_.find(hash);
    if (it == kept_.end()) continue;
    if (it->second.users > 0) --it->second.users;
    if (unused(it->second)) drop_kept(hash);
  }
}

void Dispatcher::drop_kept(const std::string& hash) {
  auto it = kept_.find(hash);
  if (it == kept_.end()) return;
  for (auto [node, holds] : it->second.holds) {
    NodeLink* l = link(node);
    for (uint32_t i = 0; l != nullptr && i < holds; ++i) l->release_kept(hash);
  }
  for (const Member& m : members_) {   // the nodes it was moved to (DATA)
    if (m.link != nullptr) m.link->release_data(hash);
  }
  kept_.erase(it);
}

// `node` left: the values only it held are gone with it; what still needs one has it
// made again (lose_value), once every value it held is counted out (a value and the
// input it was made from are often lost together).
void Dispatcher::kept_lost(sched::NodeId node) {
  std::vector<std::string> gone;
  for (auto& [hash, v] : kept_) {
    if (v.holds.erase(node) == 0 || v.holder_gone) continue;
    if (v.holder == node && !v.holds.empty()) {   // another node kept it too
      v.holder = v.holds.begin()->first;
      NodeLink* other = link(v.holder);
      if (v.fetching && other != nullptr) other->fetch_kept(hash);   // the asked one left
      continue;
    }
    if (!v.holds.empty()) continue;
    v.holder_gone = true;
    v.fetching = false;
    if (!v.bytes) gone.push_back(hash);
  }
  for (const std::string& hash : gone) {
    lose_value(hash, "node " + members_[node].name + " died holding", node);
  }
}

}  // namespace pp::client
