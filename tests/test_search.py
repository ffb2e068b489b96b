"""Search-result compression: lossless grouping, question ranking, markers and refs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom import compress as compress_messages
from headroom import retrieve
from headroom.ccr.markers import find_markers, make_ref
from headroom.ccr.store import MemoryStore
from headroom.compressors.search.grep import Group, compress, parse
from headroom.config import Config
from headroom.router import detect
from headroom.tokens import count_text

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cases"
CFG = Config()
LOSSLESS = Config(lossless_only=True)


def grep(files: dict[str, list[tuple[int, str]]]) -> str:
    return "\n".join(f"{path}:{n}:{text}" for path, hits in files.items() for n, text in hits)


def hits_of(output: str) -> set[tuple[str | None, str, str]]:
    """(path, line, text) of every hit in a grouped or raw output, ``also at lines`` notes expanded."""
    lines = output.split("\n")
    expanded: list[str] = []
    for line in lines:
        note = re.fullmatch(r"\[… also at lines ([\d,]+)\]", line)
        if note:
            _, sep, text = re.match(r"(\d+)([:-])(.*)", expanded[-1]).groups()  # type: ignore[union-attr]
            expanded.extend(f"{n}{sep}{text}" for n in note.group(1).split(","))
        else:
            expanded.append(line)
    doc = parse("\n".join(expanded))
    assert doc is not None
    out: set[tuple[str | None, str, str]] = set()
    for item in doc:
        if isinstance(item, Group):
            out.update((item.path, e.loc, e.text) for e in item.entries if e is not None)
    return out


BIG = {
    **{f"src/module_{i}.py": [(10 * j + 1, f"    value_{j} = compute(timeout={j})") for j in range(12)]
       for i in range(8)},
    "src/net/adapter.py": [(40, "    def send(self, request, timeout=None):"),
                           (52, "            connect, read = timeout"),
                           (55, '        raise ValueError(f"Invalid timeout {timeout}. Pass a (connect, read) tuple")'),
                           (90, "    # timeout handling ends")],
}


# -- parsing ---------------------------------------------------------------------------------


def test_formats_are_recognised() -> None:
    prefixed = parse("a.py:1:x = 1\na.py:7:y = 2\nb.py:3:z = 3")
    assert prefixed is not None and [g.path for g in prefixed if isinstance(g, Group)] == ["a.py", "b.py"]
    heading = parse("a.py\n1:x = 1\n7:y = 2\n\nb.py\n3:z = 3")
    assert heading is not None and [g.path for g in heading if isinstance(g, Group)] == ["a.py", "b.py"]
    unnumbered = parse("src/a.py:x = 1\nsrc/a.py:y = 2\nsrc/b.py:z = 3")
    assert unnumbered is not None and len([g for g in unnumbered if isinstance(g, Group)]) == 2
    assert parse("Dear reader,\nthis is prose.\nNothing here is a hit.") is None


def test_context_lines_and_separators_stay_with_their_file() -> None:
    text = "my-lib.js-9-// before\nmy-lib.js:10:throw new Error('boom')\nmy-lib.js-11-}\n--\nmy-lib.js:40:x()"
    doc = parse(text)
    assert doc is not None
    (group,) = [g for g in doc if isinstance(g, Group)]
    assert group.path == "my-lib.js"
    assert [(e.loc, e.match) if e else None for e in group.entries] == \
        [("9", False), ("10", True), ("11", False), None, ("40", True)]
    out = compress(text, "", LOSSLESS).text
    assert out == "my-lib.js\n9-// before\n10:throw new Error('boom')\n11-}\n--\n40:x()"


def test_grouping_prints_each_path_once_and_folds_identical_lines() -> None:
    text = grep({"tests/test_low.py": [(14, "    consume(sock, timeout=0.5)"), (20, "    other()"),
                                        (43, "    consume(sock, timeout=0.5)")]})
    result = compress(text, "", LOSSLESS)
    assert result.text == "tests/test_low.py\n14:    consume(sock, timeout=0.5)\n[… also at lines 43]\n20:    other()"
    assert result.omissions == [] and result.strategy == "search-group"
    assert hits_of(result.text) == hits_of(text)


paths = st.sampled_from(["a.py", "src/b.js", "lib/c d.rb", "x/y/z.go"])
texts = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"), max_size=30)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(paths, st.integers(1, 500), texts), min_size=1, max_size=40))
def test_lossless_grouping_keeps_every_hit(rows: list[tuple[str, int, str]]) -> None:
    text = "\n".join(f"{p}:{n}:{t}" for p, n, t in rows)
    result = compress(text, "anything", LOSSLESS)
    assert result.omissions == [] and all(m.ref is None for m in find_markers(result.text))
    assert hits_of(result.text) == hits_of(text)
    assert compress(result.text, "anything", LOSSLESS).text == result.text  # a second pass changes nothing


# -- ranking ---------------------------------------------------------------------------------


def test_question_ranks_the_answer_in_and_marks_the_rest() -> None:
    text = grep(BIG)
    question = "Where is the timeout unpacked and which error does a 3-tuple raise?"
    result = compress(text, question, CFG)
    assert result.strategy == "search-rank"
    assert "connect, read = timeout" in result.text
    assert "Pass a (connect, read) tuple" in result.text
    shown = hits_of(_without_markers(result.text))
    total = sum(len(h) for h in BIG.values())
    # the markers' counts plus what is shown account for every match
    counted = sum(int(m.group(1)) for m in re.finditer(r"\[… (\d+) more matches in this file", result.text))
    closing = re.search(r"(\d+) more files with (\d+) matches", result.text)
    counted += int(closing.group(2)) if closing else 0
    assert len(shown) + counted == total
    # one ref holds exactly the dropped lines, as grep printed them, in order
    (omission,) = result.omissions
    dropped = [line for line in text.split("\n") if _hit(line) not in shown]
    assert omission.original == "\n".join(dropped)
    assert omission.ref == make_ref(omission.original)
    assert [m.ref for m in find_markers(result.text) if m.ref] == [omission.ref]


def _hit(line: str) -> tuple[str, str, str]:
    path, n, text = line.split(":", 2)
    return path, n, text


def _without_markers(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith("[… ") or "also at lines" in line)


def test_budget_follows_keep_scale_and_lossless_only_keeps_all() -> None:
    text = grep(BIG)
    sizes = [len(hits_of(_without_markers(compress(text, "timeout", CFG.with_(keep_scale=k)).text)))
             for k in (0.5, 1.0, 2.0)]
    assert sizes[0] < sizes[1] < sizes[2]
    assert hits_of(compress(text, "timeout", LOSSLESS).text) == hits_of(text)


def test_without_ccr_markers_carry_no_ref() -> None:
    result = compress(grep(BIG), "timeout", CFG.with_(ccr=False))
    assert result.omissions == []
    marks = find_markers(result.text)
    assert marks and all(m.ref is None for m in marks)


def test_no_question_spreads_the_budget_over_files() -> None:
    result = compress(grep(BIG), "", CFG.with_(options={"search": {"base_matches": 9}}))
    kept_files = {p for p, _, _ in hits_of(_without_markers(result.text))}
    assert len(kept_files) == len(BIG)  # every file keeps its first hit before any keeps a second


def test_long_minified_line_is_cut_around_the_question_term() -> None:
    line = "a" * 3000 + "needleFunction()" + "b" * 3000
    text = grep({"dist/app.min.js": [(1, line)], "src/x.js": [(3, "short")]})
    result = compress(text, "where is needleFunction called?", CFG)
    assert "needleFunction()" in result.text
    assert len(result.text) < 1000
    assert "".join(o.original for o in result.omissions) == line.replace(_kept_piece(result.text, line), "")


def _kept_piece(output: str, line: str) -> str:
    shown = output.split("1:", 1)[1].split("\n", 1)[0]
    return re.sub(r"\[… [^\]]*\]", "", shown)


def test_deterministic() -> None:
    text = grep(BIG)
    assert compress(text, "timeout tuple", CFG) == compress(text, "timeout tuple", CFG)


# -- through the pipeline and on the bench ---------------------------------------------------------


def test_pipeline_routes_grep_output_here_and_refs_retrieve_the_dropped_lines() -> None:
    text = grep(BIG)
    assert detect(text).kind.value == "search"
    msgs = [{"role": "user", "content": "Where is the timeout unpacked?"},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "grep", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": text}]
    store = MemoryStore()
    out = compress_messages(msgs, "gpt-4o", store=store).messages[2]["content"]
    refs = [m.ref for m in find_markers(out) if m.ref]
    assert refs
    restored = hits_of(_without_markers(out)) | hits_of(retrieve(refs[0], store=store))
    assert restored == hits_of(text)


def _cases(prefix: str) -> list[Path]:
    return sorted(BENCH.glob(f"{prefix}*.json")) if BENCH.is_dir() else []


def _tool_outputs(case: dict[str, object]) -> list[str]:
    outs: list[str] = []
    for msg in case["messages"]:  # type: ignore[attr-defined]
        if msg.get("role") == "tool":
            outs.append(msg["content"])
        elif isinstance(msg.get("content"), list):
            outs.extend(b["content"] for b in msg["content"] if b.get("type") == "tool_result")
    return outs


@pytest.mark.skipif(not _cases("search_"), reason="../shared/bench not beside the checkout")
def test_bench_search_cases_keep_every_needle_and_save_45_percent() -> None:
    before = after = 0
    for path in _cases("search_"):
        case = json.loads(path.read_text(encoding="utf-8"))
        for text in _tool_outputs(case):
            result = compress(text, case["question"], CFG)
            lost = [n for n in case["needles"] if n in text and n not in result.text]
            assert not lost, (path.stem, lost)
            before += count_text(text)
            after += count_text(result.text)
    assert after <= 0.55 * before
