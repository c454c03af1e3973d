// Integration: a real ppserver attacked over loopback TCP — floods of idle
// connections, slow-loris peers, HELLO-only peers, oversized lengths, garbage,
// a wrong secret, a replayed handshake, running out of descriptors. After each
// attack the node must still run a real client's jobs, its descriptors must be
// back to their resting count, its workers must be the same processes, and its
// resident memory must not have grown beyond a generous bound. Deadlines are
// made short through ppserver's options; nothing asserts how long anything took.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "core/proto/constants.hpp"
#include "pp/cluster.hpp"
#include "ppserver/log_limiter.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::RawConnection;
using pp::test::ServerProcess;
using pp::test::wait_until;

constexpr char kSecret[] = "limits-test-secret";
const pp::Code kSquare = pp::Code::lua("function(x) return x * x end");

// How much the node's resident memory may grow over a whole attack. Generous:
// a buffer kept per connection over hundreds of connections would pass it, but
// memory allocated by announced frame lengths (64 MiB here) would not. Under
// AddressSanitizer freed memory sits in a quarantine for a while, so more.
#ifdef PP_TEST_SANITIZED
constexpr long kRssSlackKib = 160 * 1024;
#else
constexpr long kRssSlackKib = 32 * 1024;
#endif
// Descriptors a node may hold beyond its sessions for a moment (a socket being
// refused, a closed session's last frame still leaving).
constexpr int kFdSlack = 8;

std::string frame_of(const pp::proto::Message& m) {
  std::string out;
  pp::proto::encode_frame(m, out);
  return out;
}

pp::proto::Hello client_hello(const std::string& nonce) {
  pp::proto::Hello h;
  h.role = "client";
  h.nonce = nonce;
  h.luajit = "LuaJIT limits-test";
  return h;
}

// Full handshake by hand; true when the node answered AUTH_OK.
bool authenticate(RawConnection& c, const std::string& secret) {
  auto key = pp::proto::derive_key(secret);
  std::string nonce = pp::proto::random_bytes(pp::proto::kNonceSize);
  if (!c.send(client_hello(nonce))) return false;
  auto m = c.receive(20s);
  auto* hello = m ? std::get_if<pp::proto::Hello>(&*m) : nullptr;
  if (hello == nullptr) return false;
  c.send(pp::proto::Auth{pp::proto::client_proof(key, nonce, hello->nonce)});
  auto ok = c.receive(20s);
  return ok && std::holds_alternative<pp::proto::AuthOk>(*ok);
}

// A real client runs jobs on the node; every result must be right.
void check_serves(const ServerProcess& node) {
  pp::ClusterOptions o;
  o.servers = {node.address()};
  o.local_workers = 0;
  o.secret = kSecret;
  o.no_node_timeout = 60s;
  pp::Cluster cluster(o);
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 20; ++i) jobs.push_back(cluster.submit(kSquare, i));
  for (int i = 0; i < 20; ++i) CHECK(jobs[static_cast<size_t>(i)].get<long long>() == 1LL * i * i);
}

// The node's resting state, taken after one real client has come and gone
// (so the workers are up and have run code).
struct Baseline {
  int fds = 0;
  long rss_kib = 0;
  std::vector<pid_t> workers;
};

std::vector<pid_t> workers_of(const ServerProcess& node) {
  auto w = pp::test::children_of(node.pid());
  std::sort(w.begin(), w.end());
  return w;
}

Baseline baseline_of(const ServerProcess& node) {
  check_serves(node);
  // The client's session is closed (its socket too) before this line is logged.
  REQUIRE(node.wait_for_log(" left (", 30s));
  Baseline b;
  b.fds = pp::test::open_fds(node.pid());
  b.rss_kib = pp::test::rss_kib(node.pid());
  b.workers = workers_of(node);
  REQUIRE(b.fds > 0);
  REQUIRE(b.rss_kib > 0);
  REQUIRE(!b.workers.empty());
  return b;
}

