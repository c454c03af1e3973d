// ppclient: runs Lua driver scripts against a ppcluster (`ppclient run script.lua`).
// The script uses `require "pp"`, exactly as under plain luajit.
#include <lua.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/net/bulk_heap.hpp"
#include "core/proto/constants.hpp"
#include "core/util/command_line.hpp"
#include "core/util/host_port.hpp"
#include "core/util/paths.hpp"
#include "core/util/secret.hpp"
#include "ppclient/src/dashboard_address.hpp"
#include "core/util/split.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/lua_module.hpp"
#include "ppclient/src/sigint.hpp"
#include "ppclient/src/stats_main.hpp"
#include "ppclient/src/top_main.hpp"

namespace {

int traceback(lua_State* L) {
  const char* msg = lua_tostring(L, 1);
  if (msg == nullptr) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_isstring(L, -1)) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int run_script(const std::string& script, const std::vector<std::string>& args,
               const pp::client::RunOptions& options) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
  pp::client::set_run_options(L, options);
  std::string prefix = pp::paths::prefix_of(pp::paths::exe_dir());
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  std::string path = pp::paths::lua_path(prefix) + ";" + lua_tostring(L, -1);
  lua_pop(L, 1);
  lua_pushstring(L, path.c_str());
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_pp_core);
  lua_setfield(L, -2, "pp.core");
  lua_pop(L, 2);
  // A script's os.exit closes the Lua state first (LuaJIT's os.exit(code, true)), so its
  // clusters shut down and join their io threads: exit() with an io thread still running
  // races the static destructors.
  luaL_dostring(L, "local exit = os.exit; os.exit = function(code) return exit(code, true) end");
  lua_createtable(L, static_cast<int>(args.size()), 1);
  lua_pushstring(L, script.c_str());
  lua_rawseti(L, -2, 0);
  for (size_t i = 0; i < args.size(); ++i) {
    lua_pushstring(L, args[i].c_str());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
  lua_setglobal(L, "arg");
  lua_pushcfunction(L, traceback);
  int rc = luaL_loadfile(L, script.c_str());
  if (rc == 0) {
    for (const auto& a : args) lua_pushstring(L, a.c_str());
    rc = lua_pcall(L, static_cast<int>(args.size()), 0, 1);
  }
  if (rc != 0) std::fprintf(stderr, "ppclient: %s\n", lua_tostring(L, -1));
  lua_close(L);
  return rc == 0 ? 0 : 1;
}

// Why `ppclient nodes` may list nothing: nodes answer only clients of their own
// cluster, that is, with the same secret.
void explain_no_nodes(bool no_secret, size_t unverified) {
  std::string heard = unverified == 0 ? std::string()
                                      : " (heard " + std::to_string(unverified) + " such node" +
                                            (unverified == 1 ? "" : "s") + ")";
  if (no_secret) {
    std::printf("This client has no secret, so it sees only nodes started without one; nodes "
                "with a secret are ignored%s.\n",
                heard.c_str());
  } else {
    std::printf("Nodes of other clusters (started with another secret) are ignored%s.\n",
                heard.c_str());
  }
  std::printf("Give the cluster's secret with --secret-file FILE; by default clients read %s.\n",
              pp::secret::default_sources().c_str());
}

