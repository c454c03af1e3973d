#include "ppserver/cli.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <asio/ip/address.hpp>
#include <cstdio>
#include <optional>
#include <thread>

#include "core/proto/auth.hpp"
#include "core/proto/frame_cipher.hpp"
#include "core/util/command_line.hpp"
#include "core/util/log.hpp"
#include "core/util/paths.hpp"
#include "core/util/secret.hpp"

namespace pp::server {
namespace {

// The range of every numeric option, in one place: the help text and the error
// messages are made from these rows.
namespace limit {
constexpr NumberRange kWorkers{1, 1024, true, "workers", "one per core"};
constexpr NumberRange kPort{0, 65535, true, ""};
constexpr NumberRange kDiscoveryPort{1, 65535, true, ""};
constexpr NumberRange kAnnounce{0.1, 3600, false, "seconds"};
constexpr NumberRange kIdleExit{1, 31536000, true, "seconds", "never"};          // a year
constexpr NumberRange kJobSeconds{0.01, 2592000, false, "seconds", "no limit"};  // 30 days
constexpr NumberRange kNice{0, 19, true, ""};  // workers never above the node's priority
constexpr NumberRange kCpuLimit{1, 100, true, "percent"};
// A worker's own state and a small job need a few MB of Lua heap; 1 TiB is no limit in
// practice.
constexpr NumberRange kWorkerMemory{16, 1048576, true, "MB", "no limit"};
// The node reads frames of up to --max-frame bytes and hands them to its workers,
// whose streams add the header, a cipher tag and 4 KiB of margin: 1 GiB keeps all
// of that far below the 4-GiB length field. Below 64 KiB ordinary jobs do not fit.
constexpr NumberRange kMaxFrame{65536, 1073741824, true, "bytes"};
static_assert(kMaxFrame.hi + proto::kHeaderSize + proto::FrameCipher::kOverhead + 65536 <
              4294967296.0);
static_assert(kMaxFrame.lo > proto::kMaxHandshakeFrame);
constexpr NumberRange kPauseBusy{1, 100, true, "percent", "off"};
constexpr NumberRange kPauseSeconds{0.5, 86400, false, "seconds"};
// Fractions allowed (0.5: 30 s); below 0.01 (0.6 s) the once-a-second reading decides anyway.
constexpr NumberRange kUserActive{0.01, 1440, false, "minutes"};
constexpr NumberRange kPipeline{1, 64, true, "jobs"};
// Scattered values held for the node's clients, in total (1 TiB is no limit in practice).
constexpr NumberRange kDataCache{1, 1048576, true, "MB"};
constexpr NumberRange kHandshake{0.05, 3600, false, "seconds"};
constexpr NumberRange kConnections{1, 100000, true, "connections"};
// Internal options (worker processes, embedded nodes).
constexpr NumberRange kDescriptor{0, 1048576, true, ""};
constexpr NumberRange kWorkerIndex{0, 1023, true, ""};
}  // namespace limit

// What the command line says, before it becomes a NodeConfig: times in seconds
// as given, where the secret comes from, and flags that are not configuration.
struct Args {
  NodeConfig cfg;
  WorkerConfig worker;
  std::string secret_value, secret_file;
  double pause_grace_s = 10, pause_min_s = 30;
  double user_active_min = 0;
  double idle_s = 0, job_timeout_s = 0, job_cpu_s = 0, announce_s = 3.0;
  double handshake_s = std::chrono::duration<double>(NodeConfig{}.handshake_timeout).count();
  bool version = false, make_secret = false, debug = false, quiet = false;
  bool no_broadcast = false, no_mdns = false;
};

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000 + 0.5));
}

void add_network_options(CLI::App& app, Args& a) {
  add_number(app, "-p,--port", a.cfg.port, limit::kPort, "TCP port to listen on (0: any free port)")
      ->capture_default_str();
  app.add_option("-i,--interface", a.cfg.address, "address (or name) to listen on")
      ->capture_default_str();
  app.add_option("-s,--secret", a.secret_value, "cluster secret (visible in ps: prefer a file)");
  app.add_option("--secret-file", a.secret_file, "file holding the cluster secret");
  app.add_flag("--encrypt", a.cfg.encrypt,
               "encrypt every session after the handshake (ChaCha20-Poly1305 under keys fresh for "
               "each connection); without it, sessions are encrypted only when a client asks");
}

