#!/usr/bin/python3
"""ppcluster's trivial jobs with every process's CPU counted (see bench/README.md).

    bench/pp_cpu.py --build-dir DIR [--jobs N] [--timeout S]

Four cases, each a fresh client process: the Lua API (`ppclient run
bench/lua_throughput.lua N [node]`) and C++ (`pp_bench --throughput N [--node
node]`: N jobs one call at a time, then N through Cluster::map), each against a
separate `ppserver -w 2` on 127.0.0.1 (started here, one per case) and against
the embedded local node with 2 workers. Per case it prints the jobs/s the client
measured and the CPU (user + system) per job of every process involved:

  * the client and everything it started: getrusage(RUSAGE_CHILDREN) of this
    script before and after (this script is made a child subreaper, so worker
    processes that outlive their parent are reaped, and counted, here too);
  * the separate node and its workers: /proc/<pid>/stat of the node and every
    live descendant (utime + stime + cutime + cstime) just before the client
    starts and just after it ends, once the node's start-up work has settled.

Whole processes, start-up included (as /usr/bin/time would count them), divided
by the jobs the client ran (2N for C++). Then, against one more separate node,
`pp_bench --data`: bulk MiB/s and the uneven batch, then `pp_bench --bulk 5` (five
bulk batches on one cluster: the median batch). Every node here runs its
workers at nice 0, as the embedded node does (a separate `ppserver` nices them
by 10 by default, which on a busy machine mostly measures the load). One JSON
object on stdout.
"""

import argparse
import ctypes
import json
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
import ppbench_common as common  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36


def log(msg):
    print(f"[pp_cpu] {msg}", file=sys.stderr, flush=True)


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def my_children(exclude):
    me, out = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in exclude:
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2:].split()[1]) == me:
            out.append(int(name))
    return out


def reap_orphans(exclude, settle=10.0):
    """Waits for (then kills, by PID) processes handed to this subreaper."""
    deadline = time.monotonic() + settle
    while True:
        kids = my_children(exclude)
        for pid in kids:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done == pid:
                kids.remove(pid)
        if not kids:
            return 0
        if time.monotonic() > deadline:
            for pid in kids:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            log(f"killed {len(kids)} leftover process(es): {kids}")
            return len(kids)
        time.sleep(0.05)


def start_node(ppserver, env, tmp):
    log_path = os.path.join(tmp, "ppserver.log")
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen([ppserver, "-i", "127.0.0.1", "-p", "0", "-w", "2", "--nice", "0"],
                                stdout=log_file, stderr=subprocess.STDOUT, env=env)
    for _ in range(400):
        with open(log_path, encoding="utf-8", errors="replace") as f:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read())
        if m:
            break
        if proc.poll() is not None:
            raise RuntimeError("ppserver exited at start")
        time.sleep(0.025)
    else:
        raise RuntimeError("ppserver did not say where it listens")
    # Let its start-up work (workers, calibration) finish before anything is counted.
    last = -1.0
    for _ in range(30):
        now = common.tree_cpu_seconds(proc.pid)
        if now == last:
            break
        last = now
        time.sleep(0.1)
    return proc, f"127.0.0.1:{m.group(1)}"


def stop_node(proc):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_case(client_cmd, jobs_run, ppserver, separate, env, tmp, timeout):
    node = None
    try:
        cmd = list(client_cmd)
        if separate:
            node, where = start_node(ppserver, env, tmp)
            cmd += ["--node", where] if cmd[0].endswith("pp_bench") else [where]
            node_cpu0 = common.tree_cpu_seconds(node.pid)
        cpu0 = children_cpu()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                             check=False)
        reap_orphans({node.pid} if node else set())
        cpu = children_cpu() - cpu0
        if separate:
            cpu += common.tree_cpu_seconds(node.pid) - node_cpu0
        if res.returncode != 0:
            raise RuntimeError(f"{os.path.basename(cmd[0])} exit {res.returncode}: "
                               + " / ".join(res.stderr.strip().splitlines()[-3:]))
        out = json.loads(res.stdout.strip().splitlines()[-1])
        out["cpu_us_per_job"] = cpu / jobs_run * 1e6
        return out
    finally:
        if node is not None:
            stop_node(node)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--jobs", type=int, default=100000)
    p.add_argument("--timeout", type=float, default=600)
    a = p.parse_args()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    bindir = os.path.join(a.build_dir, "bin")
    ppserver = os.path.join(bindir, "ppserver")
    env = dict(os.environ, PP_SECRET="pp-cpu-" + secrets.token_hex(8))
    lua = [os.path.join(bindir, "ppclient"), "run", os.path.join(HERE, "lua_throughput.lua"),
           str(a.jobs)]
    cpp = [os.path.join(bindir, "pp_bench"), "--throughput", str(a.jobs)]
    result = {"system": "ppcluster", "jobs": a.jobs}
    rc = 0
    with tempfile.TemporaryDirectory(prefix="pp-cpu-") as tmp:
        env["HOME"] = tmp
        for name, cmd, n in (("lua", lua, a.jobs), ("cpp", cpp, 2 * a.jobs)):
            for separate in (True, False):
                case = f"{name}_{'separate' if separate else 'embedded'}"
                try:
                    out = run_case(cmd, n, ppserver, separate, env, tmp, a.timeout)
                except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
                    log(f"{case}: ERROR: {e}")
                    rc = 1
                    continue
                result[f"{case}_jobs_per_s"] = round(a.jobs / out["submit_loop_s"], 1)
                if "map_s" in out:
                    result[f"{case}_map_jobs_per_s"] = round(a.jobs / out["map_s"], 1)
                result[f"{case}_cpu_us_per_job"] = round(out["cpu_us_per_job"], 2)
                log(f"{case}: {result[f'{case}_jobs_per_s']:,.0f} jobs/s, "
                    f"{result[f'{case}_cpu_us_per_job']} us CPU per job")
        try:
            out = run_case([cpp[0], "--data"], 1, ppserver, True, env, tmp, a.timeout)
            result["separate_bulk_mib_s"] = out["bulk_mib_s"]
            result["separate_uneven_s"] = out["uneven_s"]
            result["separate_uneven_sleep_s"] = out["uneven_sleep_s"]
            log(f"separate node: bulk {out['bulk_mib_s']} MiB/s, uneven {out['uneven_s']} s")
        except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as e:
            log(f"data: ERROR: {e}")
            rc = 1
        # The first bulk batch of a fresh cluster also pays for its processes' fresh heaps
        # (a page fault per 4 KiB of every buffer); five batches on one cluster give the
        # bulk path's steady rate: the median batch.
        try:
            out = run_case([cpp[0], "--bulk", "5"], 1, ppserver, True, env, tmp, a.timeout)
            rounds = sorted(out["bulk_mib_s"])
            result["separate_bulk_steady_mib_s"] = rounds[len(rounds) // 2]
            log(f"separate node: bulk, 5 batches on one cluster {out['bulk_mib_s']} MiB/s")
        except (RuntimeError, OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
            log(f"bulk: ERROR: {e}")
            rc = 1
    result["ok"] = rc == 0
    print(json.dumps(result), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
