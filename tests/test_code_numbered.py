"""Numbered file reads of code (``cat -n``, ``N→``): kept lines keep their true numbers,
markers and blank lines carry none, and retrieving a ref through the store gives back
exactly the lines it replaced."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_code_samples import GO, JAVA, PYTHON, SAMPLES

from headroom import compress as compress_messages
from headroom import retrieve
from headroom.ccr.markers import find_markers
from headroom.ccr.store import MemoryStore
from headroom.compressors.numbered import _split_increasing, renumber, split_numbered
from headroom.config import Config
from headroom.kinds import Detection, Kind
from headroom.pipeline import run_compressor

CFG = Config(options={"code": {"min_tokens": 100}})


def _numbered(text: str, arrow: bool = False) -> str:
    return "\n".join(f"{i:6d}{'→' if arrow else chr(9)}{line}" for i, line in enumerate(text.split("\n"), 1))


_LINE = re.compile(r"^ *(\d+)(?:\t|→)(.*)$")


@pytest.mark.parametrize("lang", sorted(SAMPLES))
@pytest.mark.parametrize("arrow", [False, True])
def test_every_numbered_line_is_the_original_line_of_that_number(lang: str, arrow: bool) -> None:
    text = SAMPLES[lang]
    original = text.split("\n")
    comp = run_compressor(Detection(Kind.CODE, lang, numbered=True), _numbered(text, arrow), "", CFG)
    assert comp.strategy == "code:skeleton"
    numbers = []
    for line in comp.text.split("\n"):
        m = _LINE.match(line)
        if m:
            numbers.append(int(m.group(1)))
            assert original[int(m.group(1)) - 1] == m.group(2)
        else:
            assert not line or find_markers(line), line  # only markers and blank lines are unnumbered
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_a_closing_brace_after_an_omitted_body_keeps_its_own_number() -> None:
    """Greedy matching alone would give the class's `}` the number of the first `}`
    inside an omitted body; the marker's line count moves past the body instead."""
    comp = run_compressor(Detection(Kind.CODE, "java", numbered=True), _numbered(JAVA), "", CFG)
    last = [line for line in comp.text.split("\n") if line.strip()][-1]
    assert last == f"{len(JAVA.split(chr(10))) - 1:6d}\t}}"
    kept_braces = [line for line in comp.text.split("\n") if line.endswith("\t    }")]
    originals = [i for i, line in enumerate(JAVA.split("\n"), 1) if line == "    }"]
    assert kept_braces and all(int(b.split("\t")[0]) in originals for b in kept_braces)


def test_renumber_follows_marker_counts_and_recovers_from_wrong_ones() -> None:
    body = ["func a() {", "\tx := 1", "\treturn x", "}", "", "func b() {", "\ty()", "}"]
    prefixes = [f"{i:6d}\t" for i in range(1, len(body) + 1)]
    out = renumber(prefixes, body, "func a() {\n}  // [… 3 lines · headroom_retrieve ref=0123456789ab]\n\n"
                   "func b() {\n\ty()\n}")
    assert out.split("\n") == ["     1\tfunc a() {", "}  // [… 3 lines · headroom_retrieve ref=0123456789ab]", "",
                               "     6\tfunc b() {", "     7\t\ty()", "     8\t}"]
    wrong = renumber(prefixes, body, "func a() {\n[… 40 lines]\nfunc b() {\n}")
    assert wrong.split("\n")[2:] == ["     6\tfunc b() {", "     8\t}"]
    folded = renumber(prefixes[:4], ["x", "x", "x", "y"], "x\n[… previous line ×2 more]\ny")
    assert folded.split("\n")[-1] == "     4\ty"


def test_split_and_renumber_round_trip_unchanged_text() -> None:
    numbered = _numbered(PYTHON)
    split = split_numbered(numbered)
    assert split is not None
    prefixes, body = split
    expected = [line if text else "" for line, text in zip(numbered.split("\n"), body)]
    assert renumber(prefixes, body, "\n".join(body)).split("\n") == expected


def test_retrieve_gives_back_exactly_the_replaced_lines() -> None:
    question = "Where is the persistent pre-run hook chosen?"
    messages = [{"role": "user", "content": question},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": _numbered(GO)}]
    store = MemoryStore()
    result = compress_messages(messages, "gpt-4o", store=store, min_unit_tokens=50,
                               options={"code": {"min_tokens": 100, "min_saving": 0.05}})
    out = result.messages[2]["content"]
    [unit] = result.units
    assert unit.strategy == "code:skeleton" and result.tokens_saved > 0
    assert "p.PersistentPreRun(c, args)" in out
    lines = GO.split("\n")
    numbered = [(int(m.group(1)), m.group(2)) for m in map(_LINE.match, out.split("\n")) if m]
    for line in out.split("\n"):
        for marker in find_markers(line):
            assert marker.ref is not None
            original = retrieve(marker.ref, store=store)
            count = int(marker.summary.split(" ")[0])
            assert original.count("\n") + 1 == count
            assert original in GO
    # kept lines plus retrieved originals cover the file
    kept = {n for n, _ in numbered}
    assert all(lines[n - 1] == text for n, text in numbered) and len(kept) < len(lines)


_NUMBERED_LINES = st.lists(st.tuples(st.one_of(st.none(), st.integers(min_value=0, max_value=2000)),
                                     st.sampled_from(["\t", "→", "| ", ": "]),
                                     st.sampled_from(["", "x = 1", "  return y", "12\tnot a prefix", "→", " "])),
                           max_size=40)


@settings(max_examples=300, deadline=None)
@given(_NUMBERED_LINES, st.booleans())
def test_split_numbered_matches_the_line_by_line_split(rows: list[tuple[int | None, str, str]], count_up: bool) -> None:
    lines = []
    for k, (number, sep, body) in enumerate(rows):
        if number is None:
            lines.append(body)  # a wrapped line without a prefix
        else:
            lines.append(f"{(k + 1 if count_up else number):6d}{sep}{body}")
    text = "\n".join(lines)
    expected = _split_increasing(text.split("\n"))
    assert split_numbered(text) == expected