// After an attack: no descriptor, worker or memory leaked, and real jobs still run.
void check_recovered(const ServerProcess& node, const Baseline& b,
                     long rss_slack_kib = kRssSlackKib) {
  REQUIRE(node.alive());
  bool fds_back = wait_until([&] { return pp::test::open_fds(node.pid()) == b.fds; }, 60s);
  INFO("descriptors at rest " << b.fds << ", now " << pp::test::open_fds(node.pid()));
  CHECK(fds_back);
  CHECK(workers_of(node) == b.workers);
  long rss = pp::test::rss_kib(node.pid());
  INFO("resident memory at rest " << b.rss_kib << " KiB, now " << rss << " KiB");
  CHECK(rss - b.rss_kib < rss_slack_kib);
  check_serves(node);
  CHECK(workers_of(node) == b.workers);
}

// Stops the node as its owner would (SIGTERM): it must exit cleanly, with no
// sanitizer report (leaks included, in sanitizer builds) in its log.
void check_clean_exit(ServerProcess& node) {
  node.terminate();
  CHECK(node.exit_status() == 0);
  std::string log = node.log();
  for (const char* bad : {"Sanitizer", "runtime error:"}) {
    INFO("node log: " << log.substr(0, 4000));
    CHECK(log.find(bad) == std::string::npos);
  }
}

// Keeps `per_source` idle connections open from each source address, reopening
// those the node closes, until stopped; notes the most descriptors the node held.
class Flood {
 public:
  Flood(const ServerProcess& node, std::vector<std::string> sources, int per_source)
      : port_(node.port()), pid_(node.pid()), sources_(std::move(sources)),
        per_source_(per_source), thread_([this] { run(); }) {}
  ~Flood() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits until at least `n` connections have been made.
  bool wait_opened(long n) { return wait_until([&] { return opened_ >= n; }, 60s); }
  long opened() const { return opened_; }
  int max_node_fds() const { return max_fds_; }

 private:
  void run() {
    std::vector<std::unique_ptr<RawConnection>> conns(sources_.size() *
                                                      static_cast<size_t>(per_source_));
    while (!stop_) {
      for (size_t i = 0; i < conns.size() && !stop_; ++i) {
        if (conns[i] && !conns[i]->peer_closed()) continue;
        conns[i] = std::make_unique<RawConnection>(port_, sources_[i % sources_.size()]);
        if (conns[i]->connected()) ++opened_;
      }
      max_fds_ = std::max(max_fds_.load(), pp::test::open_fds(pid_));
      std::this_thread::sleep_for(100ms);
    }
  }

  uint16_t port_;
  pid_t pid_;
  std::vector<std::string> sources_;
  int per_source_;
  std::atomic<bool> stop_{false};
  std::atomic<long> opened_{0};
  std::atomic<int> max_fds_{0};
  std::thread thread_;
};

std::vector<std::string> loopback_sources(int first, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back("127.0.0." + std::to_string(first + i));
  return out;
}

}  // namespace

TEST_CASE("integration.limits.log_limiter_lets_a_burst_through_then_one_per_interval") {
  using Clock = pp::server::LogLimiter::Clock;
  pp::server::LogLimiter limiter(3, 10s);
  Clock::time_point t0{};
  uint64_t dropped = 99;
  for (int i = 0; i < 3; ++i) CHECK(limiter.allow(t0 + 1s, &dropped));
  CHECK(dropped == 0);
  for (int i = 0; i < 50; ++i) CHECK_FALSE(limiter.allow(t0 + 2s, &dropped));
  CHECK_FALSE(limiter.allow(t0 + 10s, &dropped));  // 9 s after the start: nothing earned yet
  CHECK(limiter.allow(t0 + 11s, &dropped));        // one line earned, saying what was held back
  CHECK(dropped == 51);
  CHECK_FALSE(limiter.allow(t0 + 12s, &dropped));
  // A long quiet spell refills the burst, never more.
  for (int i = 0; i < 3; ++i) CHECK(limiter.allow(t0 + 1h, &dropped));
  CHECK_FALSE(limiter.allow(t0 + 1h, &dropped));
}

