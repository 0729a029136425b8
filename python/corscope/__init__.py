"""corscope: why did the browser block that cross-origin request?

Reads HAR exports and pcap/pcapng captures (gzip'd too), rebuilds every CORS flow and decides
it the way Chromium, Firefox and Safari would, with the reason and the server fix.

- :func:`analyze` yields the records of one input as dicts (the fields of
  ``corscope --format ndjson``); :attr:`Analysis.summary` is its summary once exhausted.
- :func:`summarize` returns the summary only (no dicts are built).
- :func:`record_batches` and :func:`write_parquet` give the records as Arrow record batches
  or a Parquet file (they need ``pyarrow``).
- :class:`Summary` merges exactly, in any grouping and order: audit shards of a capture
  (``corscope split``) anywhere and add their summaries up.

Limits (``max_entry_bytes=...``, the command line's ``--max-entry-bytes``) are keyword
arguments; :func:`limits` lists them with their defaults. An input that cannot be read raises
:class:`CorscopeError` naming the file and the place, after the records read before it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ._corscope import CorscopeError, Summary, __version__
from ._corscope import Records as _Records
from ._corscope import limits as _limits
from ._corscope import record_fields as _record_fields

__all__ = [
    "Analysis",
    "CorscopeError",
    "Summary",
    "analyze",
    "arrow_schema",
    "limits",
    "record_batches",
    "summarize",
    "write_parquet",
    "__version__",
]


def limits() -> Dict[str, int]:
    """The limits the analysing functions take as keywords, with their defaults."""
    return dict(_limits())


def _limit_pairs(given: Dict[str, Any]) -> List[Tuple[str, int]]:
    pairs = []
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError(f"limit {name}={value!r}: expected a non-negative int")
        pairs.append((name, value))
    return pairs


class Analysis:
    """The records of one input, as dicts, in time order of their flows.

    Iterate it once. When it is exhausted, :attr:`summary` is the input's summary (as
    ``corscope --summary --format ndjson`` prints it). If reading stopped at an error, the
    records before it are yielded first, then :class:`CorscopeError` is raised; its
    ``summary`` attribute holds the summary of what was read.
    """

    def __init__(
        self,
        path: str,
        browser: Optional[str] = None,
        all: bool = False,
        batch: int = 1024,
        **limits: int,
    ) -> None:
        self._records = _Records(str(path), browser, all, _limit_pairs(limits), batch)
        self._lines: Iterator[str] = iter(())
        self.summary: Optional[Summary] = None

    def __iter__(self) -> "Analysis":
        return self

    def __next__(self) -> Dict[str, Any]:
        while True:
            line = next(self._lines, None)
            if line is not None:
                return json.loads(line)
            batch = self.lines_batch()
            if batch is None:
                raise StopIteration
            self._lines = iter(batch)

    def lines_batch(self) -> Optional[List[str]]:
        """The next batch of records as JSON lines, or None at the end (raising
        :class:`CorscopeError` there if reading stopped at an error)."""
        batch = next(self._records, None)
        if batch is not None:
            return batch
        if self.summary is None:
            self.summary = self._records.summary
            error = self._records.error
            if error is not None:
                e = CorscopeError(error)
                e.summary = self.summary
                raise e
        return None


def analyze(
    path: str, browser: Optional[str] = None, *, all: bool = False, **limits: int
) -> Analysis:
    """Analyses one input (a HAR, pcap or pcapng file, gzip'd or not) and yields its records.

    ``browser`` (``"chromium"``, ``"firefox"``, ``"safari"``) is the browser the summary
    speaks for; by default the one that recorded the input. Every record holds all three
    browsers' verdicts whatever it is. ``all=True`` also yields same-origin and no-cors
    requests (verdict ``not-cors``). Limits are keywords (see :func:`limits`); an unknown
    one raises ``TypeError``, a value below the limit's minimum ``ValueError``.
    """
    return Analysis(path, browser, all, **limits)


def summarize(
    path: str, browser: Optional[str] = None, *, all: bool = False, **limits: int
) -> Summary:
    """The summary of one input, without building its records as Python objects.

    Raises :class:`CorscopeError` if the input could not be read to its end (the exception's
    ``summary`` is what was read before the error).
    """
    a = Analysis(path, browser, all, batch=65536, **limits)
    while a.lines_batch() is not None:
        pass
    assert a.summary is not None  # set by the last lines_batch()
    return a.summary


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "corscope's Arrow and Parquet output needs pyarrow: pip install pyarrow"
        ) from e
    return pyarrow


_ARROW_TYPES = {
    "string": "string",
    "integer": "int64",
    "number": "float64",
    "boolean": "bool_",
    # Objects (the preflight) as their JSON text: one flat, stable schema.
    "object": "string",
}


def arrow_schema() -> Any:
    """The Arrow schema of the record batches: one column per record field (the
    ``preflight`` object as JSON text)."""
    pa = _pyarrow()
    return pa.schema(
        [
            pa.field(name, getattr(pa, _ARROW_TYPES[ty])(), nullable=nullable)
            for name, ty, nullable in _record_fields()
        ]
    )


def record_batches(
    path: str,
    browser: Optional[str] = None,
    *,
    batch_size: int = 65536,
    all: bool = False,
    **limits: int,
) -> Iterator[Any]:
    """Yields the records of one input as ``pyarrow.RecordBatch``es of :func:`arrow_schema`.

    Raises :class:`CorscopeError` after the last batch if reading stopped at an error.
    """
    a = Analysis(path, browser, all, batch=batch_size, **limits)
    yield from _batches_of(a, arrow_schema())


def write_parquet(
    path: str,
    out: str,
    browser: Optional[str] = None,
    *,
    all: bool = False,
    **limits: int,
) -> Summary:
    """Writes the records of one input to the Parquet file ``out``; returns its summary.

    If reading stopped at an error, the records before it are written and
    :class:`CorscopeError` is raised.
    """
    _pyarrow()
    import pyarrow.parquet as pq

    a = Analysis(path, browser, all, batch=65536, **limits)
    schema = arrow_schema()
    writer = pq.ParquetWriter(str(out), schema)
    try:
        for batch in _batches_of(a, schema):
            writer.write_batch(batch)
    finally:
        writer.close()
    assert a.summary is not None  # set when the batches ended
    return a.summary


def _batches_of(a: Analysis, schema: Any) -> Iterator[Any]:
    pa = _pyarrow()
    objects = [name for name, ty, _ in _record_fields() if ty == "object"]
    while True:
        lines = a.lines_batch()
        if lines is None:
            return
        rows = [json.loads(line) for line in lines]
        for row in rows:
            for name in objects:
                if row.get(name) is not None:
                    row[name] = json.dumps(row[name], separators=(",", ":"))
        yield pa.RecordBatch.from_pylist(rows, schema=schema)