void add_discovery_options(CLI::App& app, Args& a) {
  app.add_flag("-a,--autodiscovery", a.cfg.autodiscovery,
               "announce this node on the LAN (UDP broadcast and mDNS)");
  app.add_option("-b,--broadcast", a.cfg.broadcast, "broadcast address for announcements");
  app.add_flag("--no-broadcast", a.no_broadcast, "with -a: announce through mDNS only");
  app.add_flag("--no-mdns", a.no_mdns, "with -a: announce by UDP broadcast only");
  add_number(app, "--discovery-port", a.cfg.discovery_port, limit::kDiscoveryPort,
             "UDP port of discovery")
      ->capture_default_str();
  add_number(app, "--announce-interval", a.announce_s, limit::kAnnounce,
             "seconds between announcements")
      ->capture_default_str();
}

void add_work_options(CLI::App& app, Args& a) {
  add_number(app, "-w,--workers", a.cfg.workers, limit::kWorkers,
             "worker processes (default: number of cores)");
  add_number(app, "-t,--timeout", a.idle_s, limit::kIdleExit, "exit after this many idle seconds");
  add_number(app, "--job-timeout", a.job_timeout_s, limit::kJobSeconds,
             "longest a job may run, seconds");
  add_number(app, "--job-cpu-limit", a.job_cpu_s, limit::kJobSeconds,
             "CPU seconds a job may use; checked every 50 ms, then its worker is stopped and "
             "the job fails with a time-limit error");
  add_number(app, "--nice", a.cfg.nice, limit::kNice, "niceness of the workers")
      ->capture_default_str();
  add_number(app, "--cpu-limit", a.cfg.cpu_limit, limit::kCpuLimit,
             "percent of CPU time each busy worker may use (100: no limit): workers are "
             "paused and resumed in 100 ms cycles; --job-timeout counts the paused time")
      ->capture_default_str();
  add_number(app, "--worker-memory", a.cfg.worker_memory_mb, limit::kWorkerMemory,
             "Lua heap limit per worker");
  add_number(app, "--pipeline", a.cfg.pipeline, limit::kPipeline,
             "jobs queued ahead in each worker")
      ->capture_default_str();
  add_number(app, "--data-cache", a.cfg.data_cache_mb, limit::kDataCache,
             "scattered values (js:scatter) the node holds for its clients, in total; a value "
             "that does not fit is refused")
      ->capture_default_str();
}

// Limits against hostile or broken peers (docs/protocol.md, "Limits").
void add_guest_options(CLI::App& app, Args& a) {
  add_number(app, "--pause-when-busy", a.cfg.pause_when_busy, limit::kPauseBusy,
             "pause the workers while processes other than this node's use more than this "
             "percent of the machine's CPU (all cores) for --pause-grace seconds; resume once "
             "they stayed below it (less a margin) as long, after --pause-min seconds at least");
  add_number(app, "--pause-grace", a.pause_grace_s, limit::kPauseSeconds,
             "with --pause-when-busy: seconds over the limit before pausing, and below it "
             "before resuming")
      ->capture_default_str();
  add_number(app, "--pause-min", a.pause_min_s, limit::kPauseSeconds,
             "with --pause-when-busy: shortest pause, seconds")
      ->capture_default_str();
  add_number(app, "--pause-when-user-active", a.user_active_min, limit::kUserActive,
             "pause the workers while someone has used this machine's keyboard or mouse in "
             "the last MINUTES, as systemd-logind's idle hint of its sessions says (system "
             "D-Bus, $DBUS_SYSTEM_BUS_ADDRESS); resume once every session was idle that long")
      ->type_name("MINUTES");
}

