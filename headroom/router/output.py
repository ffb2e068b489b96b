"""Command output without timestamps: build logs, package managers, ``cp -v``, shell traces.

``make``, ``apt-get``, ``pip install``, ``cp -rv``, ``tar -v`` or a ``set -x`` script print
one record per line in a few repeating shapes, and their failures (``cannot stat``,
``E: Unable to locate package``, ``exit status 2``, a Traceback) carry no level word. Read
as prose or as unknown code they are either cut sentence by sentence or not cut at all;
read as a log, their repeats collapse and their failures stay. The test: many sampled
lines fall into line templates that repeat (mined as for logs; how many depends on what
else the text could be), and the text is neither YAML nor markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from headroom.compressors.logs.templates import WILD, mine

__all__ = ["is_output"]

#: Sampled lines needed before the shape of the text can tell.
MIN_ROWS = 12
#: Share of lines that must belong to a template seen at least :data:`REPEATS` times, by
#: what else the text could be: unknown code (and no more than :data:`MAX_INDENTED`
#: indented lines), prose (command output indents nested steps: pip's subprocesses,
#: gcc's caret lines, tracebacks), or code in another language (a parse showed it is not
#: this one: only a failing tool's records, see below, are taken for output then).
COVERED = {"code": 0.5, "prose": 0.4, "none": 1.0}
#: A tool's own failure line (``ERROR: …``, ``x.c:9:3: error: …``, ``cp: cannot stat …``,
#: ``Traceback``) lowers the share to this against prose (a changelog or a licence has none)
#: and to :data:`COVERED_NOT_CODE` where a parse showed the text is no code.
COVERED_FAILING = 0.3
COVERED_NOT_CODE = 0.25
_TOOL_FAILURE = re.compile(
    r"\s*(?:ERROR|Error|error|E|FATAL|fatal|FAILED|Failed)\b:|Traceback \(most recent call last\)|"
    r"[\w./-]+: (?:cannot|can't|error|fatal|failed)\b|\S+:\d+(?::\d+)?: (?:fatal )?error\b")
REPEATS = 3
#: ... and has this many tokens at least (a list of single words, roff's ``.B name`` lines
#: are no command's output; one fewer where a parse showed the text is no code).
MIN_TOKENS = 3
MAX_INDENTED = 0.4
#: This share of ``key: value`` lines (YAML) or ``<tag …>`` lines (XML) is a data file.
MAX_DATA = 0.5
_YAML = re.compile(r"\s*(?:- )?[\w.\-\"']+:(?:\s|$)")


def is_output(rows: Sequence[str], rival: Literal["code", "prose", "none"] = "code") -> bool:
    """Whether non-blank ``rows`` (a sample) read as line records of a command rather than
    as ``rival``."""
    n = len(rows)
    if n < MIN_ROWS or (rival == "code" and sum(1 for r in rows if r[0].isspace()) > MAX_INDENTED * n):
        return False
    data = sum(1 for r in rows if _YAML.match(r) or (r.lstrip()[:1] == "<" and r.rstrip()[-1:] == ">"))
    if data > MAX_DATA * n:
        return False
    mined = mine("\n".join(rows))
    least = MIN_TOKENS - (rival == "none")  # ``import <*>`` lines of an import sweep: no code, we know
    repeated = [t for t in mined.templates if t.count >= REPEATS and len(t.tokens) >= least]
    covered = sum(t.count for t in repeated)
    if rival == "code":
        return covered >= COVERED[rival] * n
    # records vary in their values: lines repeated word for word (a licence pasted twice,
    # a banner) count only beside a failing tool's line
    if sum(t.count for t in repeated if any(WILD in k for k in t.tokens)) >= COVERED[rival] * n:
        return True
    # below its share, prose (or code in another language) only loses to the records of a failing tool
    floor = COVERED_FAILING if rival == "prose" else COVERED_NOT_CODE
    return covered >= floor * n and any(_TOOL_FAILURE.match(r) for r in rows)