TEST_CASE("integration.limits.idle_flood_from_one_host_is_capped_and_cut" * doctest::timeout(170)) {
  ServerProcess node({"-w", "1", "--handshake-timeout", "1", "--max-handshakes-per-address", "4"},
                     kSecret);
  Baseline b = baseline_of(node);
  // Hundreds of idle connections from one host, reopened as the node closes
  // them: four at a time get a session until their deadline, the rest are
  // refused at once, and a client on another host is served meanwhile.
  {
    Flood flood(node, {"127.0.0.2"}, 150);
    REQUIRE(flood.wait_opened(600));
    check_serves(node);
    CHECK(node.wait_for_log("no authentication within 1000 ms", 30s));
    flood.stop();
    INFO("descriptors at rest " << b.fds << ", at most " << flood.max_node_fds());
    CHECK(flood.max_node_fds() <= b.fds + 4 + 1 + kFdSlack);
  }
  CHECK(node.wait_for_log("(--max-handshakes-per-address)", 10s));
  check_recovered(node, b);
  // Hundreds of refusals, yet a handful of lines about them, and a count of the rest.
  CHECK(node.wait_for_log("similar lines suppressed (refused connections)", 30s));
  size_t refusal_lines = node.count_in_log("refusing a connection from");
  INFO("refusal lines: " << refusal_lines);
  CHECK(refusal_lines >= 1);
  CHECK(refusal_lines <= 40);
  check_clean_exit(node);
}

TEST_CASE("integration.limits.idle_flood_from_many_hosts_is_capped_and_cut" *
          doctest::timeout(170)) {
  ServerProcess node({"-w", "1", "--handshake-timeout", "1", "--max-handshakes", "32",
                      "--max-handshakes-per-address", "4"},
                     kSecret);
  Baseline b = baseline_of(node);
  // Three connections from each of a hundred hosts, reopened as the node closes
  // them: at most 32 are authenticating at any time.
  {
    Flood flood(node, loopback_sources(10, 100), 3);
    REQUIRE(flood.wait_opened(1500));
    CHECK(node.wait_for_log("no authentication within 1000 ms", 30s));
    flood.stop();
    INFO("descriptors at rest " << b.fds << ", at most " << flood.max_node_fds());
    CHECK(flood.max_node_fds() <= b.fds + 32 + kFdSlack);
  }
  CHECK(node.wait_for_log("connections already authenticating (--max-handshakes)", 10s));
  check_recovered(node, b);
  CHECK(node.count_in_log("refusing a connection from") <= 40);
  check_clean_exit(node);
}

TEST_CASE("integration.limits.session_cap_refuses_with_a_reason" * doctest::timeout(120)) {
  ServerProcess node({"-w", "1", "--max-sessions", "3"}, kSecret);
  Baseline b = baseline_of(node);
  {
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 3; ++i) {
      held.push_back(std::make_unique<RawConnection>(node.port()));
      REQUIRE(authenticate(*held.back(), kSecret));
    }
    RawConnection extra(node.port());
    auto m = extra.receive(20s);
    REQUIRE(m.has_value());
    auto* err = std::get_if<pp::proto::Error>(&*m);
    REQUIRE(err != nullptr);
    CHECK(err->message.find("node busy") != std::string::npos);
    CHECK(err->message.find("--max-sessions") != std::string::npos);
    CHECK(extra.wait_closed(20s));
    held.pop_back();  // a slot frees up: a new client gets in
    CHECK(wait_until(
        [&] {
          RawConnection again(node.port());
          return authenticate(again, kSecret);
        },
        30s));
  }
  check_recovered(node, b);
  check_clean_exit(node);
}

