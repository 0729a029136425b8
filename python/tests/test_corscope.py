"""The package against the command line on committed and generated inputs: the same records,
the same summaries, exact merges, and errors that name the file and the place."""

from __future__ import annotations

import itertools
import json
import pickle
from pathlib import Path

import pytest

import corscope
from conftest import DATA, cli_records, cli_summary, run, without_inputs

HAR = DATA / "chromium" / "devtools.har"
PCAP = DATA / "captures" / "firefox.pcap"


@pytest.mark.parametrize("path", [HAR, PCAP], ids=["har", "pcap"])
def test_records_and_summary_are_the_cli_s(cli, path):
    a = corscope.analyze(str(path))
    records = list(a)
    assert len(records) > 20
    assert records == cli_records(cli, path)
    assert json.loads(a.summary.to_json()) == cli_summary(cli, path)
    assert corscope.summarize(str(path)) == a.summary
    assert a.summary.requests == len(records)


def test_browser_and_all(cli):
    ff = corscope.summarize(str(HAR), "firefox")
    assert ff.browser == "firefox"
    out = run(cli, "--summary", "--format", "ndjson", "--exit-zero", "--browser", "firefox", str(HAR))
    assert json.loads(ff.to_json()) == json.loads(out.stdout)
    every = list(corscope.analyze(str(HAR), all=True))
    assert len(every) >= corscope.summarize(str(HAR)).requests
    with pytest.raises(ValueError, match="lynx"):
        corscope.analyze(str(HAR), "lynx")


def test_limits_are_keywords():
    assert corscope.limits()["max_entry_bytes"] > 0
    small = list(corscope.analyze(str(HAR), max_entry_bytes=600))
    assert len(small) < len(list(corscope.analyze(str(HAR))))
    with pytest.raises(TypeError, match="max_entries_please"):
        corscope.analyze(str(HAR), max_entries_please=1)
    with pytest.raises(TypeError, match="non-negative int"):
        corscope.analyze(str(HAR), max_entry_bytes="1M")
    # Below a limit's minimum, as the command line refuses it (it was raised unsaid).
    with pytest.raises(ValueError, match="max_connections.*smallest value that works, 1"):
        corscope.analyze(str(HAR), max_connections=0)


def test_shard_summaries_merge_to_the_single_run(cli, shards):
    single = without_inputs(corscope.summarize(str(shards["capture"])).to_json())
    parts = [corscope.summarize(f) for f in shards["files"]]
    assert all(p.requests > 0 for p in parts)
    for order in itertools.islice(itertools.permutations(range(len(parts))), 0, None, 17):
        total = corscope.Summary()
        for i in order:
            total.merge(parts[i])
        assert without_inputs(total.to_json()) == single, order
    # Another grouping: (a + b) + (c + (d + e)).
    a, b, c, d, e = parts
    assert without_inputs(((a + b) + (c + (d + e))).to_json()) == single
    # The CLI's merge of the CLI's summaries is the same value.
    files = []
    for i, f in enumerate(shards["files"]):
        p = Path(f).with_suffix(".summary.json")
        p.write_text(run(cli, "--summary", "--format", "ndjson", "--exit-zero", f).stdout)
        files.append(str(p))
        assert corscope.Summary.load(str(p)) == parts[i]
    merged = run(cli, "merge", *files).stdout
    assert corscope.Summary.from_json(merged) == sum(parts, corscope.Summary())


def test_summaries_pickle_as_their_json():
    s = corscope.summarize(str(HAR))
    back = pickle.loads(pickle.dumps(s))
    assert back == s and back.to_json() == s.to_json()
    assert "requests" in repr(s)


def test_bad_inputs_raise_errors_naming_file_and_place(tmp_path):
    missing = tmp_path / "missing.har"
    with pytest.raises(corscope.CorscopeError, match="missing.har"):
        list(corscope.analyze(str(missing)))
    # A capture cut inside a packet: the records before the cut, then the error.
    data = PCAP.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) * 2 // 3 + 5])
    a = corscope.analyze(str(cut))
    got = []
    with pytest.raises(corscope.CorscopeError) as e:
        for r in a:
            got.append(r)
    assert "cut.pcap" in str(e.value) and "byte" in str(e.value), str(e.value)
    assert got and e.value.summary.requests == len(got)
    assert e.value.summary.errors == [str(e.value)]
    # A summary that is not one.
    junk = tmp_path / "junk.json"
    junk.write_text('{"requests": "many"}')
    with pytest.raises(corscope.CorscopeError, match=r"junk.json: field `requests`"):
        corscope.Summary.load(str(junk))
    with pytest.raises(corscope.CorscopeError, match="<string>: not JSON"):
        corscope.Summary.from_json("{")


def test_dropping_the_iterator_early_stops_the_analysis():
    a = corscope.Analysis(str(PCAP), batch=1)
    first = next(a)
    assert first["source"] == str(PCAP)
    del a  # the analysing thread ends (a hang here would time the test out)
