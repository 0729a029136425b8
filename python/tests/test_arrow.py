"""Arrow record batches and Parquet: the same rows as the dicts (pyarrow is optional)."""

from __future__ import annotations

import json

import pytest

import corscope
from conftest import DATA

HAR = DATA / "chromium" / "devtools.har"

pa = pytest.importorskip("pyarrow")


def test_arrow_batches_and_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")

    records = list(corscope.analyze(str(HAR)))
    table = pa.Table.from_batches(list(corscope.record_batches(str(HAR), batch_size=50)))
    assert table.num_rows == len(records)
    assert table.schema == corscope.arrow_schema()
    assert table.column_names == list(records[0].keys())
    rows = table.to_pylist()
    for r in rows:
        if r["preflight"] is not None:
            r["preflight"] = json.loads(r["preflight"])
    assert rows == records
    out = tmp_path / "r.parquet"
    summary = corscope.write_parquet(str(HAR), str(out))
    assert summary == corscope.summarize(str(HAR))
    assert pq.read_table(out).to_pylist() == table.to_pylist()
