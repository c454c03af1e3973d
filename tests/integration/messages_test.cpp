// Integration: what the command lines tell a user about secrets and paths.
// `ppclient nodes` says why no node answered (and how many it heard but could
// not use); `--new-secret --secret-file F` says where programs look by default
// and how to point them at F; short secrets are warned about by node and
// client; a secret file others can read is refused beyond loopback;
// `ppclient run --report` with an unwritable path fails before the batch.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::bin_dir;
using pp::test::run_command;
using pp::test::ServerProcess;

constexpr char kSecret[] = "messages-test-secret-0123456789";

// A fresh directory, removed with everything in it at the end of the test; also
// the HOME of the programs run, so no secret of this machine's user is found.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pp-test-dir-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name, const std::string& text, mode_t mode) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

// Runs one of the binaries with HOME at `home` and no PP_SECRET (plus `env`).
pp::test::CommandResult run(const TempDir& home, const std::string& env,
                            const std::string& command) {
  return run_command("env -u PP_SECRET HOME=" + home.path() + " PP_DISCOVERY=broadcast " + env +
                     " timeout 30 " + bin_dir() + "/" + command);
}

bool has(const pp::test::CommandResult& r, const std::string& text) {
  return r.output.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("integration.messages.nodes_without_the_secret_say_why_and_how_many" *
          doctest::timeout(90)) {
  TempDir home;
  // A discovery port of this test's own, so other nodes on this machine do not count.
  std::string port = std::to_string(std::random_device{}() % 10000 + 50000);
  ServerProcess node(
      {"-w", "1", "-a", "--no-mdns", "--discovery-port", port, "--announce-interval", "0.2"},
      kSecret);
  auto none = run(home, "", "ppclient nodes --wait 2 --discovery-port " + port);
  CHECK(none.status == 0);
  CHECK(has(none, "(no nodes of this cluster answered within 2.0 s)"));
  CHECK(has(none,
            "This client has no secret, so it sees only nodes started without one; "
            "nodes with a secret are ignored (heard 1 such node)"));
  CHECK(has(none, "Give the cluster's secret with --secret-file FILE"));
  CHECK(has(none, "PP_SECRET"));
  CHECK(has(none, home.path() + "/.ppcluster/secret"));

  std::string wrong = home.file("wrong", "another-secret-of-another-cluster", 0600);
  auto other =
      run(home, "", "ppclient nodes --wait 2 --discovery-port " + port + " --secret-file " + wrong);
  CHECK(other.status == 0);
  CHECK(has(other,
            "Nodes of other clusters (started with another secret) are ignored "
            "(heard 1 such node)"));
}

TEST_CASE("integration.messages.new_secret_says_where_programs_look" * doctest::timeout(60)) {
  TempDir home;
  std::string f = home.path() + "/cluster.key";
  auto named = run(home, "", "ppserver --new-secret --secret-file " + f);
  CHECK(named.status == 0);
  CHECK(has(named, "wrote a new cluster secret to " + f));
  CHECK(has(named,
            "Nodes and clients do not read it unless told to: by default they read "
            "the PP_SECRET environment variable, else the file " +
                home.path() + "/.ppcluster/secret"));
  CHECK(has(named, "ppserver --secret-file " + f));
  CHECK(has(named, "PP_SECRET=\"$(cat " + f + ")\" ppclient run"));
  CHECK(!has(named, "read it from there by default"));

  auto by_default = run(home, "", "ppserver --new-secret");
  CHECK(by_default.status == 0);
  CHECK(has(by_default, "wrote a new cluster secret to " + home.path() + "/.ppcluster/secret"));
  CHECK(has(by_default, "read it from there by default"));
}

TEST_CASE("integration.messages.short_secret_is_warned_by_node_and_client" * doctest::timeout(90)) {
  TempDir home;
  auto node = run(home, "", "ppserver -i 127.0.0.1 -p 0 -w 1 -t 1 -s x");
  CHECK(node.status == 0);
  CHECK(has(node, "warning: the cluster secret is only 1 byte long"));
  CHECK(has(node, "use at least 16"));
  auto fine = run(home, "", std::string("ppserver -i 127.0.0.1 -p 0 -w 1 -t 1 -s ") + kSecret);
  CHECK(fine.status == 0);
  CHECK(!has(fine, "is only"));

  std::string script = home.file("one.lua",
                                 "local pp = require 'pp'\n"
                                 "local js = pp.server{ ncpus = 1 }\n"
                                 "assert(js:submit(function() return 7 end)() == 7)\n",
                                 0644);
  auto client = run(home, "PP_SECRET=abc", "ppclient run " + script);
  CHECK(client.status == 0);
  CHECK(has(client, "the cluster secret is only 3 bytes long"));
}

TEST_CASE("integration.messages.readable_secret_file_is_refused_beyond_loopback" *
          doctest::timeout(60)) {
  TempDir home;
  std::string world = home.file("world", kSecret, 0644);
  // Refused before it listens (timeout: were it wrongly accepted, it would not stay).
  auto refused = run(home, "", "ppserver -i 0.0.0.0 -p 0 -w 1 -t 1 --secret-file " + world);
  CHECK(refused.status == 2);
  CHECK(has(refused, "refusing to serve 0.0.0.0:0"));
  CHECK(has(refused, "secret file " + world + " has mode 644: every user of this machine"));
  CHECK(has(refused, "chmod 600 " + world));
  CHECK(!has(refused, "listening"));

  std::string group = home.file("group", kSecret, 0640);
  auto by_group = run(home, "", "ppserver -i 0.0.0.0 -p 0 -w 1 -t 1 --secret-file " + group);
  CHECK(by_group.status == 2);
  CHECK(has(by_group, "has mode 640: its group can read it"));

  // On loopback only the machine's own users could connect: a warning, and it serves.
  ServerProcess local({"-w", "1", "--secret-file", world});
  CHECK(local.wait_for_log("warning: secret file " + world + " has mode 644", 5s));
  CHECK(local.alive());
}

TEST_CASE("integration.messages.unwritable_report_path_fails_before_the_batch" *
          doctest::timeout(60)) {
  TempDir home;
  std::string marker = home.path() + "/ran";
  std::string script = home.file("batch.lua", "io.open('" + marker + "', 'w'):close()\n", 0644);
  auto missing_dir = run(home, "", "ppclient run --report /nonexistent-pp-dir/x.json " + script);
  CHECK(missing_dir.status == 2);
  CHECK(has(missing_dir,
            "--report /nonexistent-pp-dir/x.json: cannot write there: the directory "
            "/nonexistent-pp-dir does not exist"));
  auto a_directory = run(home, "", "ppclient run --report " + home.path() + " " + script);
  CHECK(a_directory.status == 2);
  CHECK(has(a_directory, "cannot write there: Is a directory"));
  CHECK(!std::filesystem::exists(marker));  // the script never ran

  auto fine = run(home, "", "ppclient run --report " + home.path() + "/r.json " + script);
  CHECK(fine.status == 0);
  CHECK(std::filesystem::exists(marker));
}
