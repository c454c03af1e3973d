// Lineage: a kept value (dispatcher_keep.cpp) whose every holder died, departed or
// answered that it no longer has it, while something still needs it (a job naming it, a
// user who may ask for it), is made again by running the job that made it once more, as
// Dask and Ray do. The driver keeps what that takes while the value is kept: the job's
// code record (shared with its other jobs), its final arguments (a dependent's are its
// inputs' small handles), its scattered values and the recipes of its kept inputs, so a
// value and the input it was made from, lost together, are made again in order. The new
// job is an ordinary one (Remake: it gets an id and is scheduled like any other); what
// waits for the value is held meanwhile (Scheduler::hold_again) and goes on with the new
// copy, which the new job leaves on its node as the first did. Its own outcome reaches no
// user: the first run's was delivered, and a value is delivered once. Bounded: a value
// made again more often than its job's retry budget (`retries`, else the crash budget a
// job has, max_attempts) is lost for good, and so is one whose new copy differs from the
// first (a job of chance or time) or whose job may run only on the node that died.
#include "core/proto/data_ref.hpp"
#include "core/proto/job_ref.hpp"
#include "core/util/log.hpp"
#include "ppclient/src/dispatcher.hpp"
#include "ppclient/src/node_link.hpp"

namespace pp::client {
namespace {

std::string job_name(uint64_t id) { return "job " + std::to_string(id); }

// The hash of the handle that is `value`'s first element, or "".
std::string handle_hash(const std::string& value) {
  Result<std::string> first = proto::first_element(value);
  std::vector<proto::DataRef> refs;
  if (!first || first->size() != 3 + proto::kDataRefBodySize ||
      !proto::find_data_refs(*first, refs) || refs.size() != 1) {
    return {};
  }
  return refs.front().hash;
}

}  // namespace

// The recipe of the kept value job `id` just made (null when it could never be run
// again here: no Remake, or a journal, which keeps values itself).
std::shared_ptr<Dispatcher::Recipe> Dispatcher::recipe_of(uint64_t id, const Job& job,
                                                          uint64_t size) {
  if (!remake_ || recall_) return nullptr;
  auto r = std::make_shared<Recipe>();
  r->job = id;
  r->code = job.sub.code;
  r->args = job.wire_args ? std::shared_ptr<const std::string>(job.wire_args)
                          : std::make_shared<const std::string>(job.sub.args);
  r->timeout_ms = job.sub.timeout_ms;
  r->size = size;
  if (const SubmitExtras* x = job.sub.extras.get()) {
    r->retries = x->retries;
    r->pinned = !x->node.empty();
    r->intermediate = x->intermediate;
    r->data = x->data;
    for (const std::string& hash : x->kept) {
      auto it = kept_.find(hash);
      r->inputs.emplace_back(hash, it != kept_.end() ? it->second.recipe : nullptr);
    }
  }
  return r;
}

// No node holds the kept value `hash` any more (`how`: "node X died holding"); `gone`
// is the node that left (kNoNode when it is still here). What needs it has it made
// again, or fails saying why.
void Dispatcher::lose_value(const std::string& hash, const std::string& how,
                            sched::NodeId gone) {
  auto it = kept_.find(hash);
  if (it == kept_.end() || it->second.remaking) return;
  KeptValue& v = it->second;
  v.lost_how = how;
  if (unused(v)) return;   // nothing needs it: released at the next sweep
  // Jobs parked on a live node for its bytes wait for the new copy instead; those parked
  // on the node that left were requeued with its jobs.
  for (auto [id, to] : v.parked) {
    if (to != gone && jobs_.find(id) != nullptr && sched_.hold_again(id, to)) {
      v.deferred.push_back(id);
    }
  }
  v.parked.clear();
  if (std::string why = remake(hash); !why.empty()) fail_value(hash, why);
}

// Starts making `hash` again (first its kept inputs no node holds either); returns why
// it cannot ("" when it is being made).
std::string Dispatcher::remake(const std::string& hash) {
  KeptValue& v = kept_.at(hash);
  const std::shared_ptr<Recipe> r = v.recipe;
  const std::string head = "lost: " + v.lost_how + " the value of ";
  if (!r) return head + "a job that cannot be run again here (a journal keeps its values)";
  if (r->pinned) return head + job_name(r->job) + ", which may run only on that node";
  const uint32_t budget = r->retries > 0 ? r->retries : sched_.options().max_attempts;
  if (r->remakes >= budget) {
    return head + job_name(r->job) + "; made again " + std::to_string(r->remakes) +
           " times (its budget: retries, else " +
           std::to_string(sched_.options().max_attempts) + ")";
  }
  for (const auto& [in, in_recipe] : r->inputs) {
    auto [at, fresh] = kept_.try_emplace(in);
    KeptValue& iv = at->second;
    if (!fresh && (!iv.holds.empty() || iv.bytes || iv.remaking)) continue;
    if (fresh) {   // released after its dependent ran: made again for this one
      iv.size = in_recipe ? in_recipe->size : 0;
      iv.internal = true;
      iv.holder_gone = true;
      iv.recipe = in_recipe;
    }
    if (iv.lost_how.empty()) iv.lost_how = v.lost_how;
    std::string why = remake(in);
    if (!why.empty()) {
      if (fresh) kept_.erase(at);
      return head + job_name(r->job) + ": its input " + why;
    }
  }
  auto x = std::make_unique<SubmitExtras>();
  x->keep = true;
  x->intermediate = r->intermediate;
  x->retries = r->retries;
  x->data = r->data;
  const uint64_t id = remake_(r->code, *r->args, r->timeout_ms, std::move(x));
  if (id == 0) return head + job_name(r->job) + "; the cluster is closing";
  ++r->remakes;
  v.remaking = true;
  remaking_.emplace(id, hash);
  PP_INFO("%s the value of job %llu (%llu bytes): making it again as job %llu (%u of %u)",
          v.lost_how.c_str(), static_cast<unsigned long long>(r->job),
          static_cast<unsigned long long>(r->size), static_cast<unsigned long long>(id),
          r->remakes, budget);
  return "";
}

// Job `id` ends (any outcome, on its way to deliver_): if it made a lost value again,
// what waited for the value goes on with the new copy, or fails.
void Dispatcher::remade(uint64_t id, Outcome& o) {
  auto m = remaking_.find(id);
  if (m == remaking_.end()) return;
  const std::string hash = std::move(m->second);
  remaking_.erase(m);
  o.output.clear();   // echoed once, with the first run
  auto it = kept_.find(hash);
  if (it == kept_.end()) return;
  KeptValue& v = it->second;
  v.remaking = false;
  const std::string head = "lost: " + v.lost_how + " the value of " +
                           job_name(v.recipe ? v.recipe->job : 0) + "; made again as " +
                           job_name(id) + ", ";
  if (o.status != proto::JobStatus::kOk) {
    return fail_value(hash, head + "which failed (" +
                                std::string(proto::job_status_name(o.status)) + "): " + o.error);
  }
  if (!o.kept || handle_hash(o.value) != hash) {
    return fail_value(hash, head + "it came out different (a job whose value depends on "
                                   "chance or time cannot be made again)");
  }
  std::vector<uint64_t> deferred = std::move(v.deferred);
  v.deferred.clear();
  for (uint64_t d : deferred) {
    const Job* job = jobs_.find(d);
    if (job == nullptr || !sched_.is_held(d)) continue;   // ended meanwhile
    sched_.release(d);
    prefer_holder(d, *job->sub.extras);
  }
  NodeLink* holder = link(v.holder);
  if (!v.readers.empty() && holder != nullptr && !v.fetching) {
    v.fetching = true;
    holder->fetch_kept(hash);
  }
}

// The kept value `hash` is lost for good: what waits for it fails with `why`, and so do
// the jobs naming it when they come to be sent (move_kept).
void Dispatcher::fail_value(const std::string& hash, const std::string& why) {
  auto it = kept_.find(hash);
  if (it == kept_.end()) return;
  KeptValue& v = it->second;
  PP_WARN("%s", why.c_str());
  v.lost = why;
  v.holder_gone = true;
  v.remaking = false;
  std::vector<uint64_t> ending = std::move(v.deferred);
  v.deferred.clear();
  for (auto [id, to] : v.parked) ending.push_back(id);
  v.parked.clear();
  answer_readers(v.readers, hash);
  // Last: each ending job may release the value (and its entry).
  for (uint64_t id : ending) {
    if (jobs_.find(id) != nullptr) give_up(id, proto::JobStatus::kLost, why);
  }
}

// Whether a kept value `x` names is being made again.
bool Dispatcher::remaking_input(const SubmitExtras& x) const {
  for (const std::string& hash : x.kept) {
    auto it = kept_.find(hash);
    if (it != kept_.end() && it->second.remaking) return true;
  }
  return false;
}

}  // namespace pp::client
