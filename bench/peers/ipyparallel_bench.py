#!/usr/bin/python3
"""IPython Parallel peer benchmark for ppcluster (see bench/README.md).

Starts its own cluster (one controller + 2 engines, all on 127.0.0.1, with a
throw-away profile dir under a temp IPYTHONDIR), uses a load-balanced view
and measures

  (a) round trip of a trivial job: apply_async + get, repeat;
  (b) throughput: N apply_async calls in a loop, then get all results; also
      the batched API (view.map_async) as extra;
  (c) Monte Carlo pi, 4e7 samples in 32 jobs (splitmix64 contract, see
      ppbench_common.py), seed of job i = i + 1;

stops the cluster and prints one JSON object on stdout.  Logs go to stderr.
Exit codes: 0 ok, 1 error, 3 library missing, 4 pi hit count differs from
--expect-hits, 124 time limit, 128+N killed by signal N.
"""

import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ppbench_common as common  # noqa: E402

NAME = "ipyparallel"


def _get_all(ars):
    return [ar.get() for ar in ars]


def run(args, tmp, result, procs):
    try:
        import ipyparallel as ipp
    except ImportError as e:
        common.log(NAME, f"ERROR: IPython Parallel is not importable ({e}). "
                   "Install the Debian package python3-ipyparallel and run with /usr/bin/python3.")
        return 3
    result["library"] = "ipyparallel"
    result["version"] = ipp.__version__
    result["python"] = sys.version.split()[0]

    profile_dir = os.path.join(tmp, "ipython", "profile_ppbench")
    cluster = rc = None
    try:
        t0 = time.perf_counter()
        cluster = ipp.Cluster(
            n=2,
            profile_dir=profile_dir,
            controller_ip="127.0.0.1",
            controller_location="127.0.0.1",
            engine_timeout=120,
            log_level=logging.WARNING,
        )
        rc = cluster.start_and_connect_sync()
        rc.wait_for_engines(2, timeout=120)
        dview = rc[:]
        numpy_on_engines = dview.apply_sync(common.have_numpy)  # imports the module too
        view = rc.load_balanced_view()
        result["startup_s"] = round(time.perf_counter() - t0, 3)
        result["workers"] = len(rc.ids)
        common.log(NAME, f"cluster up in {result['startup_s']} s: engines {rc.ids}")
        if args.pi_impl == "numpy" and not all(numpy_on_engines):
            common.log(NAME, "numpy missing on an engine; pi falls back to pure Python")

        # (a) round trip
        for i in range(args.warmup):
            view.apply_async(common.trivial, i).get()
        samples = []
        for i in range(args.rtt):
            t = time.perf_counter()
            r = view.apply_async(common.trivial, i).get()
            samples.append(time.perf_counter() - t)
            if r != i + 1:
                raise RuntimeError(f"trivial({i}) returned {r!r}")
        result.update(common.rtt_stats_us(samples))
        result["rtt_count"] = args.rtt
        common.log(NAME, f"rtt median {result['rtt_median_us']} us, p90 {result['rtt_p90_us']} us")

        # (b) throughput, one apply_async per job
        with common.Stopwatch() as sw:
            ars = [view.apply_async(common.trivial, i) for i in range(args.jobs)]
            out = _get_all(ars)
        if out != [i + 1 for i in range(args.jobs)]:
            raise RuntimeError("wrong results in the throughput test")
        del ars, out
        result["jobs"] = args.jobs
        result["jobs10k_s"] = round(sw.s, 4)
        common.log(NAME, f"{args.jobs} jobs (apply_async loop): {sw.s:.3f} s")
        rc.purge_everything()  # drop cached results held by the client and hub

        if not args.no_map:
            with common.Stopwatch() as sw:
                out = view.map_async(common.trivial, range(args.jobs)).get()
            if list(out) != [i + 1 for i in range(args.jobs)]:
                raise RuntimeError("wrong results in the batched throughput test")
            del out
            result["jobs10k_map_s"] = round(sw.s, 4)
            common.log(NAME, f"{args.jobs} jobs (view.map_async): {sw.s:.3f} s")
            rc.purge_everything()

        # (c) Monte Carlo pi
        per_job = args.pi_samples // args.pi_jobs
        dview.apply_sync(common.pi_job, 1, 1000, args.pi_impl)  # warm both engines
        with common.Stopwatch() as sw:
            ars = [view.apply_async(common.pi_job, i + 1, per_job, args.pi_impl)
                   for i in range(args.pi_jobs)]
            parts = _get_all(ars)
        del ars
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
        if rc is not None:
            try:
                rc.close()
            except Exception as e:  # noqa: BLE001 - best effort shutdown
                common.log(NAME, f"client.close: {e!r}")
        if cluster is not None:
            try:
                cluster.stop_cluster_sync()
            except Exception as e:  # noqa: BLE001
                common.log(NAME, f"stop_cluster: {e!r}")
        result["shutdown_s"] = round(time.perf_counter() - t, 3)


def main():
    args = common.parse_args("ipyparallel_bench.py")
    tmp = common.isolated_env("ppbench-ipp-")
    common.install_guards(NAME, args.timeout)
    result = {"system": "ipyparallel", "quick": args.quick}
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
