"""Content kinds the router tells apart; each routes to one compressor module."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(str, Enum):
    JSON = "json"
    JSONL = "jsonl"
    LOGS = "logs"
    TEST_OUTPUT = "test_output"
    SEARCH = "search"
    DIFF = "diff"
    CODE = "code"
    HTML = "html"
    MARKDOWN = "markdown"
    TEXT = "text"
    CSV = "csv"
    TABLE = "table"  # whitespace-aligned text tables: ls -l, ps aux, df -h, dpkg -l, kubectl get

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Detection:
    """What the router found. ``language`` is set for :attr:`Kind.CODE` (``python``,
    ``javascript``, ``typescript``, ``tsx``, ``go``, ``rust``, ``java`` or ``other``);
    ``numbered`` means the text is a file read with line-number prefixes (``cat -n``,
    ``     1→``) and ``kind`` describes the text without them."""

    kind: Kind
    language: str | None = None
    numbered: bool = False

    @property
    def label(self) -> str:
        base = f"{self.kind.value}:{self.language}" if self.language else self.kind.value
        return f"numbered {base}" if self.numbered else base
