#include "core/sched/simulator.hpp"

#include <algorithm>
#include <ctime>
#include <deque>
#include <map>
#include <optional>
#include <queue>

namespace pp::sched {

namespace {

// This thread's CPU time: time spent off the CPU (a busy machine) is not counted.
int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// What one timed section costs with nothing inside it: subtracted from the total.
double timer_overhead_seconds() {
  constexpr int kLaps = 200000;
  int64_t sum = 0;
  for (int i = 0; i < kLaps; ++i) {
    int64_t t0 = now_ns();
    sum += now_ns() - t0;
  }
  return static_cast<double>(sum) / kLaps * 1e-9;
}

enum class Ev : uint8_t {
  kJoin, kDie, kDetect,                          // cluster
  kArrive, kCancel, kSteal,                      // at a node, if it is alive
  kFinish,                                       // a worker ends a run
  kResult, kStealAnswer, kStartReport,           // at the client
};

struct Event {
  double t;
  uint64_t seq;
  Ev kind;
  bool flag;        // kResult: crashed; kStealAnswer: taken
  uint32_t node;    // sim index
  uint32_t worker;
  JobId job;
  uint64_t gen;
  double secs;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

class Cluster {
 public:
  explicit Cluster(const SimConfig& cfg)
      : cfg_(cfg),
        s_({.clock = [this] { return now_; },
            .round_trip_seconds = cfg.rtt,
            .max_backups = cfg.max_backups,
            .adaptive = cfg.adaptive}),
        nodes_(cfg.nodes.size()) {
    res_.accepted.assign(cfg.work.size(), 0);
  }

  SimResult run();

 private:
  struct NodeState {
    bool alive = false;
    NodeId id = 0;
    double half_rtt = 0;
    std::deque<JobId> local;
    std::vector<JobId> running;       // per worker, 0 = idle
    std::vector<uint64_t> generation; // per worker: a finish event for an older run is void
  };

  // Runs one scheduler call, timed when asked (the simulator's own work is outside).
  template <typename F>
  decltype(auto) sched(F&& f) {
    struct Lap {
      Cluster* c;
      int64_t t0;
      ~Lap() {
        if (t0 >= 0) c->sched_ns_ += now_ns() - t0, ++c->res_.scheduler_calls;
      }
    } lap{this, cfg_.time_scheduler ? now_ns() : -1};
    return f();
  }

  void violate(const std::string& what) {
    if (res_.violations.size() < 20) res_.violations.push_back(what);
    ++res_.violation_count;
  }

  void at(double t, Ev kind, uint32_t node, JobId job = 0) {
    events_.push(Event{t, seq_++, kind, false, node, 0, job, 0, 0});
  }
  void push(Event e) {
    e.seq = seq_++;
    events_.push(e);
  }
  void to_node(uint32_t k, Ev kind, JobId job) { at(now_ + nodes_[k].half_rtt, kind, k, job); }
  void dispatch(const Event& e);
  void finish_checks();

  // client side
  void join(uint32_t k);
  void die(uint32_t k);
  // One client step: `first` (the scheduler call an event brought), then assign and
  // plan_steals, in one timed section; then what they asked for is sent.
  template <typename F>
  void step(F&& first) {
    std::vector<Assignment> as;
    std::vector<Steal> steals;
    sched([&] {
      first();
      as = s_.assign();
      if (cfg_.steal) steals = s_.plan_steals();
    });
    send(as, steals);
  }
  void send(const std::vector<Assignment>& as, const std::vector<Steal>& steals);
  void on_result(uint32_t k, JobId job, double secs, bool crashed);
  void on_steal_answer(uint32_t from, JobId job, bool taken);
  uint32_t sim_index(NodeId id) const { return by_id_.at(id); }
  bool anyone_idle() const;

  // node side
  void node_receive(uint32_t k, JobId job);
  void node_start(uint32_t k);
  void node_finish(const Event& e);
  void node_cancel(uint32_t k, JobId job);
  void node_steal(uint32_t k, JobId job);

