"""HTML compressor: readable text out, boilerplate gone, one top marker whose ref returns
the whole original page; trafilatura's misses are put back from the built-in extractor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom import compress as compress_messages
from headroom import retrieve
from headroom.ccr.markers import find_markers
from headroom.ccr.store import MemoryStore
from headroom.compressors.html import page as html
from headroom.compressors.html.extract import extract
from headroom.compressors.html.page import compress, merge
from headroom.compressors.lossless import fold_lines
from headroom.config import Config

CASES = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cases"
CFG = Config()
BUILTIN = CFG.with_(options={"html": {"extractor": "builtin"}})

ARTICLE = " ".join(
    f"Paragraph {k} of the report explains how the reservoir level changed during week {k} of the survey."
    for k in range(3)
)
PAGE = f"""<!doctype html><html><head><title>Reservoir report</title>
<style>body {{ color: red }}</style><script>var tracking = "abc";</script></head>
<body>
<header><a href="/">Home</a> <a href="/news">News</a></header>
<nav><ul><li><a href="/a">Section A</a></li><li><a href="/b">Section B</a></li></ul></nav>
<main><article>
<h1>Reservoir levels fall</h1>
<p>{ARTICLE}</p>
<p>The dam released <b>4,200 cubic metres</b> per second on   Tuesday, a record for the month.</p>
<h2>Figures</h2>
<table><tr><th>Site</th><th>Level</th></tr><tr><td>North</td><td>61%</td></tr><tr><td>South</td><td>48%</td></tr></table>
<ul><li>First point about the <a href="/x">intake</a> valves.</li><li>Second point.</li></ul>
<pre>level = 61
  trend = "down"</pre>
