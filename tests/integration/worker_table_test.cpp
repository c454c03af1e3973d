// Integration: the `worker` global inside a job. worker.id and worker.node name
// the worker and its node as the node advertises itself; worker.state lasts
// between the jobs of one client on one worker and is wiped before another
// client's job runs there. Each node here has one worker unless said otherwise.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "pp/cluster.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace std::chrono_literals;
using pp::test::ServerProcess;

constexpr char kSecret[] = "worker-table-test-secret";

pp::ClusterOptions options_for(const ServerProcess& node) {
  return pp::test::client_options({node.address()}, kSecret, 20s);
}

std::string run(pp::Cluster& cluster, const std::string& source) {
  return cluster.submit(pp::Code::lua(source)).get<std::string>();
}

// Counts this job in worker.state and says how many it has seen, and whose.
constexpr char kCount[] = R"(function(who)
  local s = worker.state
  s.n = (s.n or 0) + 1
  s.seen = (s.seen or '') .. who
  return s.n .. ' ' .. s.seen
end)";

int count(pp::Cluster& cluster, const char* who, std::string* seen = nullptr) {
  auto line = cluster.submit(pp::Code::lua(kCount), who).get<std::string>();
  auto space = line.find(' ');
  if (seen) *seen = line.substr(space + 1);
  return std::stoi(line.substr(0, space));
}

}  // namespace

TEST_CASE("integration.worker.id_and_node_name_the_worker" * doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster cluster(options_for(node));
  std::string port = std::to_string(node.port());
  std::string where = run(cluster, "function() return worker.node end");
  CHECK(where.size() > port.size() + 1);
  CHECK(where.substr(where.size() - port.size() - 1) == ":" + port);
  CHECK(run(cluster, "function() return worker.id end") == where + "#1");
  // The table is read-only (its state's contents are not) and pairs sees its fields.
  try {
    cluster.submit(pp::Code::lua("function() worker.id = 'me' end")).get<int>();
    FAIL("replacing worker.id succeeded");
  } catch (const pp::RemoteError& e) {
    CHECK(std::string(e.message()).find("worker.id is kept by the worker") != std::string::npos);
  }
  CHECK(run(cluster, "function() return worker.id end") == where + "#1");
  CHECK(run(cluster, R"(function()
    local keys = {}
    for k in pairs(worker) do keys[#keys + 1] = k end
    table.sort(keys)
    return table.concat(keys, ',')
  end)") == "id,node,state");
}

TEST_CASE("integration.worker.ids_count_the_workers_from_one" * doctest::timeout(90)) {
  ServerProcess node({"-w", "3"}, kSecret);
  pp::Cluster cluster(options_for(node));
  std::string where = run(cluster, "function() return worker.node end");
  // Jobs long enough that all three workers take some.
  auto code = pp::Code::lua(
      "function() local t = os.clock() while os.clock() - t < 0.05 do end return worker.id end");
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 30; ++i) jobs.push_back(cluster.submit(code));
  std::set<std::string> ids;
  for (auto& j : jobs) ids.insert(j.get<std::string>());
  std::set<std::string> possible = {where + "#1", where + "#2", where + "#3"};
  for (const auto& id : ids) CHECK(possible.count(id) == 1);
  CHECK(ids.size() >= 2);
}

TEST_CASE("integration.worker.state_lasts_for_one_client_and_is_wiped_for_another" *
          doctest::timeout(60)) {
  ServerProcess node({"-w", "1"}, kSecret);
  pp::Cluster first(options_for(node));
  pp::Cluster second(options_for(node));
  std::string seen;
  CHECK(count(first, "a") == 1);
  CHECK(count(first, "a") == 2);
  CHECK(count(first, "a", &seen) == 3);
  CHECK(seen == "aaa");
  // Another client's job on the same worker starts from an empty worker.state...
  CHECK(count(second, "b", &seen) == 1);
  CHECK(seen == "b");
  CHECK(count(second, "b") == 2);
  // ...and the first client's earlier state is gone too when it comes back.
  CHECK(count(first, "a", &seen) == 1);
  CHECK(seen == "a");
  // Plain globals still last one job only.
  CHECK(run(first, "function() kept = 1 return tostring(worker.state.n) end") == "1");
  CHECK(run(first, "function() return tostring(kept) end") == "nil");
}
