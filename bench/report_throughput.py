"""The throughput part of the benchmark report (issue 11), for bench/report.py.

Sections: CPU per job of every process and the Lua API (bench/pp_cpu.py beside
multiprocessing.Pool(2)), bulk data and the uneven batch (pp_bench), the
scheduler at 1,000 nodes (sched_sim), launch to first result and memory
(bench/launch.sh, bench/memory.sh when they exist), then the targets table.
`h` is the report module: its loading and formatting helpers are used as is.
"""

import statistics

# The targets (measured, never asserted in tests).
LUA_JOBS_PER_S = 100_000
CPU_US_PER_JOB = 12.0
MAP_JOBS_PER_S = 150_000
RTT_VS_PINGPONG = 2.0
LAUNCH_S = 0.080
BULK_MIB_S = 1024.0
PEAK_RSS_MB = 400.0
SCHED_US_PER_JOB = 2.0
SCHED_MAKESPAN = 1.05
UNEVEN_S = 0.75

CASES = [  # (pp_cpu key prefix, label)
    ("lua_separate", "ppcluster, Lua API, separate `ppserver -w 2`"),
    ("lua_embedded", "ppcluster, Lua API, embedded node (`pp.server{}`)"),
    ("cpp_separate", "ppcluster, C++ `submit` loop / `map`, separate `ppserver -w 2`"),
    ("cpp_embedded", "ppcluster, C++ `submit` loop / `map`, embedded node"),
]


def per_round_ratio(h, a_runs, a_key, b_runs, b_key):
    """Median over rounds of a[key] / b[key], both from the same round."""
    a, b = h.good_by_round(a_runs), h.good_by_round(b_runs)
    vals = [h.ratio(h.num(a[r], a_key), h.num(b[r], b_key)) for r in a if r in b]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def cpu_section(h, res, extras, w):
    cpu_ok = h.good(extras["pp_cpu"])
    mp = res["multiprocessing"]
    n = h.first(cpu_ok, "jobs")
    mp_n = h.first(mp["ok"], "cpu_jobs")
    w("## (d) CPU per job and the Lua API")
    w("")
    w(f"Trivial jobs (`x -> x + 1`) submitted one call at a time, then collected: "
      f"{h.fmt(n) if n else '—'} per case for ppcluster (`bench/pp_cpu.py`; the C++ case runs "
      "them once through a `submit` loop and once through `Cluster::map`), "
      f"{h.fmt(mp_n) if mp_n else '—'} through `Pool.apply_async` for multiprocessing. "
      "CPU is user + system of **every process**, whole (start-up included): the client and "
      "every process it started, reaped by the benchmark (a child subreaper, so workers "
      "are counted even when they outlive their parent), plus the separate node and its "
      "workers from `/proc/<pid>/stat` over the client's run; divided by the jobs run. "
      "The last column divides by multiprocessing's CPU per job **of the same round** "
      "(median over the rounds).")
    w("")
    w("| case | jobs/s (submit loop) | jobs/s (`map`) | CPU µs per job | ÷ multiprocessing CPU |")
    w("| --- | --- | --- | --- | --- |")
    for key, label in CASES:
        r = per_round_ratio(h, extras["pp_cpu"], f"{key}_cpu_us_per_job",
                            mp["runs"], "cpu_us_per_job")
        w(f"| {label} | {h.spread(h.med(cpu_ok, f'{key}_jobs_per_s'), lambda v: h.fmt(v, 0))} | "
          f"{h.spread(h.med(cpu_ok, f'{key}_map_jobs_per_s'), lambda v: h.fmt(v, 0))} | "
          f"{h.spread(h.med(cpu_ok, f'{key}_cpu_us_per_job'))} | {h.fmt_ratio(r)} |")
    w(f"| multiprocessing.Pool(2), `apply_async` loop | "
      f"{h.spread(h.med(mp['ok'], 'cpu_jobs_per_s'), lambda v: h.fmt(v, 0))} | — | "
      f"{h.spread(h.med(mp['ok'], 'cpu_us_per_job'))} | 1.00× |")
    w("")


