// pp_bench: ppcluster's side of bench/run.sh, on loopback with 2 local workers.
//
//   pp_bench --json [--quick] [--encrypt]
//   pp_bench --throughput N [--node HOST:PORT] [--encrypt]
//   pp_bench --data [--node HOST:PORT] [--encrypt]
//   pp_bench --bulk ROUNDS [--node HOST:PORT] [--encrypt]
//   pp_bench --rtt N [--node HOST:PORT] [--encrypt]
//
// The first form prints one JSON object: trivial-job round trip (median, p90,
// microseconds), wall time of 10,000 trivial jobs submitted one call at a time then
// collected, the same through Cluster::map, Monte Carlo pi (4e7 samples in 32 jobs, seeds
// 1..32) with the native kernel and with its pure-LuaJIT twin, bulk data (32 jobs each
// sent 2 MiB that return 2 MiB: MiB/s of arguments plus results through client and node),
// and the uneven batch: four jobs of 0.6, 0.1, 0.4 and 0.2 seconds on the 2 workers
// (ideal makespan 0.7 s), burning CPU and sleeping.
// The second form runs only the trivial jobs (N one call at a time, then N through map),
// against the node given (no local workers) or 2 local workers, for bench/run.sh to account
// the CPU of every process involved. The third runs only bulk data and the uneven batch,
// for a node whose workers run at the peers' priority (the embedded node's are niced, so
// on a busy machine its CPU-bound figures measure the machine's load more than ppcluster).
// The fourth runs only the bulk data, ROUNDS times on one cluster, and prints each round's
// MiB/s (for profiling the bulk path alone, and for bench/bulk.sh). The fifth runs only the
// lone job's round trip, N times after 200 to warm up (for strace and perf of that path,
// and for comparing two builds round by round).
// --encrypt runs it all over encrypted sessions.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "core/net/bulk_heap.hpp"
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

const pp::Code& increment() {
  static const pp::Code code = pp::Code::lua("function(x) return x + 1 end");
  return code;
}

struct Rtt {
  double median_us, p90_us;
};

Rtt round_trips(pp::Cluster& cluster, int n) {
  for (int i = 0; i < 200; ++i) cluster.submit(increment(), i).get<int>();  // warm up
  std::vector<double> rtt;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    cluster.submit(increment(), i).get<int>();
    rtt.push_back(seconds_since(t0) * 1e6);
  }
  return {percentile(rtt, 0.5), percentile(rtt, 0.9)};
}

// N jobs submitted one call at a time, then all collected; seconds, or < 0 if wrong.
double submit_loop(pp::Cluster& cluster, int n) {
  auto t0 = Clock::now();
  std::vector<pp::Job> jobs;
  jobs.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) jobs.push_back(cluster.submit(increment(), i));
  long long sum = 0;
  for (auto& j : jobs) sum += j.get<long long>();
  double s = seconds_since(t0);
  return sum == 1LL * n * (n + 1) / 2 ? s : -1;
}

double map_run(pp::Cluster& cluster, int n) {
  std::vector<long long> items(static_cast<size_t>(n));
  std::iota(items.begin(), items.end(), 0LL);
  auto t0 = Clock::now();
  std::vector<long long> out = cluster.map<long long>(increment(), items);
  double s = seconds_since(t0);
  long long sum = std::accumulate(out.begin(), out.end(), 0LL);
  return sum == 1LL * n * (n + 1) / 2 ? s : -1;
}

double pi_run(pp::Cluster& cluster, const pp::Code& code, double& hits) {
  auto t0 = Clock::now();
  std::vector<pp::Job> jobs;
  for (int i = 0; i < 32; ++i) jobs.push_back(cluster.submit(code, 1250000, i + 1));
  hits = 0;
  for (auto& j : jobs) hits += j.get<double>();
  return seconds_since(t0);
}

