// Jobs of different lengths, taken as they finish: pp::as_completed, a wait for the
// first one, a retried job and a cancelled one, from C++.
//
//   as_completed                     # three local workers, no configuration
//   as_completed host1:60000 host2   # nodes on the LAN (secret from ~/.ppcluster/secret)
#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

#include "pp/cluster.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  try {
    pp::ClusterOptions options;
    for (int i = 1; i < argc; ++i) options.servers.emplace_back(argv[i]);
    // Alone, three local workers: the three jobs below run at once.
    if (options.servers.empty()) options.local_workers = 3;
    pp::Cluster cluster(options);
    cluster.wait_for_workers(3, 30s);

    // Sleeps on the node (without using CPU), then returns its argument.
    const pp::Code nap = pp::Code::lua(R"(function(ms)
      local ffi = require 'ffi'
      pcall(ffi.cdef, 'int usleep(unsigned int usec);')
      for _ = 1, ms / 10 do ffi.C.usleep(10000) end
      return ms
    end)");
    std::vector<pp::Job> jobs;
    for (int ms : {600, 100, 300}) jobs.push_back(cluster.submit(nap, ms));
    for (const pp::Job& job : pp::as_completed(jobs)) {
      std::printf("job %llu finished: %d ms on %s\n", static_cast<unsigned long long>(job.id()),
                  job.get<int>(), job.node().c_str());
    }

    // Wait for whichever finishes first, then cancel the other.
    pp::Job slow = cluster.submit(nap, 60000);
    pp::Job quick = cluster.submit({.timeout = 10s, .retries = 2}, nap, 50);
    auto [done, not_done] = cluster.wait({slow, quick}, pp::ReturnWhen::kFirstCompleted);
    std::printf("first of two: %d ms (%d attempt); still %s: the other\n", done.at(0).get<int>(),
                done.at(0).attempts(), pp::to_string(not_done.at(0).status()));
    slow.cancel();
    try {
      slow.get<int>();
    } catch (const pp::RemoteError& e) {
      std::printf("the slow job: %s (%s)\n", pp::to_string(slow.status()), e.kind().c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "as_completed: %s\n", e.what());
    return 1;
  }
}
