"""The Dask example on a local cluster of 2 worker processes: the merged summary of the
shards is the single run's."""

from __future__ import annotations

import importlib.util
import json

import pytest

import corscope
from conftest import ROOT, run, without_inputs

distributed = pytest.importorskip("dask.distributed")


def example():
    spec = importlib.util.spec_from_file_location(
        "dask_audit", ROOT / "python" / "examples" / "dask_audit.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dask_local_cluster_equals_the_single_run(cli, shards):
    mod = example()
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        total = mod.audit(client, shards["files"])
        # The cluster ran with its 2 workers.
        assert len(client.scheduler_info()["workers"]) == 2
    single = json.loads(
        run(cli, "--summary", "--format", "ndjson", "--exit-zero", str(shards["capture"])).stdout
    )
    single.pop("inputs")
    assert without_inputs(total.to_json()) == single
    # The inputs are listed in the order given, whatever order the tasks finished in.
    assert [i["name"] for i in json.loads(total.to_json())["inputs"]] == shards["files"]
    assert total.requests > 100 and total.blocked > 0


def test_dask_example_command_line(shards, capsys):
    assert example().main(["--workers", "2", *shards["files"][:2]]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["requests"] > 0
    assert "MB/s" in out.err
