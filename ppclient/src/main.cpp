// ppclient: runs Lua driver scripts against a ppcluster (`ppclient run script.lua`).
// The script uses `require "pp"`, exactly as under plain luajit.
#include <lua.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/proto/constants.hpp"
#include "core/util/paths.hpp"
#include "core/util/secret.hpp"
#include "ppclient/src/job_server.hpp"

extern "C" int luaopen_pp_core(lua_State* L);

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

int run_script(const std::string& script, const std::vector<std::string>& args) {
  lua_State* L = luaL_newstate();
  luaL_openlibs(L);
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

int list_nodes(double wait_seconds, const std::string& secret_file) {
  auto secret = pp::secret::resolve("", secret_file, nullptr);
  if (!secret) {
    std::fprintf(stderr, "ppclient: %s\n", secret.status().message().c_str());
    return 1;
  }
  pp::ClusterOptions opt;
  opt.servers = {"*"};
  opt.local_workers = 0;
  opt.secret = *secret;
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
  if (nodes.empty()) std::printf("(no nodes of this cluster answered within %.1f s)\n", wait_seconds);
  return 0;
}

// `ppclient stats REPORT.json [--report OUT]`: a saved report as the table, or in
// another format.
int show_stats(const std::string& in, const std::string& out) {
  std::FILE* f = std::fopen(in.c_str(), "rb");
  if (f == nullptr) {
    std::fprintf(stderr, "ppclient stats: cannot open %s: %s\n", in.c_str(), std::strerror(errno));
    return 1;
  }
  std::string text;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  auto rep = pp::client::report::from_json(text);
  if (!rep) {
    std::fprintf(stderr, "ppclient stats: %s is not a ppcluster report: %s\n", in.c_str(),
                 rep.status().message().c_str());
    return 1;
  }
  if (out.empty()) {
    std::fputs(pp::client::report::to_table(*rep).c_str(), stdout);
    return 0;
  }
  pp::Status st = pp::client::report::write_file(*rep, out);
  if (!st) {
    std::fprintf(stderr, "ppclient stats: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ppclient: run Lua driver scripts on a ppcluster."};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "print the version and exit");
  std::string script;
  std::vector<std::string> args;
  auto* run = app.add_subcommand("run", "run a Lua driver script (it uses require \"pp\")");
  run->add_option("script", script, "the script")->required();
  run->add_option("args", args, "arguments for the script (in `arg` and `...`)");
  run->allow_extras(false);
  bool discover = false;
  run->add_flag("--discover", discover, "use every node found on the LAN when the script names none");
  std::string report;
  run->add_option("--report", report,
                  "write each cluster's contribution report here when it closes "
                  "(.json, .html, .svg, else a text table)");
  auto* stats = app.add_subcommand("stats", "show a saved contribution report (JSON)");
  std::string stats_in, stats_out;
  stats->add_option("report", stats_in, "a report written as .json")->required();
  stats->add_option("--report", stats_out, "write it here instead (.html, .svg, .json, text)");
  auto* nodes = app.add_subcommand("nodes", "list the nodes discovery finds on the LAN");
  double wait_seconds = 1.5;
  std::string secret_file;
  nodes->add_option("--wait", wait_seconds, "seconds to listen")->capture_default_str();
  nodes->add_option("--secret-file", secret_file, "file holding the cluster secret");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (version) {
    std::printf("ppclient %s (protocol %u)\n", pp::proto::kSoftwareVersion,
                pp::proto::kProtocolVersion);
    return 0;
  }
  if (*nodes) return list_nodes(wait_seconds, secret_file);
  if (*stats) return show_stats(stats_in, stats_out);
  if (!*run) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  if (discover) setenv("PP_DISCOVER", "1", 1);
  if (!report.empty()) setenv("PP_REPORT", report.c_str(), 1);
  return run_script(script, args);
}
