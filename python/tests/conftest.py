"""Fixtures: the repository's committed inputs and the command-line binary (the reference the
package must agree with; `cargo build --release` makes it, CORSCOPE_BIN overrides)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def cli() -> str:
    path = os.environ.get("CORSCOPE_BIN") or str(ROOT / "target" / "release" / "corscope")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path}: no corscope binary (run `cargo build --release` or set CORSCOPE_BIN)")
    return path


def run(cli: str, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([cli, *args], capture_output=True, text=True)
    assert out.returncode == 0, f"corscope {args}: {out.stderr}"
    return out


def cli_records(cli: str, path: Path) -> List[Dict[str, Any]]:
    out = run(cli, "--format", "ndjson", "--exit-zero", str(path))
    return [json.loads(line) for line in out.stdout.splitlines()]


def cli_summary(cli: str, path: Path) -> Dict[str, Any]:
    return json.loads(run(cli, "--summary", "--format", "ndjson", "--exit-zero", str(path)).stdout)


def without_inputs(summary_json: str) -> Dict[str, Any]:
    v = json.loads(summary_json)
    v.pop("inputs", None)
    return v


@pytest.fixture(scope="session")
def shards(cli: str, tmp_path_factory) -> Dict[str, Any]:
    """A generated capture and its 5 shards (`corscope split`)."""
    d = tmp_path_factory.mktemp("shards")
    cap = d / "g.pcap"
    run(cli, "generate-pcap", str(cap), "--bytes", "1500000", "--seed", "5")
    out = d / "out"
    run(cli, "split", "--shards", "5", "--out", str(out), str(cap))
    files = sorted(str(p) for p in out.glob("*.pcapng"))
    assert len(files) == 5
    return {"capture": cap, "files": files}