</article></main>
<aside><p>Related: ten other stories you might like to read today about dams.</p></aside>
<footer><p>Copyright 2024 Example News. All rights reserved.</p></footer>
<div><a href="/1">More news one here</a> <a href="/2">More news two here</a> <a href="/3">Three</a></div>
</body></html>"""


def test_builtin_extractor_structure_and_boilerplate() -> None:
    ex = extract(PAGE)
    text = ex.text
    assert "# Reservoir levels fall" in text
    assert "## Figures" in text
    assert "| Site | Level |" in text and "| North | 61% |" in text
    assert "- First point about the intake valves." in text
    assert '```\nlevel = 61\n  trend = "down"\n```' in text  # <pre> keeps its whitespace
    assert "The dam released 4,200 cubic metres per second on Tuesday" in text  # inline spaces folded
    for gone in ("tracking", "color: red", "Section A", "Home", "Related: ten", "Copyright 2024", "More news"):
        assert gone not in text
    assert ex.removed["scripts"] == 1 and ex.removed["styles"] == 1 and ex.removed["navigation"] == 1
    assert ex.removed["link lists"] >= 1


def test_layout_tables_read_as_paragraphs() -> None:
    page = ("<html><body><table><tr><td width=20%>&nbsp;</td><td>"
            "<h1>Headline</h1><p>First paragraph of the story, long enough to matter.</p>"
            "<p>Second paragraph of the story.</p></td></tr></table></body></html>")
    text = extract(page).text
    assert text.split("\n\n") == ["# Headline", "First paragraph of the story, long enough to matter.",
                                  "Second paragraph of the story."]


def test_header_inside_article_is_content() -> None:
    page = "<body><article><header><h1>Title</h1><p>By A. Writer</p></header><p>Body text.</p></article></body>"
    assert extract(page).text == "# Title\n\nBy A. Writer\n\nBody text."


def test_link_pages_keep_their_links() -> None:
    page = "<body><ul>" + "".join(f'<li><a href="/{k}">Result number {k}</a></li>' for k in range(20)) + "</ul></body>"
    text = extract(page).text
    assert "- Result number 0" in text and "- Result number 19" in text


def test_hidden_elements_are_skipped() -> None:
    page = '<body><p>Shown text.</p><div hidden><p>Secret one.</p></div><p style="display: none">Secret two.</p></body>'
    text = extract(page).text
    assert text == "Shown text."


def test_unclosed_skipped_element_does_not_hide_the_rest() -> None:
    page = "<html><body><p>Intro paragraph.</p><nav><ul><li>Menu</li></ul><p>Main text with 42 facts.</p></body></html>"
    assert "Main text with 42 facts." in extract(page).text


def test_xml_elements_are_blocks() -> None:
    feed = ("<?xml version='1.0'?><rss><channel><title>Feed</title><item><title>First item</title>"
            "<description>The first item text.</description></item></channel></rss>")
    assert extract(feed).text.split("\n\n") == ["Feed", "First item", "The first item text."]


def test_only_the_page_title_is_the_title() -> None:
    page = "<html><head><title>T</title></head><body><svg><title>icon</title></svg><p>x</p></body></html>"
    assert extract(page).text == "# T\n\nx"


@pytest.mark.parametrize("config", [CFG, BUILTIN], ids=["auto", "builtin"])
def test_compress_marker_on_top_with_ref_to_the_whole_page(config: Config) -> None:
    comp = compress(PAGE, "How much water did the dam release?", config)
    first, _, body = comp.text.partition("\n\n")
    markers = find_markers(first)
    assert len(markers) == 1 and markers[0].ref
    assert markers[0].summary.startswith(f"HTML reduced to readable text ({len(PAGE):,} → ")
    assert "scripts" in markers[0].summary and "navigation" in markers[0].summary
    assert comp.omissions[0].ref == markers[0].ref and comp.omissions[0].original == PAGE
    assert comp.omissions[0].kind == "html"
    assert "4,200 cubic metres" in body and "tracking" not in body


def test_retrieve_through_the_pipeline_returns_the_original_html() -> None:
    store = MemoryStore()
    msgs: list[dict[str, Any]] = [
        {"role": "user", "content": "What did the dam release?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "fetch", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": PAGE * 3},
    ]
    result = compress_messages(msgs, "gpt-4o", store=store)
    out = result.messages[2]["content"]
    assert out != PAGE * 3 and "4,200 cubic metres" in out
    ref = find_markers(out)[0].ref
    assert ref is not None and retrieve(ref, store=store) == PAGE * 3


def test_lossless_only_folds_whitespace_only() -> None:
    page = PAGE + "\n\n\n\n   \n"
    comp = compress(page, "", CFG.with_(lossless_only=True))
    assert comp.omissions == [] and comp.text == fold_lines(page)


def test_ccr_off_keeps_the_note_without_a_ref() -> None:
    comp = compress(PAGE, "", CFG.with_(ccr=False))
    assert comp.omissions == []
    assert find_markers(comp.text)[0].ref is None


def test_without_trafilatura_the_builtin_extractor_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html, "_trafilatura", lambda text: None)
    comp = compress(PAGE, "", CFG)
    assert comp.strategy == "html-builtin"
    assert "4,200 cubic metres" in comp.text


def test_trafilatura_misses_are_merged_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # a "precise" extraction that lost the paragraph with the number
    monkeypatch.setattr(html, "_trafilatura", lambda text: f"# Reservoir levels fall\n\n{ARTICLE}\n\n## Figures")
    comp = compress(PAGE, "", CFG)
    assert comp.strategy == "html-trafilatura"
    body = comp.text.split("\n\n", 1)[1]
    assert body.index(ARTICLE) < body.index("4,200 cubic metres") < body.index("## Figures")


def test_merge_keeps_confirmed_and_substantial_blocks_and_adds_trafilatura_only_text() -> None:
    ex = extract(PAGE.replace("<h2>Figures</h2>", "<p>Share this</p><h2>Figures</h2>"))
    only_precise = "An editor's note that only the precise extractor found, long enough to count."
    merged, dropped = merge(f"# Reservoir levels fall\n\n{ARTICLE}\n\n{only_precise}\n\n## Figures", ex)
    assert "Share this" not in merged and dropped >= 1  # short and unconfirmed: boilerplate
    assert "4,200 cubic metres" in merged  # unconfirmed but substantial: recall wins
    assert merged.index(ARTICLE) < merged.index(only_precise) < merged.index("## Figures")
    assert "| North | 61% |" in merged and "```\nlevel = 61" in merged  # built-in structure is kept


def test_layout_table_from_trafilatura_keeps_builtin_structure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html, "_trafilatura", lambda text: "| " + " ".join(_blocks_text()) + " |")
    body = compress(PAGE, "", CFG).text.split("\n\n", 1)[1]
    assert body.startswith("# Reservoir levels fall\n\n" + ARTICLE)


def _blocks_text() -> list[str]:
    return [b.lstrip("#- ") for b in extract(PAGE).blocks]


def test_long_readable_text_is_compressed_as_prose() -> None:
    paras = "".join(f"<p>Paragraph {k}: the committee discussed agenda item {k} at length and moved on to other "
                    f"business without reaching a decision on item {k}.</p>" for k in range(200))
    page = f"<html><body><h1>Minutes</h1>{paras}<p>The budget was set at 9,876 euros.</p></body></html>"
    config = CFG.with_(options={"html": {"extractor": "builtin", "prose_min_chars": 2000}})
    comp = compress(page, "What was the budget set at?", config)
    assert comp.strategy.endswith("+prose")
    assert "The budget was set at 9,876 euros." in comp.text
    assert len(comp.text) < 0.5 * len(extract(page).text)
    readable = extract(page).text
    for o in comp.omissions[1:]:
        assert o.original in readable and o.kind == "html"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["<p>", "</p>", "<div>", "</div>", "<td>", "<tr>", "<table>", "</table>", "<li>",
                                 "<script>", "</script>", "<nav>", "</nav>", "<pre>", "</pre>", "<a>", "</a>",
                                 "text one", "two  three", "&amp;", "<br>", "<h2>", "</h2>"]), max_size=60))
def test_any_tag_soup_is_handled_deterministically(tokens: list[str]) -> None:
    page = "".join(tokens)
    a = compress(page, "text", CFG)
    assert a == compress(page, "text", CFG)
    if a.omissions:  # extracted: the note on top refers to the whole page
        assert find_markers(a.text)[0].start == 0 and a.omissions[0].original == page
    else:  # nothing readable: the page is only whitespace-folded
        assert a.text == fold_lines(page)


_SCRIPT = """
import hashlib, sys
from headroom.compressors.html import page as html
from headroom.compressors.text import prose as text
from headroom.config import Config
page = sys.stdin.read()
out = html.compress(page, "dam release", Config()).text + text.compress(page, "dam release", Config()).text
print(hashlib.sha256(out.encode()).hexdigest())
"""


def test_same_output_in_any_process() -> None:
    """No hash-order, clock or randomness: fresh interpreters with different hash seeds agree."""
    digests = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", _SCRIPT], input=PAGE * 5, capture_output=True, text=True,
                             env=env, check=True, timeout=120)
        digests.add(run.stdout.strip())
    assert len(digests) == 1


def _html_cases() -> list[Path]:
    return sorted(CASES.glob("html_*.json")) if CASES.is_dir() else []


def _case(path: Path) -> tuple[dict[str, Any], str]:
    case = json.loads(path.read_text(encoding="utf-8"))
    for m in case["messages"]:
        if m.get("role") == "tool":
            return case, str(m["content"])
        if m.get("role") == "user" and isinstance(m.get("content"), list):
            for b in m["content"]:
                if b.get("type") == "tool_result":
                    return case, str(b["content"])
    raise AssertionError("no tool output")


@pytest.mark.skipif(not _html_cases(), reason="shared bench cases not present")
@pytest.mark.parametrize("config", [CFG, BUILTIN], ids=["auto", "builtin"])
def test_bench_html_needles_and_savings(config: Config) -> None:
    before = after = 0
    for path in _html_cases():
        case, page = _case(path)
        comp = compress(page, case["question"], config)
        assert [n for n in case["needles"] if n not in comp.text] == [], path.stem
        before += len(page)
        after += len(comp.text)
    assert after < 0.1 * before
