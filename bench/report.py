#!/usr/bin/python3
"""Aggregate the raw results of bench/run.sh into docs/BENCHMARKS.md.

Reads <results>/<system>.<round>.json (+ .rc, .err) for the systems
c_reference, ppcluster, dask, ipyparallel, multiprocessing, the further
measurements of report_throughput.py (pp_cpu, sched_sim, launch, memory) and
the machine baseline pingpong
(bench/pingpong.c); takes the median of every metric over the successful
runs; writes a markdown report with the machine, its bare process ping-pong
per round, one table per measurement, the ratios and the issue's targets for
this slice.  Also prints a short plain-text summary on stdout.  Exit status 3
(report still written) when some system's pi hit count differs from --ref-hits.

The report names no path of this machine: run.sh passes display forms
(relative to the repository root, or <build-dir>), and before writing, any
absolute path of the repository (--root, default: the parent of bench/) is
replaced with "." -- with a warning, as it means a caller passed one -- as
are the build directory outside the repository (<build-dir>), the temp
directory (<tmp>) and the home directory (~).
"""

import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile

import report_throughput

SYSTEMS = [
    ("ppcluster", "ppcluster"),
    ("dask", "Dask distributed"),
    ("ipyparallel", "IPython Parallel"),
    ("multiprocessing", "multiprocessing.Pool(2)"),
    ("c_reference", "plain C, 2 threads"),
]
CLUSTERS = SYSTEMS[:4]                  # the systems that run jobs (not the C reference)
PEERS = ("dask", "ipyparallel", "multiprocessing")

# Further measurements, each its own JSON per round: bench/pp_cpu.py (CPU per job of
# every process, Lua API and C++), bench/sched_sim.cpp, and the scripts run.sh calls
# when they exist (bench/launch.sh, bench/memory.sh).
EXTRAS = ["pp_cpu", "sched_sim", "launch", "memory"]

# The machine baseline (bench/pingpong.c), run every round next to the systems.
BASELINE = "pingpong"
PP_KEY = "pingpong_rtt_us"          # socketpair, median of per-trip time in batches of 100
PP_TCP_KEY = "pingpong_tcp_rtt_us"  # the same over TCP 127.0.0.1 with TCP_NODELAY
PP_SAME_KEY = "pingpong_same_cpu_rtt_us"    # socketpair, both processes pinned to one CPU
PP_CROSS_KEY = "pingpong_cross_cpu_rtt_us"  # socketpair, pinned to two different CPUs

# The targets for this slice.
TARGET_RTT_US = 100.0
TARGET_JOBS10K_S = 0.5
TARGET_PI_VS_C = 1.5


# ----------------------------------------------------------------- loading

def parse_output(text):
    """One JSON object: the whole output, else the last line that parses."""
    text = text.strip()
    if not text:
        return None
    try:
        v = json.loads(text)
        return v if isinstance(v, dict) else None
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                v = json.loads(line)
                if isinstance(v, dict):
                    return v
            except ValueError:
                continue
    return None


