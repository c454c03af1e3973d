#!/usr/bin/env bash
# The cost of encrypted sessions (ppserver --encrypt / ClusterOptions::encrypt), for
# docs/BENCHMARKS.md: pp_bench (2 local workers on loopback) plain and encrypted,
# interleaved round by round; medians of round trip, 10,000 trivial jobs and bulk data.
#   bench/encrypt.sh [--build-dir DIR] [--repeat N]
# Writes its section of docs/BENCHMARKS.md (between encrypt markers).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
REPEAT=5
while (($#)); do
  case $1 in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    *) echo "usage: bench/encrypt.sh [--build-dir DIR] [--repeat N]" >&2; exit 2 ;;
  esac
done
[[ -x "$BUILD/bin/pp_bench" ]] || { echo "bench/encrypt.sh: build pp_bench first (scripts/build.sh)" >&2; exit 2; }
OUT=$(mktemp -d /tmp/pp-encbench-XXXXXX)
trap 'rm -rf "$OUT"' EXIT
for r in $(seq 1 "$REPEAT"); do
  "$BUILD/bin/pp_bench" --json > "$OUT/plain.$r.json"
  "$BUILD/bin/pp_bench" --json --encrypt > "$OUT/enc.$r.json"
  echo "round $r: plain $(cat "$OUT/plain.$r.json")" >&2
  echo "round $r: encrypted $(cat "$OUT/enc.$r.json")" >&2
done
python3 - "$OUT" "$REPEAT" "$(nproc)" \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" > "$OUT/section.md" <<'PY'
import glob, json, os, statistics, sys, datetime
out, repeat, ncpu, cpu = sys.argv[1:5]
def runs(kind):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, kind + ".*.json")))]
plain, enc = runs("plain"), runs("enc")
def med(rs, k): return statistics.median(r[k] for r in rs)
rows = [("trivial job round trip, median µs", "rtt_median_us", "{:.1f}"),
        ("10,000 trivial jobs, s", "jobs10k_s", "{:.3f}"),
        ("Monte Carlo pi (native kernel), s", "pi_native_s", "{:.3f}"),
        ("bulk data: 32 jobs × 2 MiB in, MiB/s", "bulk_mib_s", "{:.0f}")]
lines = ["<!-- encrypt:begin -->", "## Cost of encrypted sessions", "",
         f"Command: `bench/encrypt.sh --repeat {repeat}` ({datetime.date.today()}; {ncpu} CPUs: {cpu}). "
         "pp_bench with 2 local workers on loopback, plain and with `encrypt` (ChaCha20-Poly1305 "
         "on every frame after the handshake), interleaved round by round; medians.", "",
         "| measure | plain | encrypted | encrypted ÷ plain |", "|---|---|---|---|"]
for name, key, fmt in rows:
    p, e = med(plain, key), med(enc, key)
    lines.append(f"| {name} | {fmt.format(p)} | {fmt.format(e)} | {e / p:.2f} |")
lines += ["", "Rounds (plain / encrypted): " + "; ".join(
    f"{a['rtt_median_us']:.0f}/{b['rtt_median_us']:.0f} µs, {a['jobs10k_s']:.2f}/{b['jobs10k_s']:.2f} s, "
    f"{a['bulk_mib_s']:.0f}/{b['bulk_mib_s']:.0f} MiB/s" for a, b in zip(plain, enc)) + ".",
    "<!-- encrypt:end -->", ""]
print("\n".join(lines))
PY
cat "$OUT/section.md"
python3 "$ROOT/bench/put_section.py" "$ROOT/docs/BENCHMARKS.md" "$OUT/section.md"
echo "bench/encrypt.sh: wrote the encrypt section of docs/BENCHMARKS.md"