TEST_CASE("integration.limits.slow_loris_is_cut_at_the_handshake_deadline" * doctest::timeout(120)) {
  ServerProcess node({"-w", "1", "--handshake-timeout", "1"}, kSecret);
  Baseline b = baseline_of(node);
  // Four peers trickle their HELLO, four send it whole and trickle their AUTH,
  // one byte every 300 ms: a full AUTH would take 12 s, a HELLO far longer.
  struct Loris {
    std::unique_ptr<RawConnection> conn;
    std::string rest;
    bool cut = false;
  };
  std::vector<Loris> lorises;
  std::string hello = frame_of(client_hello(pp::proto::random_bytes(pp::proto::kNonceSize)));
  std::string auth = frame_of(pp::proto::Auth{std::string(32, 'p')});
  for (int i = 0; i < 8; ++i) {
    Loris l{std::make_unique<RawConnection>(node.port()), i < 4 ? hello : auth};
    REQUIRE(l.conn->connected());
    if (i >= 4) {
      REQUIRE(l.conn->send_bytes(hello));
      auto reply = l.conn->receive(20s);
      REQUIRE(reply.has_value());
      REQUIRE(std::holds_alternative<pp::proto::Hello>(*reply));
    }
    lorises.push_back(std::move(l));
  }
  for (bool sending = true; sending;) {
    sending = false;
    for (auto& l : lorises) {
      if (l.cut) continue;
      if (l.conn->peer_closed()) {
        l.cut = true;
        continue;
      }
      if (l.rest.empty()) continue;  // sent everything: the node missed its deadline
      l.conn->send_bytes(l.rest.substr(0, 1));
      l.rest.erase(0, 1);
      sending = true;
    }
    std::this_thread::sleep_for(300ms);
  }
  for (auto& l : lorises) {
    CHECK(l.cut);
    CHECK_FALSE(l.rest.empty());
  }
  CHECK(node.wait_for_log("no authentication within 1000 ms", 10s));
  lorises.clear();
  check_recovered(node, b);
  check_clean_exit(node);
}

TEST_CASE("integration.limits.hello_only_clients_are_cut" * doctest::timeout(120)) {
  ServerProcess node({"-w", "1", "--handshake-timeout", "1"}, kSecret);
  Baseline b = baseline_of(node);
  {
    std::vector<std::unique_ptr<RawConnection>> conns;
    for (int i = 0; i < 6; ++i) {
      conns.push_back(std::make_unique<RawConnection>(node.port()));
      REQUIRE(conns.back()->send(client_hello(pp::proto::random_bytes(pp::proto::kNonceSize))));
      auto reply = conns.back()->receive(20s);
      REQUIRE(reply.has_value());
      REQUIRE(std::holds_alternative<pp::proto::Hello>(*reply));
    }
    for (auto& c : conns) {
      // Never AUTH: the node says why, then closes.
      auto m = c->receive(30s);
      REQUIRE(m.has_value());
      auto* err = std::get_if<pp::proto::Error>(&*m);
      REQUIRE(err != nullptr);
      CHECK(err->message.find("no authentication within 1000 ms") != std::string::npos);
      CHECK(c->wait_closed(30s));
    }
  }
  CHECK(node.wait_for_log("no authentication within 1000 ms", 10s));
  check_recovered(node, b);
  check_clean_exit(node);
}

TEST_CASE("integration.limits.oversized_lengths_and_garbage" * doctest::timeout(120)) {
  ServerProcess node({"-w", "1"}, kSecret);
  Baseline b = baseline_of(node);
  // Before authentication anything above 4 KiB is refused from its header.
  for (const char* header : {"\xff\xff\xff\xff", "\x7f\xff\xff\xff", "\x00\x00\x10\x01"}) {
    RawConnection c(node.port());
    REQUIRE(c.send_bytes(std::string(header, 4)));
    CHECK(c.wait_closed(20s));
  }
  CHECK(node.wait_for_log("exceeds the limit of 4,096 bytes", 10s));
  std::mt19937 rng(20240611);
  for (int i = 0; i < 20; ++i) {
    RawConnection c(node.port());
    std::string junk(512, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng() & 0xff);
    c.send_bytes(junk);
    CHECK(c.wait_closed(20s));
  }
  // After authentication: a length at the 64 MiB limit allocates nothing
  // until the bytes arrive, and one above it closes the session.
  {
    RawConnection c(node.port());
    REQUIRE(authenticate(c, kSecret));
    long before = pp::test::rss_kib(node.pid());
    REQUIRE(c.send_bytes(std::string("\x04\x00\x00\x00", 4) + std::string(1024, '\x93')));
    std::this_thread::sleep_for(300ms);
    long after = pp::test::rss_kib(node.pid());
    INFO("resident memory " << before << " KiB before the header, " << after << " KiB after");
    CHECK(after - before < 16 * 1024);
  }
  {
    RawConnection c(node.port());
    REQUIRE(authenticate(c, kSecret));
    REQUIRE(c.send_bytes(std::string("\x04\x00\x00\x01", 4)));
    CHECK(c.wait_closed(20s));
    CHECK(node.wait_for_log("exceeds this node's frame limit of 67,108,864 bytes", 10s));
  }
  check_recovered(node, b);
  check_clean_exit(node);
}