def data_section(h, res, extras, w):
    pp = res["ppcluster"]["ok"]
    sep = h.good(extras["pp_cpu"])
    w("## (e) Bulk data and uneven jobs")
    w("")
    w("Bulk: 32 jobs, each sent a 2 MiB string that it returns; MiB/s of arguments plus "
      "results through client and node, 2 workers. Uneven: four jobs of 0.6, 0.1, 0.4 and "
      "0.2 s submitted at once to the 2 workers; the makespan (ideal 0.7 s: 0.6 on one "
      "worker, 0.1 + 0.4 + 0.2 on the other), once burning CPU (as the issue states it: "
      "on a busy machine the jobs also wait for a CPU) and once sleeping (what the "
      "placement alone costs, whatever the load). Both nodes run their workers at the "
      "peers' priority (the embedded node at the driver's own; the separate one as "
      "`ppserver -w 2 --nice 0`). The bulk rows are the first batch of a fresh cluster "
      "(whose processes also fault in fresh heaps) and, separate node only, the median of "
      "five batches on one cluster (`pp_bench --bulk 5`): the bulk path's steady rate.")
    w("")
    w("| measurement | embedded node | separate node, nice 0 |")
    w("| --- | --- | --- |")
    w(f"| bulk MiB/s, first batch | {h.spread(h.med(pp, 'bulk_mib_s'))} | "
      f"{h.spread(h.med(sep, 'separate_bulk_mib_s'))} |")
    w(f"| bulk MiB/s, median of 5 batches on one cluster | — | "
      f"{h.spread(h.med(sep, 'separate_bulk_steady_mib_s'))} |")
    w(f"| uneven batch, burning CPU: makespan s | {h.spread(h.med(pp, 'uneven_s'), h.fmt_s)} | "
      f"{h.spread(h.med(sep, 'separate_uneven_s'), h.fmt_s)} |")
    w(f"| uneven batch, sleeping: makespan s | "
      f"{h.spread(h.med(pp, 'uneven_sleep_s'), h.fmt_s)} | "
      f"{h.spread(h.med(sep, 'separate_uneven_sleep_s'), h.fmt_s)} |")
    w("")


def sched_section(h, extras, w, quick):
    ok = h.good(extras["sched_sim"])
    d = ok[0] if ok else {}
    w("## (f) The scheduler at scale (simulated)")
    w("")
    w(f"`sched_sim` (`bench/sched_sim.cpp`): the real `sched::Scheduler` driven by a "
      f"discrete-event cluster ({h.fmt(d.get('nodes')) if d else '—'} nodes of "
      f"{d.get('workers', '—')} workers, speeds log-uniform in "
      f"{d.get('speed_min', '—')}–{d.get('speed_max', '—')}, round trips log-uniform around "
      f"{d.get('rtt_ms', '—')} ms, {h.fmt(d.get('jobs')) if d else '—'} jobs of "
      f"{d.get('work_min', '—')}–{d.get('work_max', '—')} s of work at speed 1, log-uniform; "
      "seed = round). Scheduler CPU: the thread's CPU clock around each client step "
      "(the scheduler calls one simulated event causes), minus the cost of an empty timed "
      "section; the simulator's own work is outside. Ideal: total work over summed speed "
      "(the fluid bound) plus the smallest round trip; no schedule beats it."
      + (" Quick mode: 100,000 jobs, so start-up and tail weigh more; the targets are "
         "for 1,000,000." if quick else ""))
    w("")
    w("| measurement | median (min–max) |")
    w("| --- | --- |")
    for key, label, f in (("sched_us_per_job", "scheduler CPU µs per job", h.fmt),
                          ("process_cpu_us_per_job", "whole simulator CPU µs per job", h.fmt),
                          ("makespan_over_ideal", "makespan ÷ ideal", lambda v: f"{v:.4f}"),
                          ("makespan_s", "makespan, simulated s", h.fmt),
                          ("steals", "steals", h.fmt), ("backups", "backup copies", h.fmt),
                          ("wall_s", "run time, s", h.fmt_s)):
        w(f"| {label} | {h.spread(h.med(ok, key), f)} |")
    w("")


def launch_section(h, res, extras, w):
    mp = res["multiprocessing"]["ok"]
    w("## (g) Launch to first result and memory")
    w("")
    w("multiprocessing: a fresh `python3` that makes `Pool(2)` and prints one result; "
      "seconds from its start to that line (and to its exit). ppcluster's figures come "
      "from `bench/launch.sh` and `bench/memory.sh`, every numeric key they print.")
    w("")
    w("| system | measurement | median (min–max) |")
    w("| --- | --- | --- |")
    w(f"| multiprocessing.Pool(2) | launch to first result, s | "
      f"{h.spread(h.med(mp, 'launch_s'), h.fmt_s)} |")
    w(f"| multiprocessing.Pool(2) | launch to exit, s | "
      f"{h.spread(h.med(mp, 'launch_exit_s'), h.fmt_s)} |")
    for name in ("launch", "memory"):
        ok = h.good(extras[name])
        if not extras[name]:
            w(f"| ppcluster | `bench/{name}.sh` | not run (no such script yet) |")
            continue
        keys = sorted({k for d in ok for k, v in d.items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool)})
        for k in keys:
            w(f"| ppcluster | {name}: `{k}` | {h.spread(h.med(ok, k))} |")
        if not ok:
            w(f"| ppcluster | `bench/{name}.sh` | failed (see *Failed runs*) |")
    w("")


def verdict(value, limit, below=True, applicable=True):
    if value is None:
        return "not measured"
    if not applicable:
        return "n/a (quick mode)"
    met = value <= limit if below else value >= limit
    return "yes" if met else "**no**"


