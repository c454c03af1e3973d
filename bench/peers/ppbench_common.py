"""Shared pieces of the peer benchmarks (Dask distributed, IPython Parallel,
multiprocessing) and of bench/pp_cpu.py (tree_cpu_seconds).

This module is imported both by the driver scripts (dask_bench.py,
ipyparallel_bench.py, mp_bench.py) and, by reference, by the worker processes: the
functions shipped to workers (``trivial``, ``pi_job``) live here so that
only their qualified name travels over the wire.  The driver puts this
directory on PYTHONPATH before it starts its cluster, so the workers can
import it.

The Monte Carlo pi contract (identical to bench/pi_reference.c, the
ppcluster native kernel and its pure-Lua twin):

* splitmix64; the state of job i (0-based) starts at seed = i + 1;
  next(): state += 0x9E3779B97F4A7C15; z = state;
          z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
          z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
          return z ^ (z >> 31)            (all mod 2**64)
* per sample: x = (next() >> 11) * 2**-53, y = the same from the next draw,
  hit if x*x + y*y <= 1.0 (two separate IEEE double multiplies and an add,
  no fused multiply-add).
* 4e7 samples in 32 jobs of 1,250,000.

Keep this module importable without numpy and without the cluster
libraries: workers import it too.
"""

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time

GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1

PI_TOTAL_SAMPLES = 40_000_000
PI_JOBS = 32

# Samples per numpy chunk (2 draws each: 256 KiB per uint64 buffer).
_NUMPY_CHUNK = 1 << 14


# --------------------------------------------------------------------------
# Functions executed on the workers
# --------------------------------------------------------------------------

def trivial(x):
    """The 'trivial job': one small integer in, one small integer out."""
    return x + 1


def _pi_job_python(seed, samples):
    state = seed & MASK64
    hits = 0
    scale = 2.0 ** -53
    for _ in range(samples):
        state = (state + GAMMA) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * MIX1) & MASK64
        z = ((z ^ (z >> 27)) * MIX2) & MASK64
        x = ((z ^ (z >> 31)) >> 11) * scale
        state = (state + GAMMA) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * MIX1) & MASK64
        z = ((z ^ (z >> 27)) * MIX2) & MASK64
        y = ((z ^ (z >> 31)) >> 11) * scale
        if x * x + y * y <= 1.0:
            hits += 1
    return hits


def _pi_job_numpy(seed, samples):
    """Vectorised splitmix64: the k-th draw (1-based) of a stream sees the
    state seed + k*GAMMA (mod 2**64), so whole blocks of draws are computed
    at once; the outputs are bit-identical to the sequential generator.

    All temporaries are allocated once per job and reused with out=, because
    Dask workers run with MALLOC_TRIM_THRESHOLD_ set, which turns every large
    numpy allocation into a fresh mmap (page faults cost ~6x here).
    """
    import numpy as np

    u64 = np.uint64
    mix1 = u64(MIX1)
    mix2 = u64(MIX2)
    s30, s27, s31, s11 = u64(30), u64(27), u64(31), u64(11)
    scale = 2.0 ** -53
    chunk = min(_NUMPY_CHUNK, samples)
    with np.errstate(over="ignore"):
        # offsets[j] = (j + 1) * GAMMA: the increments for the draws of a chunk
        offsets = np.arange(1, 2 * chunk + 1, dtype=np.uint64)
        offsets *= u64(GAMMA)
    z = np.empty(2 * chunk, dtype=np.uint64)
    t = np.empty(2 * chunk, dtype=np.uint64)
    v = np.empty(2 * chunk, dtype=np.float64)
    xx = np.empty(chunk, dtype=np.float64)
    yy = np.empty(chunk, dtype=np.float64)
    inside = np.empty(chunk, dtype=bool)
    hits = 0
    done = 0
    with np.errstate(over="ignore"):
        while done < samples:
            n = min(chunk, samples - done)
            m = 2 * n
            # state before this chunk: seed + (2*done)*GAMMA
            base = u64((seed + 2 * done * GAMMA) & MASK64)
            zz, tt, vv = z[:m], t[:m], v[:m]
            np.add(offsets[:m], base, out=zz)
            np.right_shift(zz, s30, out=tt)
            np.bitwise_xor(zz, tt, out=zz)
            np.multiply(zz, mix1, out=zz)
            np.right_shift(zz, s27, out=tt)
            np.bitwise_xor(zz, tt, out=zz)
            np.multiply(zz, mix2, out=zz)
            np.right_shift(zz, s31, out=tt)
            np.bitwise_xor(zz, tt, out=zz)
            np.right_shift(zz, s11, out=zz)
            np.multiply(zz, scale, out=vv)  # exact: < 2**53 times a power of 2
            x = vv[0::2]  # 1st, 3rd, ... draw of the chunk
            y = vv[1::2]  # the draw right after each x
            np.multiply(x, x, out=xx[:n])
            np.multiply(y, y, out=yy[:n])
            np.add(xx[:n], yy[:n], out=xx[:n])
            np.less_equal(xx[:n], 1.0, out=inside[:n])
            hits += int(np.count_nonzero(inside[:n]))
            done += n
    return hits


