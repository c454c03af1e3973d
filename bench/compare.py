#!/usr/bin/env python3
"""Compares the figures of two builds measured round by round, old and new interleaved.

    bench/compare.py FIGURES.tsv...

Each FIGURES file has one tab-separated line per measurement, written by the bench
scripts' `--compare-build-dir DIR --figures FILE` mode:

    figure  direction  side  round  value  load

direction is `lower` or `higher` (which way is better) or `info` (a count that depends on
the run, such as the chaos test's kills, shown without a verdict); side is `old` (the
--compare-build-dir build) or `new` (the --build-dir build); load is the 1-minute load
average just before the run. Prints one Markdown table, one row per figure in the order
first seen: old median (min–max), new median (min–max), new ÷ old (of the medians), the
paired ratios (new ÷ old within each round, where old and new ran back to back: a slow
drift of the machine's load cancels out of them), verdict.

The noise rule: a figure regresses only when the new median is worse than the old median
by more than the old runs' own spread (max − min); a difference within that spread is
noise. Better by more than the new runs' spread reads "better". With one run per side
there is no spread and no verdict.
"""
import statistics
import sys


def fmt(x):
    """A figure with 3 significant digits, or as an integer when it is one."""
    if float(x).is_integer() and abs(x) >= 1:
        return f"{int(x):,}"
    return f"{x:.3g}"


def cell(values):
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return f"{fmt(med)} ({fmt(lo)}–{fmt(hi)})" if lo != hi else fmt(med)


def verdict(direction, old, new):
    if direction == "info":
        return "— (depends on the run)"
    if len(old) < 2 or len(new) < 2:
        return "— (one run: no spread)"
    m_old, m_new = statistics.median(old), statistics.median(new)
    worse_by = m_new - m_old if direction == "lower" else m_old - m_new
    if worse_by > max(old) - min(old):
        return "**regression** (worse by more than old's spread)"
    if -worse_by > max(new) - min(new):
        return "better (by more than new's spread)"
    return "no regression (within noise)"


def paired(rounds):
    """new ÷ old within each round that has both sides and a nonzero old value."""
    ratios = [v / rounds[("old", r)] for (side, r), v in rounds.items()
              if side == "new" and rounds.get(("old", r))]
    if not ratios:
        return "—"
    med, lo, hi = statistics.median(ratios), min(ratios), max(ratios)
    return f"{med:.2f} ({lo:.2f}–{hi:.2f})" if len(ratios) > 1 else f"{med:.2f}"


def read(paths):
    # figure -> {"direction": d, "old": [...], "new": [...], "rounds": {(side, round): v}},
    # a round being (file, round number): files from several sessions add up
    # in the order first seen
    figures = {}
    loads = []
    for path in paths:
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            parts = line.rstrip("\n").split("\t")
            if not line.strip():
                continue
            if len(parts) != 6 or parts[1] not in ("lower", "higher", "info") \
                    or parts[2] not in ("old", "new"):
                sys.exit(f"{path}:{n}: not a figure line: {line!r}")
            name, direction, side, _round, value, load = parts
            f = figures.setdefault(name, {"direction": direction, "old": [], "new": [],
                                          "rounds": {}})
            f[side].append(float(value))
            f["rounds"][(side, (path, _round))] = float(value)  # rounds pair within a file
            if load:
                loads.append(float(load))
    return figures, loads


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    figures, loads = read(sys.argv[1:])
    print("| figure | old median (min–max) | new median (min–max) | new ÷ old | "
          "paired new ÷ old, per round: median (min–max) | verdict |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, f in figures.items():
        old, new = f["old"], f["new"]
        if not old or not new:
            print(f"| {name} | {cell(old) if old else '—'} | {cell(new) if new else '—'} | | | "
                  "— (a side has no run) |")
            continue
        m_old = statistics.median(old)
        ratio = f"{statistics.median(new) / m_old:.2f}" if m_old else "—"
        print(f"| {name} | {cell(old)} | {cell(new)} | {ratio} | {paired(f['rounds'])} | "
              f"{verdict(f['direction'], old, new)} |")
    if loads:
        print(f"\n1-minute load average just before each run: median "
              f"{statistics.median(loads):.2f} (min {min(loads):.2f}, max {max(loads):.2f}).")


if __name__ == "__main__":
    main()