TEST_CASE("integration.limits.wrong_secret_and_replayed_handshake_are_refused" *
          doctest::timeout(120)) {
  ServerProcess node({"-w", "1"}, kSecret);
  Baseline b = baseline_of(node);

  // Record a real client's handshake through a forwarding proxy.
  std::string recorded_up, recorded_down;
  {
    pp::test::RecordingProxy proxy(node.port());
    pp::ClusterOptions o;
    o.servers = {proxy.address()};
    o.local_workers = 0;
    o.secret = kSecret;
    o.no_node_timeout = 60s;
    {
      pp::Cluster cluster(o);
      CHECK(cluster.submit(kSquare, 9).get<int>() == 81);
    }
    recorded_up = proxy.from_client();
    recorded_down = proxy.from_server();
  }
  auto up = pp::test::split_frames(recorded_up);
  auto down = pp::test::split_frames(recorded_down);
  REQUIRE(up.size() >= 2);
  REQUIRE(down.size() >= 2);
  auto first_hello = pp::proto::decode_message(std::string_view(down[0]).substr(4));
  REQUIRE(first_hello.has_value());
  REQUIRE(std::holds_alternative<pp::proto::Hello>(*first_hello));
  auto recorded_auth = pp::proto::decode_message(std::string_view(up[1]).substr(4));
  REQUIRE(recorded_auth.has_value());
  REQUIRE(std::holds_alternative<pp::proto::Auth>(*recorded_auth));

  // Replay the client's HELLO and AUTH, byte for byte, on a new connection: the
  // node's nonce is fresh, so the recorded proof no longer fits.
  {
    RawConnection replay(node.port());
    REQUIRE(replay.send_bytes(up[0]));
    auto hello = replay.receive(20s);
    REQUIRE(hello.has_value());
    REQUIRE(std::holds_alternative<pp::proto::Hello>(*hello));
    CHECK(std::get<pp::proto::Hello>(*hello).nonce !=
          std::get<pp::proto::Hello>(*first_hello).nonce);
    REQUIRE(replay.send_bytes(up[1]));
    auto m = replay.receive(20s);
    REQUIRE(m.has_value());
    auto* err = std::get_if<pp::proto::Error>(&*m);
    REQUIRE(err != nullptr);
    CHECK(err->code == static_cast<uint32_t>(pp::StatusCode::kAuth));
    CHECK(replay.wait_closed(20s));
    CHECK(node.wait_for_log("refusing 127.0.0.1:" + std::to_string(replay.local_port()) +
                                ": authentication failed",
                            10s));
  }
  // Both frames at once (no waiting for the node's HELLO) fare no better.
  {
    RawConnection replay(node.port());
    REQUIRE(replay.send_bytes(up[0] + up[1]));
    CHECK(replay.wait_closed(20s));
    CHECK(node.wait_for_log("refusing 127.0.0.1:" + std::to_string(replay.local_port()) +
                                ": authentication failed",
                            10s));
  }
  // A wrong secret, by hand and from a real client.
  {
    RawConnection wrong(node.port());
    CHECK_FALSE(authenticate(wrong, "not-the-secret"));
    CHECK(wrong.wait_closed(20s));
    CHECK(node.wait_for_log("refusing 127.0.0.1:" + std::to_string(wrong.local_port()) +
                                ": authentication failed",
                            10s));
  }
  {
    pp::ClusterOptions o;
    o.servers = {node.address()};
    o.local_workers = 0;
    o.secret = "not-the-secret";
    o.no_node_timeout = 60s;
    pp::Cluster cluster(o);
    CHECK_THROWS_AS(cluster.submit(kSquare, 3).get<int>(), pp::RemoteError);
  }
  CHECK(node.count_in_log("authentication failed") >= 4);
  check_recovered(node, b);
  check_clean_exit(node);
}