// 32 jobs, each sent 2 MiB and returning 2 MiB; MiB/s of both directions, < 0 if wrong.
double bulk_run(pp::Cluster& cluster) {
  const pp::Code echo = pp::Code::lua("function(s) return s end");
  const std::string blob(2u << 20, 'x');
  cluster.submit(echo, blob).get<std::string>();  // warm up
  auto t0 = Clock::now();
  std::vector<pp::Job> bulk;
  for (int i = 0; i < 32; ++i) bulk.push_back(cluster.submit(echo, blob));
  for (auto& j : bulk) {
    if (j.get<std::string>().size() != blob.size()) return -1;
  }
  return 2 * 64.0 / seconds_since(t0);
}

// Four jobs of 0.6, 0.1, 0.4 and 0.2 seconds, submitted in that order at once: burning
// CPU (as the issue states it; on a busy machine they wait for a CPU too), or sleeping
// (what the placement alone costs, whatever the machine's load).
double uneven_run(pp::Cluster& cluster, bool sleep) {
  const pp::Code burn = pp::Code::lua(
      sleep ? "function(s) local ffi = require 'ffi' "
              "pcall(ffi.cdef, 'int usleep(unsigned int usec);') "
              "ffi.C.usleep(math.floor(s * 1e6)) return s end"
            : "function(s) local t = os.clock() while os.clock() - t < s do end return s end");
  cluster.submit(burn, 0.01).get<double>();  // code cached on the node
  auto t0 = Clock::now();
  std::vector<pp::Job> jobs;
  for (double s : {0.6, 0.1, 0.4, 0.2}) jobs.push_back(cluster.submit(burn, s));
  for (auto& j : jobs) j.wait();
  return seconds_since(t0);
}

pp::ClusterOptions options(const char* node, bool encrypt) {
  pp::ClusterOptions opt;
  opt.local_workers = node ? 0 : 2;
  if (node) opt.servers = {node};
  opt.encrypt = encrypt;
  return opt;
}

int data_only(const char* node, bool encrypt) {
  pp::Cluster cluster(options(node, encrypt));
  double bulk_mib_s = bulk_run(cluster);
  double uneven_s = uneven_run(cluster, false);
  double uneven_sleep_s = uneven_run(cluster, true);
  if (bulk_mib_s < 0) {
    std::fprintf(stderr, "pp_bench: wrong bulk result\n");
    return 1;
  }
  std::printf("{\"system\": \"ppcluster\", \"node\": \"%s\", \"bulk_mib_s\": %.1f, "
              "\"uneven_s\": %.4f, \"uneven_sleep_s\": %.4f}\n",
              node ? "separate" : "embedded", bulk_mib_s, uneven_s, uneven_sleep_s);
  return 0;
}

int bulk_only(int rounds, const char* node, bool encrypt) {
  pp::Cluster cluster(options(node, encrypt));
  std::printf("{\"system\": \"ppcluster\", \"node\": \"%s\", \"bulk_mib_s\": [",
              node ? "separate" : "embedded");
  for (int i = 0; i < rounds; ++i) {
    double mib_s = bulk_run(cluster);
    if (mib_s < 0) {
      std::fprintf(stderr, "pp_bench: wrong bulk result\n");
      return 1;
    }
    std::printf("%s%.1f", i ? ", " : "", mib_s);
  }
  std::printf("]}\n");
  return 0;
}

int rtt_only(int n, const char* node, bool encrypt) {
  pp::Cluster cluster(options(node, encrypt));
  Rtt rtt = round_trips(cluster, n);
  std::printf("{\"system\": \"ppcluster\", \"node\": \"%s\", \"round_trips\": %d, "
              "\"rtt_median_us\": %.1f, \"rtt_p90_us\": %.1f}\n",
              node ? "separate" : "embedded", n, rtt.median_us, rtt.p90_us);
  return 0;
}