def pi_job(seed, samples, impl):
    """One pi job on a worker; returns (hits, implementation actually used)."""
    if impl == "numpy":
        try:
            import numpy  # noqa: F401
        except ImportError:
            impl = "python"
    if impl == "numpy":
        return _pi_job_numpy(seed, samples), "numpy"
    return _pi_job_python(seed, samples), "python"


def have_numpy():
    try:
        import numpy  # noqa: F401
        return True
    except ImportError:
        return False


# --------------------------------------------------------------------------
# Driver-side helpers
# --------------------------------------------------------------------------

def parse_args(name, extra=None):
    """The common flags; `extra(parser)` may add a peer's own."""
    p = argparse.ArgumentParser(
        prog=name,
        description="Peer benchmark for ppcluster: trivial-job round trip, "
        "throughput of N trivial jobs, Monte Carlo pi (4e7 samples, 32 jobs) "
        "on a 2-worker cluster on 127.0.0.1. Prints one JSON object.",
    )
    p.add_argument("--quick", action="store_true",
                   help="quick mode: 200 round trips, 1,000 jobs, full pi")
    p.add_argument("--rtt", type=int, default=None,
                   help="measured round trips (default 1000, quick 200)")
    p.add_argument("--warmup", type=int, default=None,
                   help="warm-up round trips, not measured (default 100, quick 50)")
    p.add_argument("--jobs", type=int, default=None,
                   help="trivial jobs for the throughput test (default 10000, quick 1000)")
    p.add_argument("--pi-samples", type=float, default=PI_TOTAL_SAMPLES,
                   help="total pi samples (default 4e7)")
    p.add_argument("--pi-jobs", type=int, default=PI_JOBS,
                   help="pi jobs (default 32)")
    p.add_argument("--pi-impl", choices=["numpy", "python"], default=None,
                   help="pi implementation on the workers (default numpy if "
                   "importable, else pure Python -- very slow)")
    p.add_argument("--no-map", action="store_true",
                   help="skip the extra batched-API throughput measurement")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="overall time limit in seconds (default 300)")
    p.add_argument("--expect-hits", type=int, default=None,
                   help="hit count of the C reference; a mismatch is an error")
    if extra is not None:
        extra(p)
    a = p.parse_args()
    if a.rtt is None:
        a.rtt = 200 if a.quick else 1000
    if a.warmup is None:
        a.warmup = 50 if a.quick else 100
    if a.jobs is None:
        a.jobs = 1000 if a.quick else 10000
    a.pi_samples = int(a.pi_samples)
    if a.pi_jobs < 1 or a.pi_samples % a.pi_jobs:
        p.error("--pi-samples must be a positive multiple of --pi-jobs")
    if a.rtt < 1 or a.jobs < 1 or a.warmup < 0:
        p.error("--rtt and --jobs must be >= 1, --warmup >= 0")
    if a.pi_impl is None:
        a.pi_impl = "numpy" if have_numpy() else "python"
    return a


def log(name, msg):
    print(f"[{name}] {msg}", file=sys.stderr, flush=True)


def percentile_nearest_rank(values, pct):
    """Nearest-rank percentile: the smallest value with >= pct% at or below."""
    s = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(s)))
    return s[rank - 1]


def rtt_stats_us(samples_s):
    us = [v * 1e6 for v in samples_s]
    return {
        "rtt_median_us": round(statistics.median(us), 1),
        "rtt_p90_us": round(percentile_nearest_rank(us, 90), 1),
        "rtt_min_us": round(min(us), 1),
    }


def isolated_env(prefix):
    """Point every per-user config/cache dir at a fresh temp dir.

    Must run before the cluster library is imported (distributed writes
    ~/.config/dask on import; IPython creates ~/.ipython).  Child processes
    (workers, engines) inherit it.  Returns the temp dir to remove later.
    """
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.environ["HOME"] = tmp
    os.environ["IPYTHONDIR"] = os.path.join(tmp, "ipython")
    os.environ["DASK_CONFIG"] = os.path.join(tmp, "dask-config")
    os.environ["XDG_CONFIG_HOME"] = os.path.join(tmp, "xdg-config")
    os.environ["XDG_CACHE_HOME"] = os.path.join(tmp, "xdg-cache")
    os.environ["XDG_DATA_HOME"] = os.path.join(tmp, "xdg-data")
    os.environ["JUPYTER_CONFIG_DIR"] = os.path.join(tmp, "jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(tmp, "jupyter-runtime")
    os.environ["MPLCONFIGDIR"] = os.path.join(tmp, "mpl")
    here = os.path.dirname(os.path.abspath(__file__))
    pp = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = here + (os.pathsep + pp if pp else "")
    if here not in sys.path:
        sys.path.insert(0, here)
    # One BLAS/OpenMP thread per worker: 2 workers on 2 cores.
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = "1"
    return tmp


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)