TEST_CASE("integration.limits.a_client_that_never_reads_does_not_keep_its_descriptor" *
          doctest::timeout(150)) {
  ServerProcess node({"-w", "1"}, kSecret);
  Baseline b = baseline_of(node);
  RawConnection c(node.port());
  REQUIRE(authenticate(c, kSecret));
  // 32 MiB of results for a client that never reads them and falls silent: the
  // node drops it after five missed heartbeats, with its results stuck in the
  // socket, and must close the socket anyway instead of waiting forever.
  std::string blob = pp::Code::lua("function() return string.rep('x', 4194304) end").blob();
  std::string hash = pp::proto::code_hash(blob);
  REQUIRE(c.send(pp::proto::CodeMsg{hash, blob}));
  for (uint64_t id = 1; id <= 8; ++id) {
    pp::proto::Submit s;
    s.job_id = id;
    s.hash = hash;
    s.args = "\x90";  // no arguments
    REQUIRE(c.send(s));
  }
  CHECK(node.wait_for_log("client silent", 60s));
  // While `c` is still open, unread. The descriptor is what must come back: its
  // stream's buffers go with it. The allocator may keep the freed 32 MiB of
  // result buffers mapped, so memory gets room for them on top.
  check_recovered(node, b, kRssSlackKib + 64 * 1024);
  check_clean_exit(node);
}

TEST_CASE("integration.limits.out_of_descriptors_backs_off_and_recovers" * doctest::timeout(150)) {
  ServerProcess node({"-w", "1", "--handshake-timeout", "120", "--max-handshakes", "500",
                      "--max-handshakes-per-address", "500"},
                     kSecret);
  Baseline b = baseline_of(node);
  // The calibration thread must have ended first: in sanitizer builds, the first check of
  // a dynamic type (the thread's state, as it is destroyed) probes memory through a pipe,
  // which fails without free descriptors and would be reported as a bad object.
  REQUIRE(node.wait_for_log("(calibrated)", 60s));
  rlimit original{};
  REQUIRE(prlimit(node.pid(), RLIMIT_NOFILE, nullptr, &original) == 0);
  // Room for six more descriptors than the node holds now.
  rlimit tight = original;
  tight.rlim_cur = static_cast<rlim_t>(pp::test::lowest_free_fd(node.pid()) + 6);
  REQUIRE(prlimit(node.pid(), RLIMIT_NOFILE, &tight, nullptr) == 0);
  {
    std::vector<std::unique_ptr<RawConnection>> conns;
    for (int i = 0; i < 40; ++i) conns.push_back(std::make_unique<RawConnection>(node.port()));
    CHECK(node.wait_for_log("Too many open files", 30s));
    // Those the node could not take are closed (well before the 120 s handshake
    // deadline), not left hanging in the backlog.
    auto closed = [&] {
      return std::count_if(conns.begin(), conns.end(), [](auto& c) { return c->peer_closed(); });
    };
    CHECK(wait_until([&] { return closed() >= 40 - 7; }, 60s));
    // Still out of descriptors, more peers arrive: no busy loop meanwhile.
    double cpu_before = pp::test::cpu_seconds(node.pid());
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
      conns.push_back(std::make_unique<RawConnection>(node.port()));
      std::this_thread::sleep_for(100ms);
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = pp::test::cpu_seconds(node.pid()) - cpu_before;
    INFO("node used " << cpu << " s of CPU in " << wall << " s");
    CHECK(cpu < 0.5 * wall);
    CHECK(node.alive());
    REQUIRE(prlimit(node.pid(), RLIMIT_NOFILE, &original, nullptr) == 0);
  }
  check_recovered(node, b);
  CHECK(node.count_in_log("accept failed") <= 20);
  check_clean_exit(node);
}
