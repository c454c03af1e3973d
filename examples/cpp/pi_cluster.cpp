// Monte Carlo pi on a ppcluster from C++: the classic Parallel Python demo.
//
//   pi_cluster                     # local workers, no configuration
//   pi_cluster host1:60000 host2   # nodes on the LAN (secret from ~/.ppcluster/secret)
//
// Each job calls the native kernel through LuaJIT's FFI (module pp.native on the node).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "pp/cluster.hpp"

int main(int argc, char** argv) {
  try {
    pp::ClusterOptions options;
    for (int i = 1; i < argc; ++i) options.servers.emplace_back(argv[i]);
    pp::Cluster cluster(options);

    const pp::Code count_hits = pp::Code::lua(
        "function(samples, seed) return native.mc_pi_hits(samples, seed) end", {},
        {{"native", "pp.native"}});
    const int kJobs = 32;
    const double kSamplesPerJob = 1.25e6;
    std::vector<pp::Job> jobs;
    for (int i = 0; i < kJobs; ++i) jobs.push_back(cluster.submit(count_hits, kSamplesPerJob, i + 1));
    double hits = 0;
    for (const pp::Job& job : jobs) hits += job.get<double>();
    std::printf("pi is about %.6f (%d jobs, %.0f samples)\n",
                4.0 * hits / (kJobs * kSamplesPerJob), kJobs, kJobs * kSamplesPerJob);
    cluster.print_stats();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pi_cluster: %s\n", e.what());
    return 1;
  }
}
