#!/usr/bin/python3
"""Dask distributed peer benchmark for ppcluster (see bench/README.md).

Starts its own LocalCluster (2 worker processes x 1 thread, all on
127.0.0.1, no dashboard), measures

  (a) round trip of a trivial job: submit one, wait for its result, repeat;
  (b) throughput: submit N trivial jobs one by one (client.submit in a loop),
      then gather all results; also the batched API (client.map) as extra;
  (c) Monte Carlo pi, 4e7 samples in 32 jobs (splitmix64 contract, see
      ppbench_common.py), seed of job i = i + 1;

shuts the cluster down and prints one JSON object on stdout.  Logs go to
stderr.  Exit codes: 0 ok, 1 error, 3 library missing, 4 pi hit count
differs from --expect-hits, 124 time limit, 128+N killed by signal N.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppbench_common as common  # noqa: E402

NAME = "dask"


def run(args, tmp, result, procs):
    try:
        import dask
        import distributed
        from distributed import Client, LocalCluster, wait
    except ImportError as e:
        common.log(NAME, f"ERROR: Dask distributed is not importable ({e}). "
                   "Install the Debian package python3-distributed and run with /usr/bin/python3.")
        return 3
    result["library"] = "distributed"
    result["version"] = distributed.__version__
    result["python"] = sys.version.split()[0]

    dask.config.set({"temporary-directory": tmp})
    cluster = client = None
    try:
        t0 = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            local_directory=tmp,
        )
        client = Client(cluster)
        client.wait_for_workers(2, timeout=120)
        # Import the benchmark module (and numpy, for pi) on every worker
        # before anything is timed.
        numpy_on_workers = client.run(common.have_numpy)
        result["startup_s"] = round(time.perf_counter() - t0, 3)
        result["workers"] = len(numpy_on_workers)
        common.log(NAME, f"cluster up in {result['startup_s']} s: {cluster.scheduler_address}, "
                   f"{len(numpy_on_workers)} workers")
        if args.pi_impl == "numpy" and not all(numpy_on_workers.values()):
            common.log(NAME, "numpy missing on a worker; pi falls back to pure Python")

        # (a) round trip
        for i in range(args.warmup):
            client.submit(common.trivial, i, pure=False).result()
        samples = []
        for i in range(args.rtt):
            t = time.perf_counter()
            r = client.submit(common.trivial, i, pure=False).result()
            samples.append(time.perf_counter() - t)
            if r != i + 1:
                raise RuntimeError(f"trivial({i}) returned {r!r}")
        result.update(common.rtt_stats_us(samples))
        result["rtt_count"] = args.rtt
        common.log(NAME, f"rtt median {result['rtt_median_us']} us, p90 {result['rtt_p90_us']} us")

        # (b) throughput, one submit per job
        with common.Stopwatch() as sw:
            futs = [client.submit(common.trivial, i, pure=False) for i in range(args.jobs)]
            out = client.gather(futs)
        if out != [i + 1 for i in range(args.jobs)]:
            raise RuntimeError("wrong results in the throughput test")
        del futs, out
        result["jobs"] = args.jobs
        result["jobs10k_s"] = round(sw.s, 4)
        common.log(NAME, f"{args.jobs} jobs (submit loop): {sw.s:.3f} s")

        if not args.no_map:
            time.sleep(0.5)  # let the scheduler forget the previous batch
            with common.Stopwatch() as sw:
                futs = client.map(common.trivial, range(args.jobs), pure=False)
                out = client.gather(futs)
            if out != [i + 1 for i in range(args.jobs)]:
                raise RuntimeError("wrong results in the batched throughput test")
            del futs, out
            result["jobs10k_map_s"] = round(sw.s, 4)
            common.log(NAME, f"{args.jobs} jobs (client.map): {sw.s:.3f} s")

        # (c) Monte Carlo pi
        per_job = args.pi_samples // args.pi_jobs
        client.submit(common.pi_job, 1, 1000, args.pi_impl, pure=False).result()  # warm
        time.sleep(0.5)
        with common.Stopwatch() as sw:
            futs = [client.submit(common.pi_job, i + 1, per_job, args.pi_impl, pure=False)
                    for i in range(args.pi_jobs)]
            wait(futs)
            parts = client.gather(futs)
        del futs
        hits = sum(h for h, _ in parts)
        impls = sorted({impl for _, impl in parts})
        result["pi_s"] = round(sw.s, 4)
        result["hits"] = hits
        result["pi"] = 4.0 * hits / args.pi_samples
        result["pi_impl"] = "+".join(impls)
        result["pi_samples"] = args.pi_samples
        result["pi_jobs"] = args.pi_jobs
        common.log(NAME, f"pi ({result['pi_impl']}): {sw.s:.3f} s, hits {hits}")
        if args.expect_hits is not None:
            result["hits_match_reference"] = hits == args.expect_hits
            if hits != args.expect_hits:
                common.log(NAME, f"ERROR: pi hits {hits} != C reference {args.expect_hits}")
                return 4
        return 0
    finally:
        procs.extend(common.snapshot_descendants())
        t = time.perf_counter()
        if client is not None:
            try:
                client.close(timeout=30)
            except Exception as e:  # noqa: BLE001 - best effort shutdown
                common.log(NAME, f"client.close: {e!r}")
        if cluster is not None:
            try:
                cluster.close(timeout=30)
            except Exception as e:  # noqa: BLE001
                common.log(NAME, f"cluster.close: {e!r}")
        result["shutdown_s"] = round(time.perf_counter() - t, 3)


def main():
    args = common.parse_args("dask_bench.py")
    tmp = common.isolated_env("ppbench-dask-")
    common.install_guards(NAME, args.timeout)
    result = {"system": "dask", "quick": args.quick}
    rc = 1
    procs = []  # processes started by the cluster, for the final clean-up check
    try:
        rc = run(args, tmp, result, procs)
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
        t = time.perf_counter()
        result["leftover_killed"] = common.kill_descendants(NAME, known=procs)
        result["cleanup_wait_s"] = round(time.perf_counter() - t, 3)
        common.remove_tree(tmp)
    result["ok"] = rc == 0
    if rc != 3:
        common.emit(result)
    return rc


if __name__ == "__main__":
    sys.exit(main())