  const SimConfig& cfg_;
  double now_ = 0;
  uint64_t seq_ = 0;
  int64_t sched_ns_ = 0;
  Scheduler s_;
  std::vector<NodeState> nodes_;
  std::vector<uint32_t> by_id_;      // NodeId -> sim index
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  SimResult res_;
};

SimResult Cluster::run() {
  for (uint32_t k = 0; k < cfg_.nodes.size(); ++k) {
    const SimNode& n = cfg_.nodes[k];
    nodes_[k].half_rtt = (n.rtt >= 0 ? n.rtt : cfg_.rtt) / 2;
    at(n.join_at, Ev::kJoin, k);
    if (n.die_at < 1e300) at(n.die_at, Ev::kDie, k);
  }
  sched([&] {
    for (JobId j = 1; j <= cfg_.work.size(); ++j) s_.submit(j);
  });
  res_.ideal = fluid_makespan(cfg_);
  while (!events_.empty()) {
    if (++res_.events >= cfg_.max_events) {
      violate("stuck: " + std::to_string(cfg_.max_events) + " events and not done");
      break;
    }
    Event e = events_.top();
    events_.pop();
    now_ = e.t;
    dispatch(e);
  }
  finish_checks();
  if (cfg_.time_scheduler) {
    res_.timer_overhead_seconds = timer_overhead_seconds();
    res_.scheduler_seconds = std::max(
        0.0, static_cast<double>(sched_ns_) * 1e-9 -
                 static_cast<double>(res_.scheduler_calls) * res_.timer_overhead_seconds);
  }
  return std::move(res_);
}

void Cluster::dispatch(const Event& e) {
  const uint32_t k = e.node;
  switch (e.kind) {
    case Ev::kJoin: join(k); break;
    case Ev::kDie: die(k); break;
    case Ev::kDetect: step([&] { s_.remove_node(nodes_[k].id); }); break;
    case Ev::kArrive: if (nodes_[k].alive) node_receive(k, e.job); break;
    case Ev::kCancel: if (nodes_[k].alive) node_cancel(k, e.job); break;
    case Ev::kSteal: if (nodes_[k].alive) node_steal(k, e.job); break;
    case Ev::kFinish: node_finish(e); break;
    case Ev::kResult: on_result(k, e.job, e.secs, e.flag); break;
    case Ev::kStealAnswer: on_steal_answer(k, e.job, e.flag); break;
    case Ev::kStartReport: step([&] { s_.started(e.job, nodes_[k].id); }); break;
  }
}

void Cluster::finish_checks() {
  if (s_.unfinished() != 0) violate(std::to_string(s_.unfinished()) + " jobs unfinished");
  for (NodeId id = 0; id < s_.node_count(); ++id) {
    res_.stats.push_back(s_.stats(id));
    if (s_.in_flight(id) != 0) violate("node " + std::to_string(id) + " still holds jobs");
  }
  if (s_.backups_in_flight() != 0) violate("backups still in flight");
  for (size_t j = 0; j < res_.accepted.size(); ++j) {
    if (res_.accepted[j] != 1) {
      violate("job " + std::to_string(j + 1) + ": " + std::to_string(res_.accepted[j]) +
              " accepted results");
    }
  }
}

// ---- client side

void Cluster::join(uint32_t k) {
  const SimNode& n = cfg_.nodes[k];
  NodeState& st = nodes_[k];
  st.alive = true;
  st.running.assign(static_cast<size_t>(n.workers), 0);
  st.generation.assign(static_cast<size_t>(n.workers), 0);
  const NodeInfo info{"n" + std::to_string(k), n.workers, n.announced > 0 ? n.announced : n.speed};
  step([&] {
    st.id = s_.add_node(info);
    if (by_id_.size() <= st.id) by_id_.resize(st.id + 1);
    by_id_[st.id] = k;
  });
}

void Cluster::die(uint32_t k) {
  nodes_[k].alive = false;
  at(now_ + cfg_.detect, Ev::kDetect, k);
}

bool Cluster::anyone_idle() const {
  for (NodeId id = 0; id < s_.node_count(); ++id) {
    if (s_.stats(id).active && s_.in_flight(id) < static_cast<size_t>(s_.stats(id).workers))
      return true;
  }
  return false;
}

void Cluster::send(const std::vector<Assignment>& as, const std::vector<Steal>& steals) {
  for (const Assignment& a : as) {
    if (!s_.stats(a.node).active) violate("job " + std::to_string(a.job) + " sent to a departed node");
    if (res_.accepted[a.job - 1] != 0) violate("job " + std::to_string(a.job) + " sent after its result");
    if (a.backup) {
      if (s_.queued() != 0) violate("a backup while jobs are queued");
      ++res_.backups;
    }
    to_node(sim_index(a.node), Ev::kArrive, a.job);
  }
  const bool idle = steals.empty() || !cfg_.deep_checks || anyone_idle();
  for (const Steal& st : steals) {
    if (s_.queued() != 0) violate("a steal while jobs are queued");
    if (!idle) violate("a steal while every worker is busy");
    ++res_.steals;
    to_node(sim_index(st.from), Ev::kSteal, st.job);
  }
}

void Cluster::on_result(uint32_t k, JobId job, double secs, bool crashed) {
  Completion c;
  std::vector<Assignment> as;
  std::vector<Steal> steals;
  sched([&] {
    c = s_.complete(job, nodes_[k].id, secs, !crashed, crashed);
    as = s_.assign();
    if (cfg_.steal) steals = s_.plan_steals();
  });
  if (c == Outcome::kAccepted) {
    ++res_.accepted[job - 1];
    res_.makespan = now_;
    res_.last_node = static_cast<int>(k);
    if (c.failed_for_good) ++res_.failed_for_good;
  }
  for (const Copy& x : c.cancel) to_node(sim_index(x.node), Ev::kCancel, job);
  send(as, steals);
}

void Cluster::on_steal_answer(uint32_t from, JobId job, bool taken) {
  std::optional<Assignment> a;
  std::vector<Assignment> as;
  std::vector<Steal> steals;
  sched([&] {
    if (taken) a = s_.stolen(job, nodes_[from].id);
    else s_.started(job, nodes_[from].id);
    as = s_.assign();
    if (cfg_.steal) steals = s_.plan_steals();
  });
  if (a) to_node(sim_index(a->node), Ev::kArrive, a->job);  // before what assign() sent
  send(as, steals);
}

// ---- node side

void Cluster::node_receive(uint32_t k, JobId job) {
  nodes_[k].local.push_back(job);
  node_start(k);
}

void Cluster::node_start(uint32_t k) {
  NodeState& st = nodes_[k];
  for (uint32_t w = 0; w < st.running.size() && !st.local.empty(); ++w) {
    if (st.running[w] != 0) continue;
    JobId job = st.local.front();
    st.local.pop_front();
    st.running[w] = job;
    uint64_t gen = ++st.generation[w];
    double secs = cfg_.work[job - 1] / cfg_.nodes[k].speed;
    push(Event{now_ + secs, 0, Ev::kFinish, false, k, w, job, gen, secs});
    if (cfg_.nodes[k].reports_starts) at(now_ + st.half_rtt, Ev::kStartReport, k, job);
  }
}

void Cluster::node_finish(const Event& e) {
  NodeState& st = nodes_[e.node];
  if (!st.alive || st.generation[e.worker] != e.gen) return;
  JobId job = st.running[e.worker];
  st.running[e.worker] = 0;
  bool crashed = cfg_.poison.count(job) > 0;
  push(Event{now_ + st.half_rtt, 0, Ev::kResult, crashed, e.node, 0, job, 0, e.secs});
  node_start(e.node);
}

void Cluster::node_cancel(uint32_t k, JobId job) {
  NodeState& st = nodes_[k];
  auto it = std::find(st.local.begin(), st.local.end(), job);
  if (it != st.local.end()) st.local.erase(it);
  for (size_t w = 0; w < st.running.size(); ++w) {
    if (st.running[w] != job) continue;
    st.running[w] = 0;
    ++st.generation[w];
  }
  node_start(k);
}

void Cluster::node_steal(uint32_t k, JobId job) {
  NodeState& st = nodes_[k];
  auto it = std::find(st.local.begin(), st.local.end(), job);
  bool taken = it != st.local.end();
  if (taken) st.local.erase(it);
  push(Event{now_ + st.half_rtt, 0, Ev::kStealAnswer, taken, k, 0, job, 0, 0});
}

}  // namespace

SimResult simulate(const SimConfig& cfg) { return Cluster(cfg).run(); }

double fluid_makespan(const SimConfig& cfg) {
  double work = 0;
  for (double w : cfg.work) work += w;
  std::map<double, double> steps;  // time -> change of capacity
  for (const SimNode& n : cfg.nodes) {
    steps[n.join_at] += n.speed * n.workers;
    if (n.die_at < 1e300) steps[n.die_at] -= n.speed * n.workers;
  }
  double t = 0, capacity = 0;
  for (auto [when, delta] : steps) {
    if (capacity > 0 && work <= capacity * (when - t)) return t + work / capacity;
    work -= capacity * (when - t);
    t = when;
    capacity += delta;
  }
  return t + work / capacity;
}

}  // namespace pp::sched
