"""Command output without timestamps: build logs, package managers, ``cp -v``, shell traces.

``make``, ``apt-get``, ``pip install``, ``cp -rv``, ``tar -v`` or a ``set -x`` script print
one record per line in a few repeating shapes, and their failures (``cannot stat``,
``E: Unable to locate package``, ``exit status 2``, a Traceback) carry no level word. Read
as prose or as unknown code they are either cut sentence by sentence or not cut at all;
read as a log, their repeats collapse and their failures stay. The test: most sampled
lines fall into line templates that repeat (mined as for logs), few lines are indented,
and the text is neither YAML nor markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from headroom.compressors.logs.templates import mine

__all__ = ["is_output"]

#: Sampled lines needed before the shape of the text can tell.
MIN_ROWS = 12
#: Share of lines that must belong to a template seen at least :data:`REPEATS` times.
MIN_COVERED = 0.5
REPEATS = 3
#: ... and has this many tokens at least (a list of single words is no command's output).
MIN_TOKENS = 3
#: More indented lines than this share means code (or an outline), not a command's records.
MAX_INDENTED = 0.4
#: This share of ``key: value`` lines (YAML) or ``<tag …>`` lines (XML) is a data file.
MAX_DATA = 0.5
_YAML = re.compile(r"\s*(?:- )?[\w.\-\"']+:(?:\s|$)")


def is_output(rows: Sequence[str]) -> bool:
    """Whether non-blank ``rows`` (a sample) read as line records of a command."""
    n = len(rows)
    if n < MIN_ROWS or sum(1 for r in rows if r[0].isspace()) > MAX_INDENTED * n:
        return False
    data = sum(1 for r in rows if _YAML.match(r) or (r.lstrip()[:1] == "<" and r.rstrip()[-1:] == ">"))
    if data > MAX_DATA * n:
        return False
    mined = mine("\n".join(rows))
    covered = sum(t.count for t in mined.templates if t.count >= REPEATS and len(t.tokens) >= MIN_TOKENS)
    return covered >= MIN_COVERED * n
