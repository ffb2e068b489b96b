"""Text the router took for code that a parse shows is not code in that language.

Too many syntax errors mean the router guessed wrong: when the text reads as the records
of a failing tool (an ``import x`` sweep, tracebacks, a build log quoting source), the log
compressor takes it, and no other grammar is tried first; anything else is folded like
unknown code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headroom.compressors.base import Compressed
from headroom.compressors.lossless import fold_lines

if TYPE_CHECKING:
    from headroom.compressors.code.source import Source
    from headroom.config import Config

__all__ = ["MAX_ERRORS", "MAX_ERROR_RATE", "as_log", "foreign", "not_code", "reads_as_output"]

#: A parse with more syntax errors than this (or this many per line) means the file is
#: not in that language.
MAX_ERRORS = 8
MAX_ERROR_RATE = 0.02
#: Lines a tool's output is judged by.
OUTPUT_SAMPLE = 400


def foreign(errors: int, source: Source) -> bool:
    """Too many syntax errors for the file to be in the language it was parsed as."""
    return errors > max(MAX_ERRORS, len(source.raw) * MAX_ERROR_RATE)


def reads_as_output(text: str) -> bool:
    """The records of a failing tool, by their first non-blank lines (see
    :func:`headroom.router.output.is_output`)."""
    from headroom.router.output import is_output

    head = text.split("\n", OUTPUT_SAMPLE)[:OUTPUT_SAMPLE]
    return is_output([ln for ln in head if ln.strip()], "none")


def as_log(text: str, question: str, config: Config) -> Compressed:
    """``text`` compressed by the log compressor."""
    from headroom.compressors.logs import compress as compress_log

    return compress_log(text, question, config)


def not_code(text: str, question: str, config: Config) -> Compressed:
    """A tool's output goes to the log compressor; anything else is folded."""
    if reads_as_output(text):
        return as_log(text, question, config)
    return Compressed(fold_lines(text), "code:fold")  # not this language after all