int list_nodes(double wait_seconds, const std::string& secret_file, uint16_t port) {
  auto secret = pp::secret::resolve("", secret_file, nullptr);
  if (!secret) {
    std::fprintf(stderr, "ppclient: %s\n", secret.status().message().c_str());
    return pp::kExitUsage;
  }
  pp::ClusterOptions opt;
  opt.servers = {"*"};
  opt.local_workers = 0;
  opt.secret = *secret;
  opt.discovery_port = port;
  pp::client::JobServer server(opt, /*lua_bytecode=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(wait_seconds * 1000)));
  auto nodes = server.seen_nodes();
  std::printf("%-20s %-16s %6s %7s %7s %6s %-22s %-16s %-10s %s\n", "host", "address", "port",
              "workers", "speed", "load", "versions (sw/proto/abi)", "found by", "connected",
              "compatible");
  for (const auto& n : nodes) {
    const auto& f = n.facts;
    std::string versions = f.software + "/" + std::to_string(f.protocol) + "/" +
                           std::to_string(f.kernel_abi);
    std::printf("%-20s %-16s %6u %7u %7.1f %6.2f %-22s %-16s %-10s %s\n", f.host.c_str(),
                f.address.c_str(), f.port, f.workers, f.speed, f.load, versions.c_str(),
                n.via.c_str(), n.gone ? "left" : (n.connected ? "yes" : "no"),
                n.compatible ? "yes" : ("no: runs " + n.why_not).c_str());
  }
  if (nodes.empty()) {
    std::printf("(no nodes of this cluster answered within %.1f s)\n", wait_seconds);
    explain_no_nodes(secret->empty(), server.unverified_nodes());
  }
  return 0;
}

// `--report FILE` is written when the batch ends, `--journal FILE` as jobs finish: a
// path that cannot be written is found now, not after the batch. An existing file is
// opened for appending (and left as it is); a new one is created and removed again.
pp::Status check_writable(const std::string& option, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  bool created = false;
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    created = fd >= 0;
  }
  if (fd >= 0) {
    ::close(fd);
    if (created) ::unlink(path.c_str());
    return pp::Status::ok();
  }
  std::string why = std::strerror(errno);
  if (errno == ENOENT) {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    why = "the directory " + dir + " does not exist";
  }
  return pp::Status(pp::StatusCode::kIo, option + " " + path + ": cannot write there: " + why +
                                             "; give a file in a directory you can write");
}

// Numeric options of ppclient (see core/util/number_range.hpp).
constexpr pp::NumberRange kWaitRange{0.1, 600, false, "seconds"};
constexpr pp::NumberRange kPortRange{1, 65535, true, ""};
constexpr pp::NumberRange kLingerRange{0, 86400, false, "seconds"};

// `ppclient run [OPTIONS] SCRIPT [ARGS...]`: ppclient's options come before the
// script's name; the name and everything after it are the script's (CLI11's
// prefix_command), so `ppclient run job.lua -n 5` hands `-n 5` to the script. Each
// option is a field here, a line in add_run and one in run_options (-> RunOptions).
struct RunArgs {
  std::vector<std::string> script_and_args;   // what CLI11 left: SCRIPT [ARGS...]
  std::string secret_file;
  std::string nodes;
  bool discover = false;
  std::string report;
  std::string journal;
  bool no_echo = false;
  bool progress = false, no_progress = false;
  std::string dashboard;
  double dashboard_linger = 0;
};

CLI::App* add_run(CLI::App& app, RunArgs& a) {
  auto* run = app.add_subcommand("run", "run a Lua driver script (it uses require \"pp\"); "
                                        "options go before SCRIPT, whatever follows it is the "
                                        "script's (in `arg` and `...`)");
  run->prefix_command();
  run->add_option("-s,--secret-file", a.secret_file,
                  "file holding the cluster secret, for every cluster of the script");
  run->add_option("--nodes", a.nodes,
                  "comma-separated host[:port] list: the nodes of every cluster of the "
                  "script, instead of the ones it names");
  run->add_flag("--discover", a.discover, "also use every node of the cluster found on the LAN");
  run->add_flag("--no-echo", a.no_echo,
                "do not echo what jobs print (it is still kept: job.stdout)");
  auto* on = run->add_flag("--progress", a.progress,
                           "draw a progress bar on stderr while the script waits for jobs, even "
                           "when stderr is not a terminal");
  run->add_flag("--no-progress", a.no_progress, "no progress bar, even on a terminal")
      ->excludes(on);
  run->add_option("--report", a.report,
                  "write each cluster's contribution report here when it closes "
                  "(.json, .html, .svg, else a text table)");
  auto* dashboard = run->add_option(
      "--dashboard", a.dashboard,
      "serve a live dashboard of the batch at [ADDRESS:]PORT (8787 = 127.0.0.1:8787; any "
      "address but loopback prints a URL with a token, which every request must show)");
  pp::add_number(*run, "--dashboard-linger", a.dashboard_linger, kLingerRange,
                 "after the batch, keep serving its final state this long before exiting")
      ->needs(dashboard);
  run->add_option("--journal", a.journal,
                  "keep finished jobs in this journal file; a rerun runs only what is missing");
  run->footer("SCRIPT [ARGS...]: the driver script and its arguments, after the options.");
  return run;
}

// The script and its arguments: what CLI11 left after ppclient's own options, with
// a leading `--` (the old way to pass options to a script) skipped.
pp::Status split_script(const CLI::App& run, RunArgs& a) {
  a.script_and_args = run.remaining();
  auto& v = a.script_and_args;
  if (!v.empty() && v.front() == "--") v.erase(v.begin());
  if (v.empty()) return pp::Status(pp::StatusCode::kInvalid,
                      "give the script to run: ppclient run [OPTIONS] SCRIPT [ARGS...]");
  if (v.front().size() > 1 && v.front().front() == '-') {
    return pp::Status(pp::StatusCode::kInvalid,
                      v.front() + ": no such option of ppclient run (see ppclient run --help)");
  }
  return pp::Status::ok();
}

// `--nodes a,b:60010`: each address checked now (host, host:port or [v6]:port; "*"
// is every node found on the LAN).
pp::Result<std::vector<std::string>> parse_nodes(const std::string& list) {
  std::vector<std::string> nodes = pp::split_list(list, ',');
  if (nodes.empty()) {
    return pp::Status(pp::StatusCode::kInvalid,
                      "--nodes: give host[:port],... (got '" + list + "')");
  }
  for (const auto& n : nodes) {
    std::string host;
    uint16_t port = pp::proto::kDefaultPort;
    if (n != "*" && !pp::split_host_port(n, host, port)) {
      return pp::Status(pp::StatusCode::kInvalid, "--nodes: '" + n +
                                                      "' is not host, host:port or [v6]:port "
                                                      "(port 1 to 65535)");
    }
  }
  return nodes;
}

// The options of `ppclient run` as the RunOptions every cluster of the script gets,
// each checked now, before the script runs: a bad one is a usage error naming it.
pp::Result<pp::client::RunOptions> run_options(const RunArgs& a) {
  pp::client::RunOptions o;
  o.discover = a.discover;
  o.no_echo = a.no_echo;
  o.report = a.report;
  o.journal = a.journal;
  if (a.progress || a.no_progress) o.progress = a.progress;
  o.dashboard = a.dashboard;
  o.dashboard_linger = a.dashboard_linger;
  if (!a.report.empty()) {
    if (pp::Status st = check_writable("--report", a.report); !st) return st;
  }
  if (!a.journal.empty()) {
    if (pp::Status st = check_writable("--journal", a.journal); !st) return st;
  }
  if (!a.nodes.empty()) {
    auto nodes = parse_nodes(a.nodes);
    if (!nodes) return nodes.status();
    o.nodes = std::move(*nodes);
  }
  if (!a.secret_file.empty()) {
    std::string note;
    auto secret = pp::secret::read_file(a.secret_file, &note);
    if (!secret) {
      return pp::Status(secret.status().code(), "--secret-file: " + secret.status().message());
    }
    if (!note.empty()) std::fprintf(stderr, "ppclient: warning: %s\n", note.c_str());
    std::string weak = pp::secret::weakness(*secret);
    if (!weak.empty()) std::fprintf(stderr, "ppclient: warning: %s\n", weak.c_str());
    o.secret = std::move(*secret);
  }
  return o;
}

// What `ppclient run` does after its options: the script, with Ctrl-C stopping
// the batch (sigint.hpp) and nothing left to race the SIGINT thread's exit.
int run_batch(const CLI::App& run, RunArgs& a) {
  pp::Status st = split_script(run, a);
  auto options = st ? run_options(a) : pp::Result<pp::client::RunOptions>(st);
  if (!options) {
    std::fprintf(stderr, "ppclient run: %s\n", options.status().message().c_str());
    return pp::kExitUsage;
  }
  if (!a.dashboard.empty()) {
    if (auto where = pp::client::parse_dashboard_address(a.dashboard); !where) {
      std::fprintf(stderr, "ppclient run: --dashboard %s\n", where.status().message().c_str());
      return pp::kExitUsage;
    }
  }
  pp::client::install_sigint_handler();
  std::vector<std::string> args(a.script_and_args.begin() + 1, a.script_and_args.end());
  int rc = run_script(a.script_and_args.front(), args, *options);
  if (pp::client::sigint_received()) pp::client::wait_for_sigint_exit();
  return rc;
}

// `ppclient stats REPORT.json... [--report OUT]`.
struct StatsArgs {
  std::vector<std::string> in;
  std::string out;
};

CLI::App* add_stats(CLI::App& app, StatsArgs& a) {
  auto* stats = app.add_subcommand(
      "stats", "show a saved contribution report (JSON), or several side by side per node");
  stats->add_option("reports", a.in, "reports written as .json")->required();
  stats->add_option("--report", a.out,
                    "write it here instead (.html, .svg, .json, text; several: .html or text)");
  return stats;
}

// `ppclient nodes [--wait S] [--secret-file F] [--discovery-port P]`.
struct NodesArgs {
  double wait_seconds = 1.5;
  std::string secret_file;
  uint16_t discovery_port = pp::ClusterOptions{}.discovery_port;
};

CLI::App* add_nodes(CLI::App& app, NodesArgs& a) {
  auto* nodes = app.add_subcommand("nodes", "list the nodes discovery finds on the LAN");
  pp::add_number(*nodes, "--wait", a.wait_seconds, kWaitRange, "seconds to listen")
      ->capture_default_str();
  nodes->add_option("--secret-file", a.secret_file, "file holding the cluster secret");
  pp::add_number(*nodes, "--discovery-port", a.discovery_port, kPortRange,
                 "UDP port of discovery (as the nodes' --discovery-port)")
      ->capture_default_str();
  return nodes;
}

// `ppclient top [--refresh S] [--wait S] [-s|--secret-file F] [--discovery-port P]`.
struct TopArgs {
  double refresh_seconds = 1;
  NodesArgs nodes;   // --wait (not a terminal), --secret-file, --discovery-port
};

CLI::App* add_top(CLI::App& app, TopArgs& a) {
  auto* top = app.add_subcommand(
      "top", "watch the nodes discovery finds on the LAN, live (a table when not a terminal)");
  pp::add_number(*top, "--refresh", a.refresh_seconds, kWaitRange, "seconds between redraws")
      ->capture_default_str();
  pp::add_number(*top, "--wait", a.nodes.wait_seconds, kWaitRange,
                 "seconds to listen when stdout is not a terminal")
      ->capture_default_str();
  top->add_option("-s,--secret-file", a.nodes.secret_file,
                  "file holding the cluster secret (with it, the clients using each node)");
  pp::add_number(*top, "--discovery-port", a.nodes.discovery_port, kPortRange,
                 "UDP port of discovery (as the nodes' --discovery-port)")
      ->capture_default_str();
  return top;
}

int show_top(const TopArgs& a) {
  auto secret = pp::secret::resolve("", a.nodes.secret_file, nullptr);
  if (!secret) {
    std::fprintf(stderr, "ppclient: %s\n", secret.status().message().c_str());
    return pp::kExitUsage;
  }
  pp::client::TopOptions o;
  o.secret = *secret;
  o.discovery_port = a.nodes.discovery_port;
  o.refresh = std::chrono::milliseconds(static_cast<long>(a.refresh_seconds * 1000));
  o.wait = std::chrono::milliseconds(static_cast<long>(a.nodes.wait_seconds * 1000));
  return pp::client::run_top(o);
}

}  // namespace

int main(int argc, char** argv) {
  pp::net::keep_bulk_buffers();   // a driver moves jobs' bulk bytes as the node does
  CLI::App app{"ppclient: run Lua driver scripts on a ppcluster.\n"
               "Exit status: the script's (0, 1 for an error, n after os.exit(n)), "
               "2 usage error, 130 interrupted (Ctrl-C)."};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "print the version and exit");
  RunArgs run_args;
  StatsArgs stats_args;
  NodesArgs nodes_args;
  CLI::App* run = add_run(app, run_args);
  CLI::App* stats = add_stats(app, stats_args);
  CLI::App* nodes = add_nodes(app, nodes_args);
  TopArgs top_args;
  CLI::App* top = add_top(app, top_args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return pp::usage_exit(app, e);
  }
  if (version) {
    std::printf("ppclient %s (protocol %u)\n", pp::proto::kSoftwareVersion,
                pp::proto::kProtocolVersion);
    return 0;
  }
  if (*nodes) {
    return list_nodes(nodes_args.wait_seconds, nodes_args.secret_file, nodes_args.discovery_port);
  }
  if (*stats) return pp::client::run_stats(stats_args.in, stats_args.out);
  if (*top) return show_top(top_args);
  if (!*run) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  return run_batch(*run, run_args);
}
