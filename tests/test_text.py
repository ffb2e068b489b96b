"""Prose / Markdown / rst compressor: structure kept, question-relevant sentences kept
verbatim, every dropped run marked in place with a ref that returns exactly that run."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import MARKER_RE, find_markers
from headroom.compressors.base import Compressed
from headroom.compressors.lossless import fold_lines
from headroom.compressors.text.blocks import parse_blocks
from headroom.compressors.text.changelog import asked_sections, heading_versions, is_changelog
from headroom.compressors.text.prose import compress, compress_markdown
from headroom.compressors.text.sentences import sentence_spans
from headroom.config import Config
from headroom.router import detect

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cases"
CFG = Config()

_VOCAB = ("weather valley season committee proposal volunteer fence park bakery station commuter library "
          "hours consultation musician concert market square river bridge harvest festival council garden "
          "teacher student museum painting window morning evening winter summer village road").split()


def _filler(seed: int) -> str:
    """A distinct, question-irrelevant sentence for each seed (a tiny LCG picks the words)."""
    words = []
    x = seed * 7919 + 13
    for _ in range(9 + seed % 5):
        x = (x * 1103515245 + 12345) % 2**31
        words.append(_VOCAB[x % len(_VOCAB)])
    return " ".join(words).capitalize() + "."


def _para(seed: int, n: int = 4) -> str:
    return " ".join(_filler(seed * 10 + k) for k in range(n))


def _doc(sections: int = 12) -> str:
    parts = ["Project Handbook", "================", ""]
    for s in range(sections):
        parts += [f"Section {s}", "-" * 10, "", _para(2 * s), "", _para(2 * s + 1), ""]
        if s == 7:
            parts += ["The retry limit is controlled by ``MAX_RETRY_BUDGET`` and defaults to 17 attempts.", ""]
            parts += [".. code-block:: python", "", "    client = Client(retries=17)", "    client.run()", ""]
    return "\n".join(parts)


def _restore(out: str, comp: Compressed) -> str:
    """``out`` with every marker replaced by the original it stands for."""
    by_ref = {o.ref: o.original for o in comp.omissions}
    return MARKER_RE.sub(lambda m: by_ref[m.group(2)] if m.group(2) else m.group(0), out)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# -- structure -----------------------------------------------------------------------------

def test_blocks_markdown_and_rst() -> None:
    text = ("# Title\n\nIntro text here.\n\nSub\n---\n\n- item one\n  continued\n- item two\n\n"
            "```py\nx = 1\n\ny = 2\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "=====\nOver\n=====\n\n.. note::\n\n   body of the note\n\nliteral::\n\n    code here\n")
    kinds = [(b.kind, text[b.start:b.end].split("\n")[0]) for b in parse_blocks(text)]
    assert kinds == [
        ("heading", "# Title"), ("para", "Intro text here."), ("heading", "Sub"), ("item", "- item one"),
        ("item", "- item two"), ("code", "```py"), ("table", "| a | b |"), ("heading", "====="),
        ("code", ".. note::"), ("para", "literal::"), ("code", "code here"),
    ]
    blocks = parse_blocks(text)
    assert blocks[0].title == "Title" and blocks[2].title == "Sub" and blocks[7].title == "Over"
    assert blocks[3].section == 2  # items belong to the "Sub" section
    fence = blocks[5]
    assert text[fence.start:fence.end] == "```py\nx = 1\n\ny = 2\n```"  # blank line inside a fence


def test_plain_text_man_page_and_help_structure() -> None:
    page = ("LS(1)    User Commands    LS(1)\n\nNAME\n       ls - list directory contents\n\nDESCRIPTION\n"
            "       List information about the FILEs.\n\n       -a, --all\n              do not ignore entries\n\n"
            "       -t     sort by time, newest first\n\nSEE ALSO\n       dircolors(1)\n")
    blocks = parse_blocks(page, indented_code=False)
    assert [b.title for b in blocks if b.kind == "heading"] == ["NAME", "DESCRIPTION", "SEE ALSO"]
    assert [b.kind for b in blocks if page[b.start:b.end].startswith("-")] == ["item", "item"]
    assert "code" not in {b.kind for b in blocks}  # indentation is layout in plain text
    assert "code" in {b.kind for b in parse_blocks(page, indented_code=True)}  # ... and code in Markdown


def test_debian_changelog_entries_are_headings() -> None:
    entry = "pkg ({v}-1) unstable; urgency=medium\n\n  * Change for {v}.\n\n -- A B <a@b.c>  Mon, 01 Jan 2024\n\n"
    log = "".join(entry.format(v=v) for v in ("2.6.1", "2.6.0", "2.5.9", "2.5.8"))
    blocks = parse_blocks(log)
    versions = heading_versions(blocks)
    assert is_changelog(blocks, versions) and sorted(versions.values()) == [(2, 5, 8), (2, 5, 9), (2, 6, 0), (2, 6, 1)]


def test_cjk_sentences() -> None:
    text = "今天天气很好。我们去公园吧！ Then more."
    assert [text[s:e] for s, e in sentence_spans(text)] == ["今天天气很好。", "我们去公园吧！", "Then more."]


def test_windows_line_endings() -> None:
    doc = _doc().replace("\n", "\r\n")
    comp = compress(doc, "How many attempts does the retry budget allow?", CFG)
    assert "Section 3\n----------" in comp.text and "defaults to 17 attempts." in comp.text
    assert "\r" not in comp.text  # folded like every other line ending whitespace


def test_sentences_are_exact_spans() -> None:
    text = "Dr. Smith measured 3.5 kg, e.g. twice.  Then she left!  \"Why?\" Nobody knew. J. Doe agreed."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Smith measured 3.5 kg, e.g. twice.", "Then she left!", '"Why?"', "Nobody knew.", "J. Doe agreed.",
    ]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab .!?\n\"'E1", max_size=200))
def test_sentence_spans_cover_all_non_space(text: str) -> None:
    spans = sentence_spans(text)
    covered = "".join(text[s:e] for s, e in spans)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text)
    assert all(s < e for s, e in spans) and all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


# -- compression ----------------------------------------------------------------------------

def test_keeps_question_sentences_headings_and_code_verbatim() -> None:
    doc = _doc()
    comp = compress(doc, "How many attempts does the retry budget allow?", CFG)
    assert comp.strategy == "extractive"
    out = comp.text
    assert len(out) < 0.8 * len(doc)
    assert "The retry limit is controlled by ``MAX_RETRY_BUDGET`` and defaults to 17 attempts." in out
    for s in range(12):
        assert f"Section {s}\n----------" in out  # every heading, underline included
    markers = find_markers(out)
    assert markers and all(m.ref for m in markers)
    assert all(re.search(r"\d+ (paragraph|sentence|list item|code block)s? ", m.summary) for m in markers)
    assert all(re.search(r"\(\d[\d,]* words\)", m.summary) for m in markers)


def test_each_ref_returns_exactly_what_its_marker_replaced() -> None:
    doc = _doc()
    comp = compress(doc, "retry budget attempts", CFG)
    assert comp.omissions
    for o in comp.omissions:
        assert o.original in doc and o.kind == "text"
    assert _squash(_restore(comp.text, comp)) == _squash(doc)


def test_markdown_omission_kind() -> None:
    comp = compress_markdown(_doc(), "retry budget", CFG)
    assert comp.omissions and all(o.kind == "markdown" for o in comp.omissions)


def test_listing_lines_and_table_headers() -> None:
    listing = "Package    Version\n---------- -------\n" + "\n".join(
        f"pkg{k:03d}     {k}.{k % 7}.{k % 3}" for k in range(400))
    comp = compress(listing, "which version of pkg123 is installed?", CFG)
    assert "pkg123     123.4.0" in comp.text and comp.text.startswith("Package    Version")
    assert all(m.summary.split(" omitted")[0].endswith(("line", "lines")) for m in find_markers(comp.text))
    table = "| name | size |\n|---|---|\n" + "\n".join(f"| file{k} | {k * 37} KB |" for k in range(300))
    out = compress_markdown(table, "how big is file250?", CFG).text
    assert out.startswith("| name | size |\n|---|---|\n") and "| file250 | 9250 KB |" in out
    assert "table rows omitted" in out


def test_whitespace_inside_kept_lines_is_preserved() -> None:
    doc = _doc().replace("defaults to 17 attempts.", "defaults to  17  attempts (Jul  7).")
    out = compress(doc, "retry budget attempts", CFG).text
    assert "defaults to  17  attempts (Jul  7)." in out


def test_near_duplicate_sentences_are_dropped() -> None:
    sentence = "The cache warms up in about ninety seconds after every deploy of the service, then serves hot reads."
    shuffled = "After every deploy of the service the cache warms up in about ninety seconds, then serves hot reads."
    doc = "\n\n".join(p for k in range(6) for p in (_para(3 * k), sentence, _para(3 * k + 1), shuffled))
    out = compress(doc, "how long does the cache take to warm up after a deploy?", CFG).text
    assert out.count(sentence) + out.count(shuffled) == 1


def test_lossless_only_and_ccr_off() -> None:
    doc = _doc() + "\n\n\n\n"
    lossless = compress(doc, "retry", CFG.with_(lossless_only=True))
    assert lossless.omissions == [] and lossless.text == fold_lines(doc)
    no_ccr = compress(_doc(), "retry budget", CFG.with_(ccr=False))
    assert no_ccr.omissions == [] and find_markers(no_ccr.text)
    assert all(m.ref is None for m in find_markers(no_ccr.text))


def test_keep_scale_and_keep_ratio_scale_the_output() -> None:
    doc = _doc(36)
    sizes = [len(compress(doc, "retry budget", CFG.with_(keep_scale=k)).text) for k in (0.5, 1.0, 2.0)]
    assert sizes[0] < sizes[1] < sizes[2]
    more = CFG.with_(options={"text": {"keep_ratio": 0.6, "min_keep_chars": 0}})
    assert len(compress(doc, "retry budget", more).text) > sizes[1]


def test_unknown_backend_is_an_error() -> None:
    with pytest.raises(ValueError, match="backend"):
        compress(_doc(), "", CFG.with_(options={"text": {"backend": "nope"}}))


def test_empty_question_still_compresses_deterministically() -> None:
    a = compress(_doc(24), "", CFG)
    b = compress(_doc(24), "", CFG)
    assert a.text == b.text and len(a.text) < 0.6 * len(_doc(24))


_words = st.sampled_from("alpha beta gamma delta retry budget 17 2.0.1 ``flag`` the a of Cache".split())
_sentence = st.lists(_words, min_size=3, max_size=14).map(lambda ws: " ".join(ws).capitalize() + ".")
_paragraph = st.lists(_sentence, min_size=1, max_size=5).map(" ".join)
_heading = st.sampled_from(["# Intro", "Usage\n=====", "## 2.0.1 (2024-01-02)", "Notes\n-----"])
_block = st.one_of(_paragraph, _paragraph, _heading, _paragraph.map(lambda p: "- " + p),
                   st.just("```\ncode  block\n```"))
_document = st.lists(_block, min_size=1, max_size=40).map("\n\n".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_document, st.sampled_from(["", "what is the retry budget?", "changes in 2.0.1", "cache flag"]))
def test_properties(doc: str, question: str) -> None:
    comp = compress(doc, question, CFG)
    assert comp == compress(doc, question, CFG)  # deterministic
    assert len(comp.text) <= len(fold_lines(doc))  # never grows
    assert _squash(_restore(comp.text, comp)) == _squash(doc)  # nothing lost silently
    assert len(find_markers(comp.text)) == len({m.start for m in find_markers(comp.text)})
    for o in comp.omissions:
        assert o.original in doc


# -- changelogs -----------------------------------------------------------------------------

CHANGELOG = "\n".join(
    f"Version {v}\n{'-' * (8 + len(v))}\n\nReleased 2024-0{1 + k % 9}-1{k % 10}\n\n"
    + "\n".join(f"-   Change {j} of {v}: adjusted the handling of widget number {k * 10 + j} in the"
                f"\n    scheduler so that it behaves. :issue:`{1000 + k * 10 + j}`" for j in range(6)) + "\n"
    for k, v in enumerate(["3.2.0", "3.1.1", "3.1.0", "3.0.2", "3.0.1", "3.0.0", "2.9.0", "2.8.1", "2.8.0"])
)


def test_changelog_detection_and_version_range() -> None:
    blocks = parse_blocks(CHANGELOG)
    versions = heading_versions(blocks)
    assert is_changelog(blocks, versions)
    named, ranged = asked_sections(versions, "we upgrade from 2.8.1 to 3.0.1")
    assert sorted(blocks[k].title for k in named) == ["Version 2.8.1", "Version 3.0.1"]
    assert sorted(blocks[k].title for k in ranged) == ["Version 2.9.0", "Version 3.0.0"]
    named, _ = asked_sections(versions, "what happened in 3.1?")
    assert sorted(blocks[k].title for k in named) == ["Version 3.1.0", "Version 3.1.1"]


def test_changelog_named_sections_whole_others_heading_and_date() -> None:
    tight = CFG.with_(options={"text": {"keep_ratio": 0.1, "min_keep_chars": 0}})  # the rules, not the fill
    out = compress(CHANGELOG, "What changed in 3.0.2?", tight).text
    section = CHANGELOG.split("Version 3.0.2")[1].split("Version 3.0.1")[0]
    assert section.strip() in out  # the named section stays whole
    for v in ["3.2.0", "3.1.1", "2.9.0", "2.8.0"]:
        assert f"Version {v}\n" in out
    assert out.count("Released 2024-") == 9  # every section keeps its date line
    assert "Change 3 of 2.8.0" not in out


def test_changelog_range_covering_most_of_the_log_is_not_kept_whole() -> None:
    comp = compress(CHANGELOG, "We go from 2.8.0 to 3.2.0; which widget fixes matter?", CFG)
    assert len(comp.text) < 0.85 * len(CHANGELOG) and comp.omissions
    assert CHANGELOG.split("Version 3.1.1")[0].strip() in comp.text  # the named endpoints stay whole


LONG_LOG = "\n".join(
    f"{v} / 2020-01-{1 + k % 28:02d}\n{'=' * 19}\n\n"
    + "\n".join(f"  * deps: pkg-{k}-{j}@1.{j}.0" for j in range(3))
    + ("\n  * Strip the Authorization header on redirects to another host" if k == 70 else "") + "\n"
    for k, v in enumerate(f"4.{90 - k // 10}.{9 - k % 10}" for k in range(90))
)


def test_long_changelog_folds_its_outline_around_what_is_asked() -> None:
    question = ("We upgrade from 4.89.8 to 4.90.9: any breaking change, and when was the Authorization header"
                " on redirects fixed?")
    comp = compress(LONG_LOG, question, CFG)
    out = comp.text
    for v in ["4.90.9", "4.90.0", "4.89.9", "4.89.8"]:  # the asked range stays whole
        assert LONG_LOG.split(f"{v} / ")[1].split("\n\n", 1)[1].split("\n\n")[0].strip() in out
    assert "Strip the Authorization header on redirects" in out  # an old entry the words point at
    assert "4.83.9 / 2020-01-" in out  # with its heading and date
    assert "4.86.4 / 2020-01-" not in out  # sections with nothing kept fold into markers
    assert len(out) < 0.4 * len(LONG_LOG)
    # markers name the first and last version they fold
    assert any(re.search(r"; 4\.\d+\.\d … 4\.\d+\.\d\b", m.summary) for m in find_markers(out))
    assert _squash(_restore(out, comp)) == _squash(LONG_LOG)
    wider = compress(LONG_LOG, question, CFG.with_(options={"text": {"rest_scale": 1.0}})).text
    assert len(wider) > len(out)  # rest_scale sizes what the rest of the log may keep


# -- bench cases ------------------------------------------------------------------------------

def _units(path: Path) -> tuple[dict[str, Any], list[str]]:
    case = json.loads(path.read_text(encoding="utf-8"))
    texts: list[str] = []
    for m in case["messages"]:
        if m.get("role") == "tool" and isinstance(m.get("content"), str):
            texts.append(m["content"])
        elif m.get("role") == "user" and isinstance(m.get("content"), list):
            texts += [b["content"] for b in m["content"] if b.get("type") == "tool_result"
                      and isinstance(b.get("content"), str)]
    return case, texts


_PROSE_CASES = sorted(p for p in CASES.glob("*.json") if p.stem.startswith(("text_", "mixed_"))) \
    if CASES.is_dir() else []


@pytest.mark.skipif(not _PROSE_CASES, reason="shared bench cases not present")
@pytest.mark.parametrize("path", _PROSE_CASES, ids=lambda p: p.stem)
def test_bench_needles_survive(path: Path) -> None:
    case, texts = _units(path)
    checked = 0
    for text in texts:
        kind = detect(text).kind.value
        if kind not in ("markdown", "text"):
            continue
        comp = (compress_markdown if kind == "markdown" else compress)(text, case["question"], CFG)
        wanted = [n for n in case["needles"] if n in text]
        assert [n for n in wanted if n not in comp.text] == []
        assert _squash(_restore(comp.text, comp)) == _squash(text)
        checked += 1
    assert checked


@pytest.mark.skipif(not _PROSE_CASES, reason="shared bench cases not present")
def test_bench_text_savings() -> None:
    before = after = 0
    for path in _PROSE_CASES:
        if not path.stem.startswith("text_"):
            continue
        case, texts = _units(path)
        for text in texts:
            before += len(text)
            after += len(compress(text, case["question"], CFG).text)
    assert after < 0.65 * before


def test_two_words_the_question_writes_side_by_side_find_the_sentence_that_does_too() -> None:
    """tqdm's package description (its METADATA) says "print" and "time" all over; only one
    docstring line says "print time". A three-part question names it among other things."""
    from headroom.compressors.query import word_pairs
    from headroom.compressors.text import select

    text = (Path(__file__).parent / "fixtures" / "prose" / "tqdm_metadata.txt").read_text(encoding="utf-8")
    question = ("How do we install tqdm, which Python versions does it support, and after a pause, "
                "from which print time does the timer restart?")
    assert "print time" in word_pairs(question)
    sentence = "Restart tqdm timer from last print time."
    assert text.count(sentence) == 1 and text.lower().count("print") > 10 and text.lower().count("time") > 10
    comp = compress_markdown(text, question, Config())
    assert sentence in comp.text
    assert len(comp.text) < 0.5 * len(text)
    with pytest.MonkeyPatch.context() as mp:  # the pair is what finds it
        mp.setattr(select, "_pair_bonus", lambda *args: None)
        assert sentence not in compress_markdown(text, question, Config()).text


def test_word_pairs_stay_inside_a_clause() -> None:
    from headroom.compressors.query import word_pairs

    assert word_pairs("Which time zone? Data files, system data and the file object.") == [
        "time zone", "data files", "system data", "file object"]
