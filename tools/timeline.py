#!/usr/bin/env python3
"""Per-thread timeline of a run: how busy each thread is in each time bin.

Usage:
    perf record -e task-clock -F 4000 -o run.data BIN analyze FILE --format ndjson --jobs 2 >/dev/null
    tools/timeline.py run.data [BIN_MS] [--symbols FROM_MS COMM]

Prints each thread's CPU time and first..last sample, then one row per bin of BIN_MS
milliseconds (default 25) with each thread's share of a core (100 = one core busy for the
whole bin) and their sum (200 = both cores of a two-core machine). Samples of a thread that
waits (a queue, a latch) are missing, so a low share is idle or preempted time.

With --symbols FROM_MS COMM it lists instead the symbols sampled from FROM_MS on, of the
threads named COMM ('*': every thread): what runs in one phase of the run (e.g. after the
capture workers end, or the serial end).
"""
import collections
import subprocess
import sys


def samples(path):
    """(time s, tid, comm, period ns, symbol) for every sample of `perf script`."""
    out = subprocess.run(
        ["perf", "script", "-i", path, "-F", "comm,tid,time,period,ip,sym"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        p = line.split()
        # comm may hold blanks: the time is the first field that ends in ':'.
        at = next((i for i, x in enumerate(p) if x.endswith(":") and x[:-1].replace(".", "").isdigit()), None)
        if at is None or at < 2 or len(p) < at + 2:
            continue
        try:
            t, tid, period = float(p[at][:-1]), int(p[at - 1]), int(p[at + 1])
        except ValueError:
            continue
        sym = " ".join(p[at + 3:]).split("+0x")[0] if len(p) > at + 3 else "?"
        rows.append((t, tid, " ".join(p[: at - 1]), period, sym))
    return rows


def timeline(rows, bin_ms):
    t0 = min(r[0] for r in rows)
    t1 = max(r[0] for r in rows)
    nb = int((t1 - t0) * 1000 / bin_ms) + 1
    busy = collections.defaultdict(lambda: [0] * nb)
    names, total, first, last = {}, collections.Counter(), {}, {}
    for t, tid, comm, period, _ in rows:
        busy[tid][int((t - t0) * 1000 / bin_ms)] += period
        names[tid] = comm
        total[tid] += period
        first.setdefault(tid, t)
        last[tid] = t
    print(f"span {t1 - t0:.3f} s, bins of {bin_ms:g} ms; per thread: CPU ms, first..last sample (ms)")
    tids = sorted(busy, key=lambda k: first[k])
    for tid in tids:
        print(f"{tid:>7} {names[tid]:16s} {total[tid] / 1e6:7.1f} ms  "
              f"{1000 * (first[tid] - t0):6.0f}..{1000 * (last[tid] - t0):6.0f}")
    print("bin(ms) " + " ".join(f"{names[t][:8]:>8s}" for t in tids) + "    sum")
    for b in range(nb):
        shares = [busy[t][b] / (bin_ms * 1e6) * 100 for t in tids]
        print(f"{b * bin_ms:7.0f} " + " ".join(f"{v:8.0f}" for v in shares) + f" {sum(shares):6.0f}")


def symbols(rows, from_ms, comm, top=30):
    t0 = min(r[0] for r in rows)
    count = collections.Counter(
        sym for t, _, c, _, sym in rows if (t - t0) * 1000 >= from_ms and comm in ("*", c)
    )
    print(f"{sum(count.values())} samples from {from_ms:g} ms ({comm})")
    for sym, n in count.most_common(top):
        print(f"{n:6d} {sym[:110]}")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    rows = samples(argv[1])
    if not rows:
        sys.exit("no samples")
    if "--symbols" in argv:
        i = argv.index("--symbols")
        symbols(rows, float(argv[i + 1]), argv[i + 2])
    else:
        timeline(rows, float(argv[2]) if len(argv) > 2 else 25)


if __name__ == "__main__":
    main(sys.argv)