def read(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def load_runs(results, system):
    """List of dicts {round, rc, data (or None), err_tail} in round order."""
    runs = []
    for rc_path in glob.glob(os.path.join(results, f"{system}.*.rc")):
        base = rc_path[: -len(".rc")]
        rnd = base.rsplit(".", 1)[1]
        try:
            rc = int(read(rc_path, "1").strip() or "1")
        except ValueError:
            rc = 1
        data = parse_output(read(base + ".json"))
        err = read(base + ".err").strip().splitlines()
        runs.append({"round": int(rnd) if rnd.isdigit() else rnd, "rc": rc,
                     "data": data, "err_tail": err[-3:]})
    runs.sort(key=lambda r: (str(type(r["round"])), r["round"]))
    return runs


def good(runs):
    return [r["data"] for r in runs if r["rc"] == 0 and r["data"] is not None
            and r["data"].get("ok", True) is not False]


def good_by_round(runs):
    """{round: data} of the successful runs."""
    return {r["round"]: r["data"] for r in runs if r["rc"] == 0 and r["data"] is not None
            and r["data"].get("ok", True) is not False}


def num(d, key):
    v = (d or {}).get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def med(datas, key):
    vals = [d[key] for d in datas if isinstance(d.get(key), (int, float))
            and not isinstance(d.get(key), bool)]
    if not vals:
        return None, None, None
    return statistics.median(vals), min(vals), max(vals)


def first(datas, key):
    for d in datas:
        if d.get(key) not in (None, ""):
            return d[key]
    return None


# ----------------------------------------------------------------- machine

def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10,
                              check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    for line in read("/proc/cpuinfo").splitlines():
        if line.lower().startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in sh(["free", "-g"]).splitlines():
        if line.startswith("Mem:"):
            parts = line.split()
            if len(parts) > 1:
                mem = f"{parts[1]} GiB (free -g total)"
    vm = any(line.lower().startswith("flags") and " hypervisor" in line
             for line in read("/proc/cpuinfo").splitlines())
    return {
        "vm": vm,
        "nproc": sh(["nproc"]) or str(os.cpu_count()),
        "cpu": cpu or platform.processor() or "unknown",
        "memory": mem or "unknown",
        "kernel": sh(["uname", "-r"]) or platform.release(),
        "os": _os_name(),
    }


def _os_name():
    for line in read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


# ----------------------------------------------------------------- format

def fmt(v, digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def fmt_s(v):
    """Seconds with about 3-4 significant digits."""
    if v is None:
        return "—"
    if v < 0.1:
        return f"{v:.4f}"
    if v < 10:
        return f"{v:.3f}"
    return f"{v:.1f}"


def spread(m, s_fmt=fmt):
    """'median (min–max)' from the (median, min, max) triple."""
    v, lo, hi = m
    if v is None:
        return "—"
    if lo == hi:
        return s_fmt(v)
    return f"{s_fmt(v)} ({s_fmt(lo)}–{s_fmt(hi)})"


def ratio(num, den):
    if num is None or den is None or den == 0:
        return None
    return num / den


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}×"


def fmt_times(r):
    """A multiple with about 3 significant digits: 6.31×, 42.5×, 1,032×."""
    if r is None:
        return "—"
    if r >= 100:
        return f"{r:,.0f}×"
    return f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


# ----------------------------------------------------------------- report

def build(args):
    res = {}
    for key, label in SYSTEMS:
        runs = load_runs(args.results, key)
        res[key] = {"label": label, "runs": runs, "ok": good(runs)}
    base_runs = load_runs(args.results, BASELINE)
    base = good_by_round(base_runs)
    pp_missing = os.path.exists(os.path.join(args.results, "ppcluster.missing"))
    m = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    quick = args.quick
    jobs_default = 1000 if quick else 10000

    def status(key):
        r = res[key]
        n_ok, n = len(r["ok"]), len(r["runs"])
        if key == "ppcluster" and n == 0:
            return "not run: pp_bench not built" if pp_missing else "not run"
        return f"{n_ok}/{n} ok"

    def jobs_n(key):
        n = first(res[key]["ok"], "jobs")
        return int(n) if isinstance(n, (int, float)) else jobs_default

    lines = []
    w = lines.append
    w("# ppcluster benchmarks")
    w("")
    w("Generated by `bench/run.sh` (medians written by `bench/report.py`); see "
      "`bench/README.md` for what each number means.")
    w("")
    w(f"- Command: `{args.command}`" + (" (quick mode)" if quick else ""))
    w(f"- Date: {now}")
    w(f"- Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['memory']}, "
      f"kernel {m['kernel']}, {m['os']}" + (" (virtual machine)" if m["vm"] else ""))
    w(f"- Every system was run {args.repeat} time(s), interleaved round by round; "
      "each cell is the **median over the successful runs**, with (min–max) when "
      "the runs differ. All traffic on 127.0.0.1; 2 workers for every system.")
    if quick:
        w(f"- Quick mode: fewer round trips and {jobs_default:,} instead of 10,000 "
          "trivial jobs; the throughput target is not evaluated.")
    loads = []
    for path in glob.glob(os.path.join(args.results, "*.load")):
        try:
            loads.append(float(read(path).split()[0]))
        except (ValueError, IndexError):
            pass
    if loads:
        w(f"- 1-minute load average just before each run: median {statistics.median(loads):.2f} "
          f"(min {min(loads):.2f}, max {max(loads):.2f}) on {m['nproc']} CPUs; anything well "
          "above the benchmark's own load means other work shared the machine.")
    w("")

    # versions / status
    w("## Systems")
    w("")
    w("| system | version | runs | notes |")
    w("| --- | --- | --- | --- |")
    for key, label in SYSTEMS:
        ok = res[key]["ok"]
        ver = first(ok, "version") or "—"
        notes = []
        if key == "ppcluster":
            notes.append(f"`{args.pp_bench} --json" + (" --quick`" if quick else "`"))
        elif key == "c_reference":
            ver = "cc " + (sh(["cc", "-dumpfullversion"]) or sh(["cc", "-dumpversion"]) or "?")
            notes.append("`bench/pi_reference.c`, -O2 -ffp-contract=off, 2 pthreads")
        else:
            impl = first(ok, "pi_impl")
            if impl:
                notes.append(f"pi on the workers in {impl}"
                             + (" (vectorised uint64, same PRNG)" if impl == "numpy" else
                                " (pure Python: very slow)"))
            st = med(ok, "startup_s")
            if st[0] is not None:
                notes.append(f"cluster start-up {st[0]:.1f} s (not timed)")
            if key == "multiprocessing":
                notes.append("stock python3, fork, no network: the reference without one")
                cs = first(ok, "map_chunksize")
                if cs:
                    notes.append(f"`Pool.map` chunk size {cs}")
        w(f"| {label} | {ver} | {status(key)} | {'; '.join(notes)} |")
    w("")

    # machine baseline
    cpus = (f"a virtual machine with {m['nproc']} vCPUs" if m["vm"]
            else f"{m['nproc']} CPUs")
    w("## Machine baseline")
    w("")
    w(f"How long waking another process takes varies a lot over time on this machine "
      f"({cpus}), so a round-trip time means something only next to a baseline measured "
      "in the same round: a ppcluster round trip crosses 6 wake-ups (user thread → client "
      "io thread → node process → worker process and back), 4 of them between processes, "
      "and `bench/pingpong.c`, run right before `pp_bench` in every round, measures the "
      "bare cost: one byte bounced between two processes, 2 cross-process wake-ups per "
      "round trip.")
    w("")
    n_it = first(list(base.values()), "iters")
    n_b = first(list(base.values()), "batch")
    w(f"Each cell: {fmt(n_it) if n_it else '—'} one-byte round trips after a warm-up, the "
      f"median per-trip time over batches of {fmt(n_b) if n_b else '—'}, in µs; socketpair "
      "= two AF_UNIX socketpairs, TCP = one connection over 127.0.0.1 with TCP_NODELAY. "
      "*Unpinned* leaves the placement to the scheduler, as for the systems measured; the "
      "pinned runs put both processes on one CPU (a wake-up is a context switch) or on "
      "two CPUs (every wake-up crosses CPUs), and the unpinned number falls between them, "
      "depending on where the scheduler had the two processes during the run (the share "
      "row: unpinned round trips slower than the geometric mean of the two pinned ones)."
      + ("" if base_runs else " **The ping-pong did not run.**"))
    w("")
    pp_by_round = good_by_round(res["ppcluster"]["runs"])
    rounds = sorted({r["round"] for r in base_runs} | set(pp_by_round),
                    key=lambda x: (str(type(x)), x))
    failed_rounds = {r["round"] for r in base_runs} - set(base)

    def pct(v):
        return "—" if v is None else f"{100 * v:.0f} %"

    # (label, per-round value, formatter); a failed ping-pong run shows as
    # "failed" in its own rows (the ones starting with "socketpair" / "TCP")
    def bkey(key):
        return lambda rnd: num(base.get(rnd), key)

    def pp_ratio(key):
        return lambda rnd: ratio(num(pp_by_round.get(rnd), "rtt_median_us"),
                                 num(base.get(rnd), key))

    rows = [
        ("socketpair, unpinned", bkey(PP_KEY), fmt),
        ("socketpair, unpinned: share of trips at two-CPU speed",
         bkey("pingpong_cross_share"), pct),
        ("socketpair, both on one CPU", bkey(PP_SAME_KEY), fmt),
        ("socketpair, on two CPUs", bkey(PP_CROSS_KEY), fmt),
        ("TCP 127.0.0.1, unpinned", bkey(PP_TCP_KEY), fmt),
        ("TCP 127.0.0.1, both on one CPU", bkey("pingpong_tcp_same_cpu_rtt_us"), fmt),
        ("TCP 127.0.0.1, on two CPUs", bkey("pingpong_tcp_cross_cpu_rtt_us"), fmt),
        ("ppcluster round trip (median)", lambda rnd: num(pp_by_round.get(rnd),
                                                          "rtt_median_us"), fmt),
        ("ppcluster ÷ socketpair, unpinned", pp_ratio(PP_KEY), fmt_ratio),
        ("ppcluster ÷ socketpair on two CPUs", pp_ratio(PP_CROSS_KEY), fmt_ratio),
    ]
    with_median = len(rounds) > 1
    w("| µs per round trip | " + " | ".join(f"round {r}" for r in rounds)
      + (" | median of the rounds |" if with_median else " |"))
    w("| --- |" + " --- |" * (len(rounds) + (1 if with_median else 0)))
    for label, get, f in rows:
        vals = [get(rnd) for rnd in rounds]
        cells = ["failed" if v is None and rnd in failed_rounds and label.startswith(("s", "T"))
                 else f(v) for rnd, v in zip(rounds, vals)]
        known = [v for v in vals if v is not None]
        if with_median:
            cells.append(f(statistics.median(known)) if known else "—")
        w(f"| {label} | " + " | ".join(cells) + " |")
    w("")

    # (a) latency
    w("## (a) Round trip of a trivial job")
    w("")
    w("Submit one trivial job, wait for its result, repeat (after a warm-up); "
      "median and p90 (nearest rank) in microseconds. The last two columns divide the "
      "system's median by the median bare socketpair ping-pong of the same rounds "
      "(see *Machine baseline*), unpinned and on two CPUs: how many bare "
      "process-to-process round trips one job's round trip costs on this machine "
      "at the time.")
    w("")
    w("| system | round trips | median µs | p90 µs | ÷ bare process ping-pong "
      "| ÷ ping-pong on two CPUs |")
    w("| --- | --- | --- | --- | --- | --- |")
    for key, label in CLUSTERS:
        ok = res[key]["ok"]
        count = first(ok, "rtt_count") or first(ok, "round_trips")
        by_r = good_by_round(res[key]["runs"])

        def norm(bkey):
            # the system's median over the rounds where both it and the baseline
            # ran, over the baseline's median over those same rounds
            both = [r for r in by_r if r in base and num(by_r[r], "rtt_median_us") is not None
                    and num(base[r], bkey) is not None]
            if not both:
                return None
            return ratio(statistics.median(by_r[r]["rtt_median_us"] for r in both),
                         statistics.median(base[r][bkey] for r in both))

        w(f"| {label} | {fmt(count)} | {spread(med(ok, 'rtt_median_us'))} | "
          f"{spread(med(ok, 'rtt_p90_us'))} | {fmt_times(norm(PP_KEY))} | "
          f"{fmt_times(norm(PP_CROSS_KEY))} |")
    w("")

    # (b) throughput
    w("## (b) Throughput of trivial jobs")
    w("")
    w("Wall time to submit the jobs one call at a time and collect all results, in "
      "seconds. The last column is the same work through the batched API "
      "(`Cluster::map`, `client.map`, `view.map_async`, `Pool.map` with the chunk size "
      "shown in *Systems*).")
    w("")
    w("| system | jobs | submit + collect s | jobs/s | batched API s |")
    w("| --- | --- | --- | --- | --- |")
    for key, label in CLUSTERS:
        ok = res[key]["ok"]
        t = med(ok, "jobs10k_s")
        rate = None if not t[0] else jobs_n(key) / t[0]
        w(f"| {label} | {fmt(jobs_n(key)) if ok else '—'} | {spread(t, fmt_s)} | "
          f"{fmt(rate, 0)} | {spread(med(ok, 'jobs10k_map_s'), fmt_s)} |")
    w("")

    # (c) pi
    w("## (c) Monte Carlo pi, 4e7 samples in 32 jobs")
    w("")
    w("splitmix64, job i (0-based) has seed i + 1 and 1,250,000 samples; every "
      "implementation must reproduce the C reference's hit count exactly.")
    w("")
    w("| system | implementation | wall s | hits | matches C |")
    w("| --- | --- | --- | --- | --- |")
    ref_hits = args.ref_hits

    def hits_cell(ok, key="hits"):
        h = first(ok, key)
        if h is None:
            return "—", "—"
        allh = {d.get(key) for d in ok}
        same = (ref_hits is not None and allh == {ref_hits})
        return fmt(h), ("yes" if same else "**NO**") if ref_hits is not None else "?"

    pp = res["ppcluster"]["ok"]
    # pp_bench reports one "hits"; optional "hits_native"/"hits_pure" win if present.
    for impl, t_key, h_key in (("native kernel (FFI)", "pi_native_s", "hits_native"),
                               ("pure Lua", "pi_pure_s", "hits_pure")):
        h, match = hits_cell(pp, h_key if first(pp, h_key) is not None else "hits")
        w(f"| ppcluster | {impl} | {spread(med(pp, t_key), fmt_s)} | {h} | {match} |")
    for key in PEERS:
        ok = res[key]["ok"]
        h, match = hits_cell(ok)
        w(f"| {res[key]['label']} | {first(ok, 'pi_impl') or '—'} | "
          f"{spread(med(ok, 'pi_s'), fmt_s)} | {h} | {match} |")
    ok = res["c_reference"]["ok"]
    h, match = hits_cell(ok)
    w(f"| plain C, 2 threads | C, -O2 | {spread(med(ok, 'pi_s'), fmt_s)} | {h} | {match} |")
    w("")

    # ratios
    pp_rtt = med(pp, "rtt_median_us")[0]
    pp_jobs = med(pp, "jobs10k_s")[0]
    pp_pi = med(pp, "pi_native_s")[0]
    c_pi = med(res["c_reference"]["ok"], "pi_s")[0]
    w("## Ratios")
    w("")
    w("Peer time ÷ ppcluster time, so above 1× means ppcluster is faster. "
      "Computed from the medians.")
    w("")
    w("| ppcluster vs | round trip median | trivial jobs | pi (ppcluster native) |")
    w("| --- | --- | --- | --- |")
    for key in PEERS:
        ok = res[key]["ok"]
        w(f"| {res[key]['label']} | {fmt_ratio(ratio(med(ok, 'rtt_median_us')[0], pp_rtt))} | "
          f"{fmt_ratio(ratio(med(ok, 'jobs10k_s')[0], pp_jobs))} | "
          f"{fmt_ratio(ratio(med(ok, 'pi_s')[0], pp_pi))} |")
    w("")
    w(f"ppcluster native pi ÷ plain C 2-thread pi: **{fmt_ratio(ratio(pp_pi, c_pi))}** "
      "(1× would be parity; the target is at most 1.5×).")
    w("")

    extras = {k: load_runs(args.results, k) for k in EXTRAS}
    lines.extend(report_throughput.sections(sys.modules[__name__], args, res, base, extras))

    # targets
    w("## Targets of the first slice")
    w("")
    w("| target | measured (median) | met |")
    w("| --- | --- | --- |")

    def verdict(value, limit, applicable=True):
        if value is None:
            return "not measured"
        if not applicable:
            return "n/a (quick mode)"
        return "yes" if value <= limit else "**no**"

    w(f"| trivial-job round trip median ≤ {TARGET_RTT_US:.0f} µs | "
      f"{fmt(pp_rtt) + ' µs' if pp_rtt is not None else '—'} | {verdict(pp_rtt, TARGET_RTT_US)} |")
    n_pp = jobs_n("ppcluster")
    jobs_ok = bool(pp) and n_pp == 10000
    if pp_jobs is None:
        measured = "—"
    else:
        measured = f"{fmt_s(pp_jobs)} s" + ("" if n_pp == 10000 else f" ({n_pp:,} jobs)")
    w(f"| 10,000 trivial jobs ≤ {TARGET_JOBS10K_S} s | {measured} | "
      f"{verdict(pp_jobs, TARGET_JOBS10K_S, jobs_ok)} |")
    r = ratio(pp_pi, c_pi)
    w(f"| pi with the native kernel within {TARGET_PI_VS_C}× of plain C (2 threads) | "
      f"{fmt_ratio(r) if r is not None else '—'}"
      f"{f' ({fmt_s(pp_pi)} s vs {fmt_s(c_pi)} s)' if r is not None else ''} | "
      f"{verdict(r, TARGET_PI_VS_C)} |")
    w("")
    if pp_missing:
        w(f"**ppcluster was not measured in this run: `{args.pp_bench}` did not exist.** "
          "Build it and re-run `bench/run.sh` to fill in its rows.")
        w("")

    # failures
    failures = []
    for key, label, runs in ([(k, l, res[k]["runs"]) for k, l in SYSTEMS]
                             + [(BASELINE, "bare process ping-pong", base_runs)]
                             + [(k, k, extras[k]) for k in EXTRAS]):
        for r in runs:
            if r["rc"] != 0 or r["data"] is None or (r["data"] or {}).get("ok") is False:
                tail = " / ".join(x.strip() for x in r["err_tail"]) or "no stderr"
                failures.append(f"- {label}, round {r['round']}: exit {r['rc']}: {tail}")
    if failures:
        w("## Failed runs")
        w("")
        lines.extend(failures)
        w("")
    w(f"Raw JSON of every run: `{args.results_label or args.results}` (not committed).")
    w("")
    return "\n".join(lines), res, base


# ----------------------------------------------------------------- no local paths

def _path_re(path):
    # the path as a whole component sequence: not preceded by a path character,
    # followed by "/" or the end of the path
    return re.compile(r"(?<![\w./~<>-])" + re.escape(path) + r"(?=/|[^\w.-]|$)")


def scrub(text, root, build_dir=None):
    """Replace absolute paths of this machine; returns (text, [warnings])."""
    def forms(p):
        return {os.path.abspath(p), os.path.realpath(p)} - {"/", ""}

    roots = forms(root)
    reps = [(p, ".", True) for p in roots]
    if build_dir:
        for p in forms(build_dir):
            if not any(p == r or p.startswith(r + "/") for r in roots):
                reps.append((p, "<build-dir>", False))
    for t in forms(tempfile.gettempdir()) | forms("/tmp"):
        reps.append((t, "<tmp>", False))
    home = os.path.expanduser("~")
    if home and home != "~":
        reps.extend((h, "~", False) for h in forms(home))
    warnings = []
    for path, repl, is_root in sorted(reps, key=lambda x: -len(x[0])):
        text, n = _path_re(path).subn(repl, text)
        if n:
            warnings.append(
                f"refusing to write the repository's absolute path {path} into the report "
                f"({n}×); replaced it with '{repl}'" if is_root else
                f"replaced {n} occurrence(s) of {path} with '{repl}' in the report")
    left = sorted(set(re.findall(r"(?<![\w.~<>-])/(?:work|tmp|home|root)/[^\s`|)]*", text)))
    if left:
        warnings.append("the report still names absolute paths: " + ", ".join(left[:5]))
    return text, warnings


KEEP_RE = re.compile(r"<!-- ([a-z-]+):begin -->.*?<!-- \1:end -->\n?", re.S)


def kept_sections(path):
    """Sections other scripts own (e.g. bench/discovery.sh), carried over unchanged."""
    try:
        with open(path, encoding="utf-8") as f:
            old = f.read()
    except OSError:
        return ""
    blocks = [m.group(0) for m in KEEP_RE.finditer(old)]
    return ("\n" + "\n".join(blocks)) if blocks else ""


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", required=True, help="directory written by run.sh")
    p.add_argument("--output", required=True, help="markdown file to write")
    p.add_argument("--repeat", type=int, default=0)
    p.add_argument("--command", default="bench/run.sh")
    p.add_argument("--ref-hits", type=int, default=None)
    p.add_argument("--pp-bench", default="build/bin/pp_bench",
                   help="pp_bench as shown in the report (relative to the repository root)")
    p.add_argument("--results-label", default=None,
                   help="the results directory as shown in the report (default: --results)")
    p.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   help="repository root; its absolute path never appears in the report")
    p.add_argument("--build-dir", default=None,
                   help="build directory; shown as <build-dir> when outside --root")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if not os.path.isdir(args.results):
        print(f"report.py: no such results directory: {args.results}", file=sys.stderr)
        return 2
    text, res, base = build(args)
    text, warnings = scrub(text, args.root, args.build_dir)
    for msg in warnings:
        print(f"report.py: WARNING: {msg}", file=sys.stderr)
    text += kept_sections(args.output)
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.output)

    mismatch = []
    if args.ref_hits is not None:
        for key, _ in SYSTEMS:
            bad = {d.get(k) for d in res[key]["ok"]
                   for k in ("hits", "hits_native", "hits_pure") if k in d} - {args.ref_hits}
            if bad:
                mismatch.append(f"{key}: {sorted(bad, key=str)}")

    # plain-text summary
    print("system              rtt_med_us  rtt_p90_us   jobs_s    map_s     pi_s       hits  runs")
    for key, label in SYSTEMS:
        ok = res[key]["ok"]
        pi_key = "pi_native_s" if key == "ppcluster" else "pi_s"
        cells = [med(ok, k)[0] for k in ("rtt_median_us", "rtt_p90_us", "jobs10k_s",
                                         "jobs10k_map_s", pi_key)]
        txt = "".join(f"{'-' if c is None else format(c, '.4g'):>11}" for c in cells)
        print(f"{key:<18}{txt} {str(first(ok, 'hits') or '-'):>10}  "
              f"{len(ok)}/{len(res[key]['runs'])}")
    bl = list(base.values())

    def g(key):
        v = med(bl, key)[0]
        return "-" if v is None else format(v, ".4g")

    print(f"bare ping-pong us  socketpair {g(PP_KEY)} (one CPU {g(PP_SAME_KEY)}, two CPUs "
          f"{g(PP_CROSS_KEY)}); tcp {g(PP_TCP_KEY)} (one CPU "
          f"{g('pingpong_tcp_same_cpu_rtt_us')}, two CPUs {g('pingpong_tcp_cross_cpu_rtt_us')})")
    if mismatch:
        print(f"report.py: WARNING: pi hit count differs from the C reference "
              f"({args.ref_hits}): " + "; ".join(mismatch), file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
