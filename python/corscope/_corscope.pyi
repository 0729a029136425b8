"""Type hints of corscope's compiled half (``corscope._corscope``); use ``corscope``."""

from typing import Iterator, List, Optional, Sequence, Tuple

__version__: str

class CorscopeError(Exception):
    """An input or a summary could not be read; the message names the file and the place."""

    summary: "Summary"

class Summary:
    """Counts per verdict, reason and endpoint, and the inputs covered. Merges exactly, in
    any grouping and order; pickles as its JSON."""

    def __init__(self) -> None: ...
    @staticmethod
    def from_json(text: str, name: str = "<string>") -> "Summary":
        """From ``corscope --summary --format ndjson|json`` output or ``corscope merge``'s."""
    @staticmethod
    def load(path: str) -> "Summary":
        """From a JSON summary file."""
    def merge(self, other: "Summary") -> None:
        """Adds ``other`` into this summary."""
    def __add__(self, other: "Summary") -> "Summary": ...
    def to_json(self) -> str:
        """The JSON ``corscope merge`` prints."""
    def __eq__(self, other: object) -> bool: ...
    @property
    def browser(self) -> str: ...
    @property
    def requests(self) -> int: ...
    @property
    def blocked(self) -> int: ...
    @property
    def unknown(self) -> int: ...
    @property
    def errors(self) -> List[str]: ...
    @property
    def dropped(self) -> List[str]:
        """Fields of the loaded JSON that do not merge (the endpoint report)."""

class Records:
    """Batches of records (JSON lines) of one input, analysed on a thread of its own."""

    def __init__(
        self,
        path: str,
        browser: Optional[str] = None,
        all: bool = False,
        limits: Sequence[Tuple[str, int]] = (),
        batch: int = 1024,
    ) -> None: ...
    def __iter__(self) -> Iterator[List[str]]: ...
    def __next__(self) -> List[str]: ...
    @property
    def summary(self) -> Optional[Summary]: ...
    @property
    def error(self) -> Optional[str]: ...

def limits() -> List[Tuple[str, int]]: ...
def record_fields() -> List[Tuple[str, str, bool]]: ...
