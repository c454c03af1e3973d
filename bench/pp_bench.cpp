// pp_bench: ppcluster's side of bench/run.sh, on loopback with 2 local workers.
//
//   pp_bench --json [--quick] [--encrypt]
//
// Prints one JSON object: trivial-job round trip (median, p90, microseconds),
// wall time of 10,000 trivial jobs, and Monte Carlo pi (4e7 samples in 32 jobs,
// seeds 1..32) with the native kernel and with its pure-LuaJIT twin, and bulk data:
// 32 jobs each sent 2 MiB that return its length (MiB/s through the client and node).
// --encrypt runs it all over encrypted sessions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "pp/cluster.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

double pi_run(pp::Cluster& cluster, const pp::Code& code, double& hits) {
  auto t0 = Clock::now();
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 32; ++i) jobs.push_back(cluster.submit(code, 1250000, i + 1));
  hits = 0;
  for (auto& j : jobs) hits += j.get<double>();
  return seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, encrypt = false;
  for (int i = 1; i < argc; ++i) {
    quick = quick || std::strcmp(argv[i], "--quick") == 0;
    encrypt = encrypt || std::strcmp(argv[i], "--encrypt") == 0;
  }
  const int round_trips = quick ? 200 : 2000;
  const int batch = quick ? 1000 : 10000;

  pp::ClusterOptions opt;
  opt.local_workers = 2;
  opt.encrypt = encrypt;
  pp::Cluster cluster(opt);
  const pp::Code trivial = pp::Code::lua("function(x) return x end");

  for (int i = 0; i < 200; ++i) cluster.submit(trivial, i).get<int>();  // warm up
  std::vector<double> rtt;
  for (int i = 0; i < round_trips; ++i) {
    auto t0 = Clock::now();
    cluster.submit(trivial, i).get<int>();
    rtt.push_back(seconds_since(t0) * 1e6);
  }

  auto t0 = Clock::now();
  std::vector<pp::Job> jobs;
  jobs.reserve(static_cast<size_t>(batch));
  for (int i = 0; i < batch; ++i) jobs.push_back(cluster.submit(trivial, i));
  long long sum = 0;
  for (auto& j : jobs) sum += j.get<long long>();
  double batch_s = seconds_since(t0);
  if (sum != 1LL * batch * (batch - 1) / 2) {
    std::fprintf(stderr, "pp_bench: wrong results\n");
    return 1;
  }

  const pp::Code native = pp::Code::lua(
      "function(n, seed) return native.mc_pi_hits(n, seed) end", {}, {{"native", "pp.native"}});
  const pp::Code pure = pp::Code::lua(
      "function(n, seed) return pure.mc_pi_hits(n, seed) end", {}, {{"pure", "pp.pure"}});
  double hits_native = 0, hits_pure = 0;
  pi_run(cluster, native, hits_native);  // warm up: code cached, kernels loaded
  double pi_native = pi_run(cluster, native, hits_native);
  double pi_pure = pi_run(cluster, pure, hits_pure);
  if (hits_native != hits_pure) {
    std::fprintf(stderr, "pp_bench: native and pure twins disagree\n");
    return 1;
  }
  const pp::Code length = pp::Code::lua("function(s) return #s end");
  const std::string blob(2u << 20, 'x');
  cluster.submit(length, blob).get<long long>();  // warm up
  auto b0 = Clock::now();
  std::vector<pp::Job> bulk;
  for (int i = 0; i < 32; ++i) bulk.push_back(cluster.submit(length, blob));
  for (auto& j : bulk) {
    if (j.get<long long>() != static_cast<long long>(blob.size())) {
      std::fprintf(stderr, "pp_bench: wrong bulk result\n");
      return 1;
    }
  }
  double bulk_mib_s = 64.0 / seconds_since(b0);
  std::printf(
      "{\"system\": \"ppcluster\", \"encrypt\": %s, \"round_trips\": %d, "
      "\"rtt_median_us\": %.1f, \"rtt_p90_us\": %.1f, \"jobs\": %d, \"jobs10k_s\": %.4f, "
      "\"pi_native_s\": %.4f, \"pi_pure_s\": %.4f, \"hits\": %.0f, \"bulk_mib_s\": %.1f}\n",
      encrypt ? "true" : "false", round_trips, percentile(rtt, 0.5), percentile(rtt, 0.9), batch,
      batch_s, pi_native, pi_pure, hits_native, bulk_mib_s);
  return 0;
}