void add_guard_options(CLI::App& app, Args& a) {
  add_number(app, "--max-frame", a.cfg.max_frame, limit::kMaxFrame,
             "largest frame accepted after authentication (a job's code, arguments, result)")
      ->capture_default_str();
  add_number(app, "--handshake-timeout", a.handshake_s, limit::kHandshake,
             "seconds a connection may take to authenticate, however slowly it sends")
      ->capture_default_str();
  add_number(app, "--max-sessions", a.cfg.max_sessions, limit::kConnections,
             "client connections at once, authenticated or not; more are refused at once")
      ->capture_default_str();
  add_number(app, "--max-handshakes", a.cfg.max_handshakes, limit::kConnections,
             "connections still authenticating at once; more are refused at once")
      ->capture_default_str();
  add_number(app, "--max-handshakes-per-address", a.cfg.max_handshakes_per_source,
             limit::kConnections,
             "connections still authenticating from one IPv4 address (or IPv6 /64)")
      ->capture_default_str();
}

void add_other_options(CLI::App& app, Args& a) {
  app.add_flag("-d,--debug", a.debug, "debug log");
  app.add_flag("-q,--quiet", a.quiet, "log warnings and errors only");
  app.add_flag("--new-secret", a.make_secret,
               "write a fresh secret to --secret-file or ~/.ppcluster/secret, then exit");
  app.add_flag("--version", a.version, "print the version and exit");
  // Internal: worker processes and embedded nodes.
  add_number(app, "--worker-fd", a.worker.fd, limit::kDescriptor, "")->group("");
  add_number(app, "--worker-index", a.worker.index, limit::kWorkerIndex, "")->group("");
  app.add_option("--worker-node", a.worker.node, "")->group("");
  add_number(app, "--exit-with-fd", a.cfg.exit_with_fd, limit::kDescriptor, "")->group("");
  add_number(app, "--report-fd", a.cfg.report_fd, limit::kDescriptor, "")->group("");
}