def targets_section(h, res, base, extras, w, quick):
    cpu = h.good(extras["pp_cpu"])
    sim = h.good(extras["sched_sim"])
    pp = res["ppcluster"]["ok"]
    m = lambda ok, k: h.med(ok, k)[0]  # noqa: E731
    lua = m(cpu, "lua_separate_jobs_per_s")
    lua_cpu = m(cpu, "lua_separate_cpu_us_per_job")
    cmap = m(cpu, "cpp_separate_map_jobs_per_s")
    emb = per_round_ratio(h, extras["pp_cpu"], "lua_embedded_jobs_per_s",
                          extras["pp_cpu"], "lua_separate_jobs_per_s")
    pp_runs = res["ppcluster"]["runs"]
    rtt = per_round_ratio(h, pp_runs, "rtt_median_us",
                          [{"round": r, "rc": 0, "data": d} for r, d in base.items()],
                          h.PP_KEY)
    launch = m(h.good(extras["launch"]), "launch_s")
    bulk = m(cpu, "separate_bulk_mib_s")
    bulk_steady = m(cpu, "separate_bulk_steady_mib_s")
    uneven = m(cpu, "separate_uneven_s")
    uneven_sleep = m(cpu, "separate_uneven_sleep_s")
    rss = m(h.good(extras["memory"]), "peak_rss_mb")
    full = not quick

    def v(x, fmt=h.fmt, unit=""):
        return "—" if x is None else f"{fmt(x)}{unit}"

    rows = [
        (f"Lua API, separate node: ≥ {LUA_JOBS_PER_S:,} jobs/s", v(lua, lambda x: h.fmt(x, 0)),
         verdict(lua, LUA_JOBS_PER_S, False, full)),
        (f"CPU per job, every process (Lua, separate node): ≤ {CPU_US_PER_JOB:.0f} µs",
         v(lua_cpu, unit=" µs"), verdict(lua_cpu, CPU_US_PER_JOB, True, full)),
        (f"C++ `map`, separate node: ≥ {MAP_JOBS_PER_S:,} jobs/s", v(cmap, lambda x: h.fmt(x, 0)),
         verdict(cmap, MAP_JOBS_PER_S, False, full)),
        ("embedded node not slower than a separate one (Lua, jobs/s ratio, same round)",
         v(emb, h.fmt_ratio), verdict(emb, 1.0, False, full)),
        (f"round trip ≤ {RTT_VS_PINGPONG:.0f}× the bare ping-pong of the same round",
         v(rtt, h.fmt_ratio), verdict(rtt, RTT_VS_PINGPONG)),
        (f"launch to first result ≤ {LAUNCH_S * 1000:.0f} ms", v(launch, h.fmt_s, " s"),
         verdict(launch, LAUNCH_S)),
        (f"bulk 2 MiB arguments and results ≥ {BULK_MIB_S:,.0f} MiB/s (separate node), "
         "first batch of a fresh cluster", v(bulk, unit=" MiB/s"), verdict(bulk, BULK_MIB_S, False)),
        ("the same, median of 5 batches on one cluster (the steady rate)",
         v(bulk_steady, unit=" MiB/s"), verdict(bulk_steady, BULK_MIB_S, False)),
        (f"1,000,000 jobs at once: driver peak RSS ≤ {PEAK_RSS_MB:.0f} MB", v(rss, unit=" MB"),
         verdict(rss, PEAK_RSS_MB)),
        (f"scheduler, 1,000 nodes, 1,000,000 jobs: ≤ {SCHED_US_PER_JOB:.0f} µs CPU per job",
         v(m(sim, "sched_us_per_job"), unit=" µs"),
         verdict(m(sim, "sched_us_per_job"), SCHED_US_PER_JOB, True, full)),
        (f"the same: makespan within {round((SCHED_MAKESPAN - 1) * 100)} % of the ideal",
         v(m(sim, "makespan_over_ideal"), lambda x: f"{x:.4f}", "×"),
         verdict(m(sim, "makespan_over_ideal"), SCHED_MAKESPAN, True, full)),
        (f"uneven 0.6/0.1/0.4/0.2 CPU-s jobs on 2 workers: ≤ {UNEVEN_S} s (separate node)",
         v(uneven, h.fmt_s, " s"), verdict(uneven, UNEVEN_S)),
        ("the same with sleeping jobs (the placement alone)", v(uneven_sleep, h.fmt_s, " s"),
         verdict(uneven_sleep, UNEVEN_S)),
        ("200 real nodes on loopback, 50 ms jobs: within 10 % of the ideal",
         "—", "not measured by `bench/run.sh`"),
    ]
    w("## Targets of issue 11")
    w("")
    w("Medians over the rounds; ratios are taken within a round first. Quick mode runs "
      "fewer jobs, so the throughput and scale targets are not evaluated there.")
    w("")
    w("| target | measured (median) | met |")
    w("| --- | --- | --- |")
    for row in rows:
        w("| " + " | ".join(row) + " |")
    w("")


def sections(h, args, res, base, extras):
    lines = []
    w = lines.append
    cpu_section(h, res, extras, w)
    data_section(h, res, extras, w)
    sched_section(h, extras, w, args.quick)
    launch_section(h, res, extras, w)
    targets_section(h, res, base, extras, w, args.quick)
    return lines
