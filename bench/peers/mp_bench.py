#!/usr/bin/python3
"""multiprocessing peer benchmark for ppcluster (see bench/README.md): the
no-network reference.

Starts multiprocessing.Pool(2) (stock python3, fork) and measures

  (a) round trip of a trivial job: apply_async + get, repeat;
  (b) throughput: N apply_async calls in a loop, then get all results; also
      pool.map with an explicit chunk size as extra (jobs10k_map_s);
  (c) Monte Carlo pi, 4e7 samples in 32 jobs (splitmix64 contract, see
      ppbench_common.py), seed of job i = i + 1;
  (d) CPU per job: --cpu-jobs trivial jobs through the apply_async loop, with
      the CPU (user + system) of this process and its pool workers read from
      /proc before and after (cpu_us_per_job, cpu_jobs_per_s);
  (e) launch to first result: a fresh python3 process that makes Pool(2) and
      prints one result; seconds from its start until that line arrives
      (launch_s), and until it has exited (launch_exit_s);

closes the pool and prints one JSON object on stdout.  Logs go to stderr.
Exit codes: 0 ok, 1 error, 4 pi hit count differs from --expect-hits, 124
time limit, 128+N killed by signal N.
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppbench_common as common  # noqa: E402

NAME = "multiprocessing"

LAUNCH_CODE = (
    "import multiprocessing as mp, sys\n"
    "def inc(x):\n"
    "    return x + 1\n"
    "if __name__ == '__main__':\n"
    "    with mp.Pool(2) as p:\n"
    "        print(p.apply(inc, (1,)), flush=True)\n"
)


def _worker_init():
    # Forked after install_guards: a pool worker takes SIGTERM (pool shutdown) plainly.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)


def extra_args(p):
    p.add_argument("--cpu-jobs", type=int, default=None,
                   help="trivial jobs for the CPU-per-job run (default 100000, quick 10000)")
    p.add_argument("--chunksize", type=int, default=100,
                   help="chunk size of pool.map (default 100)")


def launch_to_first_result(timeout):
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH_CODE], stdout=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        first = time.perf_counter() - t0
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if line.strip() != "2" or proc.returncode != 0:
        raise RuntimeError(f"launch test printed {line!r}, exit {proc.returncode}")
    return first, time.perf_counter() - t0


def throughput(pool, n):
    with common.Stopwatch() as sw:
        ars = [pool.apply_async(common.trivial, (i,)) for i in range(n)]
        out = [ar.get() for ar in ars]
    if out != [i + 1 for i in range(n)]:
        raise RuntimeError("wrong results in the throughput test")
    return sw.s


def run_pool(args, result, pool):
    for i in range(args.warmup):
        pool.apply_async(common.trivial, (i,)).get()
    samples = []
    for i in range(args.rtt):
        t = time.perf_counter()
        r = pool.apply_async(common.trivial, (i,)).get()
        samples.append(time.perf_counter() - t)
        if r != i + 1:
            raise RuntimeError(f"trivial({i}) returned {r!r}")
    result.update(common.rtt_stats_us(samples))
    result["rtt_count"] = args.rtt
    result["jobs"] = args.jobs
    result["jobs10k_s"] = round(throughput(pool, args.jobs), 4)
    common.log(NAME, f"{args.jobs} jobs (apply_async loop): {result['jobs10k_s']:.3f} s")
    if not args.no_map:
        with common.Stopwatch() as sw:
            out = pool.map(common.trivial, range(args.jobs), chunksize=args.chunksize)
        if out != [i + 1 for i in range(args.jobs)]:
            raise RuntimeError("wrong results in pool.map")
        result["jobs10k_map_s"] = round(sw.s, 4)
        result["map_chunksize"] = args.chunksize
    cpu0 = common.tree_cpu_seconds(os.getpid())
    secs = throughput(pool, args.cpu_jobs)
    cpu = common.tree_cpu_seconds(os.getpid()) - cpu0
    result["cpu_jobs"] = args.cpu_jobs
    result["cpu_jobs_per_s"] = round(args.cpu_jobs / secs, 1)
    result["cpu_us_per_job"] = round(cpu / args.cpu_jobs * 1e6, 2)
    common.log(NAME, f"{args.cpu_jobs} jobs: {secs:.3f} s, {result['cpu_us_per_job']} us CPU/job")
    per_job = args.pi_samples // args.pi_jobs
    pool.apply(common.pi_job, (1, 1000, args.pi_impl))  # warm
    with common.Stopwatch() as sw:
        ars = [pool.apply_async(common.pi_job, (i + 1, per_job, args.pi_impl))
               for i in range(args.pi_jobs)]
        parts = [ar.get() for ar in ars]
    hits = sum(h for h, _ in parts)
    result["pi_s"] = round(sw.s, 4)
    result["hits"] = hits
    result["pi_impl"] = "+".join(sorted({impl for _, impl in parts}))
    common.log(NAME, f"pi ({result['pi_impl']}): {sw.s:.3f} s, hits {hits}")
    if args.expect_hits is not None and hits != args.expect_hits:
        common.log(NAME, f"ERROR: pi hits {hits} != C reference {args.expect_hits}")
        return 4
    return 0


def run(args, result):
    result["library"] = "multiprocessing"
    result["version"] = "python " + sys.version.split()[0]
    first, whole = launch_to_first_result(args.timeout)
    result["launch_s"] = round(first, 4)
    result["launch_exit_s"] = round(whole, 4)
    common.log(NAME, f"launch to first result {first:.3f} s (exit {whole:.3f} s)")
    t0 = time.perf_counter()
    pool = multiprocessing.Pool(2, initializer=_worker_init)
    try:
        pool.apply(common.have_numpy)
        result["startup_s"] = round(time.perf_counter() - t0, 3)
        result["workers"] = 2
        return run_pool(args, result, pool)
    finally:
        pool.close()
        pool.join()


def main():
    args = common.parse_args("mp_bench.py", extra_args)
    if args.cpu_jobs is None:
        args.cpu_jobs = 10000 if args.quick else 100000
    tmp = common.isolated_env("ppbench-mp-")
    common.install_guards(NAME, args.timeout)
    result = {"system": "multiprocessing", "quick": args.quick}
    rc = 1
    try:
        rc = run(args, result)
    except common.BenchTimeout as e:
        common.log(NAME, f"ERROR: {e}")
        rc = 124
    except common.BenchSignal as e:
        common.log(NAME, f"ERROR: {e}")
        rc = 128 + e.signum
    except Exception as e:  # noqa: BLE001
        common.log(NAME, f"ERROR: {type(e).__name__}: {e}")
        rc = 1
    finally:
        common.disarm_alarm()
        result["leftover_killed"] = common.kill_descendants(NAME, settle=5.0)
        common.remove_tree(tmp)
    result["ok"] = rc == 0
    common.emit(result)
    return rc


if __name__ == "__main__":
    sys.exit(main())