bool is_loopback(const std::string& address) {
  asio::error_code ec;
  auto a = asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

// -i takes an address or a host name; a name is resolved once, at start, to its
// first IPv4 address (discovery and most clients speak IPv4), else its first IPv6 one.
Result<std::string> resolve_interface(const std::string& given) {
  asio::error_code ec;
  asio::ip::make_address(given, ec);
  if (!ec) return given;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(given.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    return Status(StatusCode::kNotFound,
                  "--interface: cannot use '" + given + "': it is not an IP address, and as a " +
                      "host name: " + gai_strerror(rc) + "; give an address of this machine " +
                      "(127.0.0.1: this machine only, 0.0.0.0: every interface)");
  }
  std::string v4, v6;
  for (addrinfo* i = list; i != nullptr; i = i->ai_next) {
    char host[NI_MAXHOST];
    if (getnameinfo(i->ai_addr, i->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) !=
        0) {
      continue;
    }
    std::string& slot = i->ai_family == AF_INET ? v4 : v6;
    if (slot.empty()) slot = host;
  }
  freeaddrinfo(list);
  if (!v4.empty()) return v4;
  if (!v6.empty()) return v6;
  return Status(StatusCode::kNotFound, "--interface: '" + given + "' has no IP address");
}

Exit new_secret(const std::string& file) {
  std::string def = secret::default_path();
  std::string path = file.empty() ? def : file;
  if (path.empty()) {
    std::fprintf(stderr, "ppserver: HOME is not set; name a file with --secret-file\n");
    return {1};
  }
  auto r = secret::create(path, proto::random_hex(32));
  if (!r) {
    std::fprintf(stderr, "ppserver: %s\n", r.status().message().c_str());
    return {1};
  }
  std::printf("wrote a new cluster secret to %s (mode 600).\n", path.c_str());
  if (path == def) {
    std::printf(
        "Copy this file to the same place on every node and client machine;\n"
        "ppserver and ppclient read it from there by default.\n");
    return {0};
  }
  std::printf(
      "Nodes and clients do not read it unless told to: by default they read %s.\n"
      "Point them at it:\n"
      "  nodes:    ppserver --secret-file %s ...\n"
      "  clients:  PP_SECRET=\"$(cat %s)\" ppclient run script.lua\n"
      "            ppclient nodes --secret-file %s\n"
      "or copy it to %s on every node and client machine.\n",
      secret::default_sources().c_str(), path.c_str(), path.c_str(), path.c_str(),
      def.empty() ? "~/.ppcluster/secret" : def.c_str());
  return {0};
}

// Finds the secret and decides whether the node may serve with it: none, or a
// file others can read, is refused beyond loopback (exit 2); a short one is a warning.
std::optional<Exit> settle_secret(Args& a) {
  std::string file;
  auto secret = secret::resolve(a.secret_value, a.secret_file, nullptr, &file);
  if (!secret) {
    std::fprintf(stderr, "ppserver: %s\n", secret.status().message().c_str());
    return Exit{kExitUsage};
  }
  a.cfg.secret = *secret;
  const bool local = is_loopback(a.cfg.address);
  const std::string where = a.cfg.address + ":" + std::to_string(a.cfg.port);
  if (Status open = file.empty() ? Status::ok() : secret::check_private(file); !open) {
    if (local) {
      std::fprintf(stderr, "ppserver: warning: %s\n", open.message().c_str());
    } else {
      std::fprintf(stderr, "ppserver: refusing to serve %s: %s\n", where.c_str(),
                   open.message().c_str());
      return Exit{kExitUsage};
    }
  }
  if (std::string weak = secret::weakness(a.cfg.secret); !weak.empty()) {
    std::fprintf(stderr, "ppserver: warning: %s\n", weak.c_str());
  }
  if (a.cfg.secret.empty() && !local) {
    std::fprintf(stderr,
                 "ppserver: refusing to serve %s without a secret: anyone who can reach it "
                 "could run code here.\n"
                 "  Create one:  ppserver --new-secret   (writes ~/.ppcluster/secret, mode 600)\n"
                 "  then copy that file to every node and client machine (or use -s, "
                 "--secret-file, PP_SECRET).\n"
                 "  To serve this machine only: ppserver -i 127.0.0.1\n",
                 where.c_str());
    return Exit{kExitUsage};
  }
  return std::nullopt;
}

NodeConfig node_config(Args& a, std::string prefix) {
  NodeConfig cfg = std::move(a.cfg);
  if (cfg.workers == 0) {
    cfg.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  cfg.idle_exit = std::chrono::seconds(static_cast<long long>(a.idle_s));
  cfg.broadcast_on = !a.no_broadcast;
  cfg.mdns = !a.no_mdns;
  cfg.announce_interval = millis(a.announce_s);
  cfg.job_timeout = millis(a.job_timeout_s);
  cfg.job_cpu_limit = millis(a.job_cpu_s);
  cfg.handshake_timeout = millis(a.handshake_s);
  cfg.pause_grace = millis(a.pause_grace_s);
  cfg.pause_min = millis(a.pause_min_s);
  cfg.pause_when_user_active = millis(a.user_active_min * 60);
  cfg.prefix = std::move(prefix);
  return cfg;
}

}  // namespace

Command parse_command_line(int argc, char** argv) {
  CLI::App app{
      "ppserver: a ppcluster compute node. Runs LuaJIT jobs sent by ppclient drivers.\n"
      "Exit status: 0 done, 1 could not start or failed, 2 usage error."};
  Args a;
  add_network_options(app, a);
  add_discovery_options(app, a);
  add_work_options(app, a);
  add_guest_options(app, a);
  add_guard_options(app, a);
  add_other_options(app, a);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return Exit{usage_exit(app, e)};
  }
  log::set_debug(a.debug);
  if (a.quiet) log::set_min_level(log::Level::kWarn);
  std::string prefix = paths::prefix_of(paths::exe_dir());
  if (a.worker.fd >= 0) {
    a.worker.memory_mb = a.cfg.worker_memory_mb;
    a.worker.max_frame = a.cfg.max_frame;   // the node passes its own --max-frame
    a.worker.prefix = prefix;
    return RunWorker{a.worker};
  }
  if (a.version) {
    std::printf("ppserver %s (protocol %u)\n", proto::kSoftwareVersion, proto::kProtocolVersion);
    return Exit{0};
  }
  if (a.make_secret) return new_secret(a.secret_file);
  auto address = resolve_interface(a.cfg.address);
  if (!address) {
    std::fprintf(stderr, "ppserver: %s\n", address.status().message().c_str());
    return Exit{kExitUsage};
  }
  a.cfg.address = *address;
  if (auto refused = settle_secret(a)) return *refused;
  return RunNode{node_config(a, std::move(prefix))};
}

}  // namespace pp::server