class BenchTimeout(Exception):
    pass


class BenchSignal(Exception):
    """SIGTERM (e.g. from timeout(1)) or SIGINT: shut down, exit 128+signum."""

    def __init__(self, signum):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def _is_resource_tracker(proc):
    try:
        return any("multiprocessing.resource_tracker" in a for a in proc.cmdline())
    except Exception:  # noqa: BLE001 - gone, zombie, no access
        return False


def snapshot_descendants():
    """All processes this one has started so far (psutil objects, which
    remember each process's start time, so a reused PID is never mistaken
    for ours).  Take it before a library shutdown: ipyparallel's engine
    nannies get re-parented to init when their engine exits."""
    try:
        import psutil
        return psutil.Process(os.getpid()).children(recursive=True)
    except Exception:  # noqa: BLE001 - psutil missing or process gone
        return []


def kill_descendants(name, known=(), settle=10.0, grace=3.0):
    """Make sure every process this one started is gone, by PID.

    ``known`` are processes seen earlier (snapshot_descendants); together
    with the current children they get ``settle`` seconds to exit by
    themselves after the library's own shutdown, then SIGTERM, then SIGKILL.
    Returns the number of processes that had to be signalled.
    """
    try:
        import psutil
    except ImportError:
        return 0
    try:
        kids = psutil.Process(os.getpid()).children(recursive=True)
    except psutil.Error:
        kids = []
    seen = {(k.pid, _create_time(k)) for k in kids}
    for k in known:
        if (k.pid, _create_time(k)) not in seen:
            kids.append(k)
    # multiprocessing's resource tracker exits by itself when this process
    # does (EOF on its pipe); leave it alone.
    kids = [k for k in kids if _alive(k) and not _is_resource_tracker(k)]
    if not kids:
        return 0
    _, alive = psutil.wait_procs(kids, timeout=settle)
    if not alive:
        return 0
    log(name, f"terminating {len(alive)} leftover process(es) started by this run: "
        + ", ".join(str(k.pid) for k in alive))
    for k in alive:
        try:
            k.terminate()
        except psutil.Error:
            pass
    _, alive2 = psutil.wait_procs(alive, timeout=grace)
    for k in alive2:
        try:
            k.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive2, timeout=grace)
    return len(alive)


def _create_time(proc):
    try:
        return proc.create_time()
    except Exception:  # noqa: BLE001
        return None


def _alive(proc):
    try:
        return proc.is_running() and proc.status() != "zombie"
    except Exception:  # noqa: BLE001
        return False


def install_guards(name, timeout_s):
    """SIGALRM after timeout_s raises BenchTimeout in the main thread (so the
    normal shutdown path runs); SIGTERM/SIGINT raise BenchSignal likewise.  A
    last-resort thread kills the children and hard-exits 60 s later if even
    the shutdown hangs."""

    def on_alarm(signum, frame):
        raise BenchTimeout(f"time limit of {timeout_s:.0f} s exceeded")

    def on_term(signum, frame):
        # Once is enough: let the shutdown that follows run undisturbed
        # (the hard-exit timer below still bounds it).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise BenchSignal(signum)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.alarm(max(1, int(math.ceil(timeout_s))))

    def hard_exit():
        log(name, "shutdown hung after the time limit; killing children and exiting")
        kill_descendants(name, settle=0.0, grace=1.0)
        os._exit(124)

    t = threading.Timer(timeout_s + 60.0, hard_exit)
    t.daemon = True
    t.start()
    return t


def disarm_alarm():
    signal.alarm(0)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid):
    """(ppid, cpu seconds: own user + system plus its reaped children's), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()   # the name may hold spaces
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17
    ticks = sum(int(x) for x in fields[11:15])
    return int(fields[1]), ticks / _TICK


def tree_cpu_seconds(root):
    """CPU seconds (user + system) of process `root` and every live descendant, each
    with its reaped children: what the tree has used so far. From /proc (Linux)."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _proc_stat(int(name))
            if st is not None:
                stats[int(name)] = st
    kids = {}
    for pid, (ppid, _) in stats.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo.extend(kids.get(pid, []))
    return total


def emit(result):
    print(json.dumps(result, sort_keys=False), flush=True)


class Stopwatch:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
        return False
