// Node: the ppserver process. Owns the Listener, the client sessions, the
// queued jobs of all sessions (JobQueue, which also holds the rule of which job
// goes to which worker) and the worker pool, and dispatches from the one to the
// other whenever a job arrives or a worker frees up. One io_context thread; no
// global state: main() builds one Node and calls run().
//
// Admission: a connection is refused at once (an ERROR frame, then close) when
// the node already has max_sessions sessions, max_handshakes connections still
// authenticating, or max_handshakes_per_source of them from the same source.
// Pausing (for the machine's owner): while any PauseCause holds, the workers are held
// with SIGSTOP and get no job (worker_pool.hpp); sessions, heartbeats and the queue go
// on, so clients can steal queued jobs back. SIGUSR1 holds kSignal, SIGUSR2 releases it.
// Each change is logged with its reason, shown in the service STATUS=, and told to the
// clients that understand it (PAUSE).
// Log lines a peer can provoke without the secret (refusals, failed handshakes,
// accept errors) go through LogLimiters, so a flood cannot fill the log.
#pragma once

#include <array>
#include <asio.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/discovery/discovery.hpp"
#include "core/proto/auth.hpp"
#include "core/proto/messages.hpp"
#include "ppserver/data_store.hpp"
#include "ppserver/guest/busy_watch.hpp"
#include "ppserver/guest/logind_watch.hpp"
#include "ppserver/job_queue.hpp"
#include "ppserver/listener.hpp"
#include "ppserver/log_limiter.hpp"
#include "ppserver/node_config.hpp"
#include "ppserver/node_facts.hpp"
#include "ppserver/pause_state.hpp"
#include "ppserver/service_status.hpp"
#include "ppserver/worker_pool.hpp"

namespace pp::server {

class Session;

class Node {
 public:
  explicit Node(NodeConfig config);
  ~Node();

  // Listens and serves until a signal (SIGINT, SIGTERM or SIGHUP: each says BYE
  // to the clients, stops the workers and logs "shutting down"), the idle limit,
  // or the exit fd ends it. Returns the process exit code (0 for all of these);
  // throws std::runtime_error when it cannot listen.
  int run();

  // Used by sessions.
  const NodeConfig& config() const { return config_; }
  const proto::AuthKey& key() const { return key_; }
  proto::Hello hello(const std::string& nonce) const;
  uint64_t next_key() { return ++last_key_; }
  // Sessions push, cancel and steal their jobs here, then call dispatch().
  JobQueue& jobs() { return jobs_; }
  DataStore& data() { return data_; }
  // Values the store freed (`hashes`): the workers drop them too, and the log says
  // what the store holds now ("data cache: ..."), as after every change: at INFO for a
  // client's own act (a value sent, a client gone), at DEBUG for the per-job ones (a kept
  // result, its release), which a pipeline makes twice per item.
  enum class DataEvent { kClientAct, kPerJob };
  void data_changed(const std::vector<std::string>& freed, const char* why,
                    DataEvent event = DataEvent::kClientAct);
  void dispatch();
  void cancel(uint64_t session_id, std::optional<uint64_t> client_job_id);
  void session_closed(uint64_t session_id, const std::string& reason);
  // CLIENTS for the session `asking`: every other listed session (Session::listed).
  proto::Clients clients(uint64_t asking) const;

  // `cause` holds the node paused for `reason` / no longer does. The node is paused
  // while any cause holds; the reason shown is the most recent holder's. On the io thread.
  void hold(PauseCause cause, std::string reason);
  void release(PauseCause cause);
  const PauseState& pause() const { return pause_; }

  // Lines a peer can provoke before it has authenticated, one limiter per kind.
  enum class Noise { kRefused, kHandshake, kAuth, kAccept };
  void warn_limited(Noise kind, const std::string& line);

 private:
  void admit(asio::ip::tcp::socket socket);
  std::string admission_refusal(const std::string& source) const;
  void report_suppressed();
  void on_result(NodeJob&& job, proto::ResultMsg&& result);
  void on_requeue(NodeJob&& job);
  void idle_check();
  void watch_pause_signals();
  void pause_changed(bool was_paused);
  void watch_exit_fd();
  void shutdown(const std::string& why);
  void start_discovery();
  void start_guest();   // --pause-when-busy, --pause-when-user-active
  void calibrated(double score);
  proto::NodeFacts facts();   // facts_ with the load of now: what discovery announces

  NodeConfig config_;
  proto::AuthKey key_;
  asio::io_context io_;
  Listener listener_;
  asio::signal_set signals_;
  asio::signal_set pause_signals_;   // SIGUSR1 pauses, SIGUSR2 resumes
  asio::steady_timer idle_timer_;
  std::array<LogLimiter, 4> noise_;
  asio::steady_timer noise_timer_;   // armed while lines are being suppressed
  bool noise_timer_armed_ = false;
  std::unique_ptr<asio::posix::stream_descriptor> exit_fd_;
  JobQueue jobs_;
  DataStore data_;   // scattered values, shared by the sessions
  PauseState pause_;   // read by the pool and the sessions
  ServiceStatus service_;   // READY=1 and STATUS= for systemd (Type=notify)
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<discovery::Announcer> announcer_;   // UDP and DNS-SD, as configured
  proto::NodeFacts facts_;   // assembled in run(), the speed once calibrated: HELLO, beacon, TXT
  guest::CpuMeter cpu_;   // own and other processes' CPU: the facts' loads, the busy watch
  std::chrono::steady_clock::time_point started_;
  std::map<uint64_t, std::shared_ptr<Session>> sessions_;
  uint64_t last_session_ = 0;
  uint64_t last_key_ = 0;
  std::chrono::steady_clock::time_point last_activity_;
  bool stopping_ = false;
  int exit_code_ = 0;
  // Last: its thread is joined before anything it posts to may go.
  std::unique_ptr<SpeedCalibration> calibration_;
  std::unique_ptr<guest::BusyWatch> busy_;   // --pause-when-busy
  std::unique_ptr<guest::LogindWatch> user_active_;   // --pause-when-user-active
};

}  // namespace pp::server
