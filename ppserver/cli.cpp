#include "ppserver/cli.hpp"

#include <CLI/CLI.hpp>
#include <asio/ip/address.hpp>
#include <cstdio>
#include <thread>

#include "core/proto/auth.hpp"
#include "core/util/log.hpp"
#include "core/util/paths.hpp"
#include "core/util/secret.hpp"

namespace pp::server {
namespace {

bool is_loopback(const std::string& address) {
  asio::error_code ec;
  auto a = asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

Exit new_secret(const std::string& file) {
  std::string path = file.empty() ? secret::default_path() : file;
  if (path.empty()) {
    std::fprintf(stderr, "ppserver: HOME is not set; name a file with --secret-file\n");
    return {1};
  }
  auto r = secret::create(path, proto::random_hex(32));
  if (!r) {
    std::fprintf(stderr, "ppserver: %s\n", r.status().message().c_str());
    return {1};
  }
  std::printf("wrote a new cluster secret to %s (mode 600).\n"
              "Copy this file to the same place on every node and client machine;\n"
              "ppserver and ppclient read it from there by default.\n",
              path.c_str());
  return {0};
}

}  // namespace

Command parse_command_line(int argc, char** argv) {
  CLI::App app{"ppserver: a ppcluster compute node. Runs LuaJIT jobs sent by ppclient drivers."};
  NodeConfig cfg;
  WorkerConfig wcfg;
  std::string secret_value, secret_file;
  double job_timeout = 0;
  int idle = 0;
  bool version = false, make_secret = false, debug = false, quiet = false;
  app.add_option("-w,--workers", cfg.workers, "worker processes (default: number of cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("-p,--port", cfg.port, "TCP port to listen on")->capture_default_str();
  app.add_option("-i,--interface", cfg.address, "address to listen on")->capture_default_str();
  app.add_option("-s,--secret", secret_value, "cluster secret (visible in ps: prefer a file)");
  app.add_option("--secret-file", secret_file, "file holding the cluster secret");
  app.add_flag("-a,--autodiscovery", cfg.autodiscovery,
               "announce this node on the LAN (UDP broadcast and mDNS)");
  app.add_option("-b,--broadcast", cfg.broadcast, "broadcast address for announcements");
  bool no_broadcast = false, no_mdns = false;
  app.add_flag("--no-broadcast", no_broadcast, "with -a: announce through mDNS only");
  app.add_flag("--no-mdns", no_mdns, "with -a: announce by UDP broadcast only");
  app.add_option("--discovery-port", cfg.discovery_port, "UDP port of discovery")
      ->capture_default_str();
  double announce_s = 3.0;
  app.add_option("--announce-interval", announce_s, "seconds between announcements")
      ->capture_default_str();
  app.add_flag("-d,--debug", debug, "debug log");
  app.add_flag("-q,--quiet", quiet, "log warnings and errors only");
  app.add_option("-t,--timeout", idle, "exit after this many idle seconds (0: never)");
  app.add_option("--job-timeout", job_timeout, "longest a job may run, seconds (0: no limit)");
  double job_cpu = 0;
  app.add_option("--job-cpu-limit", job_cpu,
                 "CPU seconds a job may use (0: no limit); checked every 50 ms, then its worker "
                 "is stopped and the job fails with a time-limit error")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--nice", cfg.nice, "niceness of the workers")->capture_default_str();
  app.add_option("--cpu-limit", cfg.cpu_limit,
                 "percent of CPU time each busy worker may use (100: no limit): workers are "
                 "paused and resumed in 100 ms cycles; --job-timeout counts the paused time")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--worker-memory", cfg.worker_memory_mb, "Lua heap limit per worker, MB (0: none)");
  app.add_option("--max-frame", cfg.max_frame, "largest accepted frame, bytes")
      ->capture_default_str();
  app.add_option("--pipeline", cfg.pipeline, "jobs queued ahead in each worker")
      ->check(CLI::Range(1, 64))->capture_default_str();
  app.add_flag("--encrypt", cfg.encrypt,
               "encrypt every session after the handshake (ChaCha20-Poly1305 under keys fresh for "
               "each connection); without it, sessions are encrypted only when a client asks");
  // Limits against hostile or broken peers (docs/protocol.md, "Limits").
  double handshake_s = std::chrono::duration<double>(cfg.handshake_timeout).count();
  app.add_option("--handshake-timeout", handshake_s,
                 "seconds a connection may take to authenticate, however slowly it sends")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--max-sessions", cfg.max_sessions,
                 "client connections at once, authenticated or not; more are refused at once")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--max-handshakes", cfg.max_handshakes,
                 "connections still authenticating at once; more are refused at once")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--max-handshakes-per-address", cfg.max_handshakes_per_source,
                 "connections still authenticating from one IPv4 address (or IPv6 /64)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_flag("--new-secret", make_secret, "write a fresh secret to --secret-file or "
               "~/.ppcluster/secret, then exit");
  app.add_flag("--version", version, "print the version and exit");
  // Internal: worker processes and embedded nodes.
  app.add_option("--worker-fd", wcfg.fd)->group("");
  app.add_option("--worker-index", wcfg.index)->group("");
  app.add_option("--exit-with-fd", cfg.exit_with_fd)->group("");
  app.add_option("--report-fd", cfg.report_fd)->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return Exit{app.exit(e)};
  }
  log::set_debug(debug);
  if (quiet) log::set_min_level(log::Level::kWarn);
  std::string prefix = paths::prefix_of(paths::exe_dir());
  if (wcfg.fd >= 0) {
    wcfg.memory_mb = cfg.worker_memory_mb;
    wcfg.max_frame = cfg.max_frame;   // the node passes its own --max-frame
    wcfg.prefix = prefix;
    return RunWorker{wcfg};
  }
  if (version) {
    std::printf("ppserver %s (protocol %u)\n", proto::kSoftwareVersion, proto::kProtocolVersion);
    return Exit{0};
  }
  if (make_secret) return new_secret(secret_file);
  std::string note;
  auto secret = secret::resolve(secret_value, secret_file, &note);
  if (!secret) {
    std::fprintf(stderr, "ppserver: %s\n", secret.status().message().c_str());
    return Exit{1};
  }
  if (!note.empty()) std::fprintf(stderr, "ppserver: warning: %s\n", note.c_str());
  cfg.secret = *secret;
  if (cfg.secret.empty() && !is_loopback(cfg.address)) {
    std::fprintf(stderr,
                 "ppserver: refusing to serve %s:%u without a secret: anyone who can reach it "
                 "could run code here.\n"
                 "  Create one:  ppserver --new-secret   (writes ~/.ppcluster/secret, mode 600)\n"
                 "  then copy that file to every node and client machine (or use -s, "
                 "--secret-file, PP_SECRET).\n"
                 "  To serve this machine only: ppserver -i 127.0.0.1\n",
                 cfg.address.c_str(), cfg.port);
    return Exit{2};
  }
  if (cfg.workers == 0) cfg.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cfg.idle_exit = std::chrono::seconds(idle);
  cfg.broadcast_on = !no_broadcast;
  cfg.mdns = !no_mdns;
  cfg.announce_interval = std::chrono::milliseconds(static_cast<long long>(announce_s * 1000));
  cfg.job_timeout = std::chrono::milliseconds(static_cast<long long>(job_timeout * 1000));
  cfg.job_cpu_limit = std::chrono::milliseconds(static_cast<long long>(job_cpu * 1000));
  cfg.handshake_timeout = std::chrono::milliseconds(static_cast<long long>(handshake_s * 1000));
  cfg.prefix = prefix;
  return RunNode{cfg};
}

}  // namespace pp::server