int throughput_only(int n, const char* node, bool encrypt) {
  pp::Cluster cluster(options(node, encrypt));
  cluster.submit(increment(), 1).get<int>();  // connected, code cached
  double loop_s = submit_loop(cluster, n);
  double map_s = map_run(cluster, n);
  if (loop_s < 0 || map_s < 0) {
    std::fprintf(stderr, "pp_bench: wrong results\n");
    return 1;
  }
  std::printf("{\"system\": \"ppcluster\", \"client\": \"cpp\", \"node\": \"%s\", \"jobs\": %d, "
              "\"submit_loop_s\": %.4f, \"map_s\": %.4f}\n",
              node ? "separate" : "embedded", n, loop_s, map_s);
  return 0;
}

int full(bool quick, bool encrypt) {
  const int batch = quick ? 1000 : 10000;
  pp::ClusterOptions opt;
  opt.local_workers = 2;
  opt.encrypt = encrypt;
  pp::Cluster cluster(opt);
  Rtt rtt = round_trips(cluster, quick ? 200 : 2000);
  double batch_s = submit_loop(cluster, batch);
  double map_s = map_run(cluster, batch);
  const pp::Code native = pp::Code::lua(
      "function(n, seed) return native.mc_pi_hits(n, seed) end", {}, {{"native", "pp.native"}});
  const pp::Code pure = pp::Code::lua(
      "function(n, seed) return pure.mc_pi_hits(n, seed) end", {}, {{"pure", "pp.pure"}});
  double hits_native = 0, hits_pure = 0;
  pi_run(cluster, native, hits_native);  // warm up: code cached, kernels loaded
  double pi_native = pi_run(cluster, native, hits_native);
  double pi_pure = pi_run(cluster, pure, hits_pure);
  double bulk_mib_s = bulk_run(cluster);
  double uneven_s = uneven_run(cluster, false);
  double uneven_sleep_s = uneven_run(cluster, true);
  if (batch_s < 0 || map_s < 0 || bulk_mib_s < 0 || hits_native != hits_pure) {
    std::fprintf(stderr, "pp_bench: wrong results\n");
    return 1;
  }
  std::printf(
      "{\"system\": \"ppcluster\", \"encrypt\": %s, \"round_trips\": %d, "
      "\"rtt_median_us\": %.1f, \"rtt_p90_us\": %.1f, \"jobs\": %d, \"jobs10k_s\": %.4f, "
      "\"jobs10k_map_s\": %.4f, \"pi_native_s\": %.4f, \"pi_pure_s\": %.4f, \"hits\": %.0f, "
      "\"bulk_mib_s\": %.1f, \"uneven_s\": %.4f, \"uneven_sleep_s\": %.4f}\n",
      encrypt ? "true" : "false", quick ? 200 : 2000, rtt.median_us, rtt.p90_us, batch, batch_s,
      map_s, pi_native, pi_pure, hits_native, bulk_mib_s, uneven_s, uneven_sleep_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  pp::net::keep_bulk_buffers();   // a program that moves bulk bytes, as the node does
  bool quick = false, encrypt = false, data = false;
  int throughput = 0, bulk = 0, rtt = 0;
  const char* node = nullptr;
  for (int i = 1; i < argc; ++i) {
    quick = quick || std::strcmp(argv[i], "--quick") == 0;
    encrypt = encrypt || std::strcmp(argv[i], "--encrypt") == 0;
    data = data || std::strcmp(argv[i], "--data") == 0;
    if (std::strcmp(argv[i], "--throughput") == 0 && i + 1 < argc) throughput = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--bulk") == 0 && i + 1 < argc) bulk = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--rtt") == 0 && i + 1 < argc) rtt = std::atoi(argv[++i]);
    if (std::strcmp(argv[i], "--node") == 0 && i + 1 < argc) node = argv[++i];
  }
  if (throughput > 0) return throughput_only(throughput, node, encrypt);
  if (bulk > 0) return bulk_only(bulk, node, encrypt);
  if (rtt > 0) return rtt_only(rtt, node, encrypt);
  if (data) return data_only(node, encrypt);
  return full(quick, encrypt);
}
