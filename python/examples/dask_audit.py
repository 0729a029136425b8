"""Audit many capture shards on a Dask cluster and merge their summaries into one.

Every shard is analysed by one task (``corscope.summarize``, in a worker process); the
summaries are merged pairwise on the cluster, in the order the shards were given, so the
result is the same on every run and equals the single run over the unsplit input (shards from
``corscope split``: every client's traffic is in exactly one shard).

On this machine (a local cluster)::

    corscope split --shards 8 --out shards/ capture.pcap
    python python/examples/dask_audit.py --workers 2 shards/*.pcapng > summary.json

On a real cluster, start a scheduler and workers where ``pip install ./python`` was done
(``dask scheduler``; ``dask worker tcp://SCHEDULER:8786 --nworkers 4 --nthreads 1`` per
machine) and give its address; the shard paths must be readable by every worker (shared
storage: NFS, a mounted bucket)::

    python python/examples/dask_audit.py --scheduler tcp://SCHEDULER:8786 /shared/shards/*.pcapng
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import List, Optional, Sequence

import corscope


def audit_one(path: str, browser: Optional[str] = None) -> corscope.Summary:
    """One shard's summary (runs on a worker). A shard that cannot be read to its end still
    gives the summary of what was read, with its error in ``errors``, as the CLI does."""
    try:
        return corscope.summarize(path, browser)
    except corscope.CorscopeError as e:
        return e.summary


def merge_pair(a: corscope.Summary, b: corscope.Summary) -> corscope.Summary:
    """``a`` then ``b``, merged (runs on a worker)."""
    return a + b


def audit(client, paths: Sequence[str], browser: Optional[str] = None) -> corscope.Summary:
    """The merged summary of ``paths``, analysed on the cluster behind ``client``."""
    if not paths:
        return corscope.Summary()
    level = client.map(audit_one, list(paths), browser=browser, pure=False)
    # Pairwise, keeping the order: the merged `inputs` list the shards as given.
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            nxt.append(client.submit(merge_pair, level[i], level[i + 1], pure=False))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].result()


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("shards", nargs="+", help="capture or HAR shards (corscope split)")
    p.add_argument("--scheduler", help="a Dask scheduler's address (default: a local cluster)")
    p.add_argument("--workers", type=int, default=2, help="local cluster's worker processes")
    p.add_argument("--browser", choices=["chromium", "firefox", "safari"])
    args = p.parse_args(argv)

    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=None
        )
        client = Client(cluster)
    try:
        ready = time.perf_counter()
        total = audit(client, args.shards, args.browser)
        done = time.perf_counter()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    size = sum(os.path.getsize(s) for s in args.shards)
    print(total.to_json())
    print(
        f"dask_audit: {len(args.shards)} shard(s), {size / 1e6:.1f} MB in {done - ready:.2f} s "
        f"({size / 1e6 / max(done - ready, 1e-9):.1f} MB/s; cluster start {ready - start:.2f} s)",
        file=sys.stderr,
    )
    return 2 if total.errors else 0


if __name__ == "__main__":
    sys.exit(main())
