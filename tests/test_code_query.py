"""The question-matching helpers the code skeleton adds to ``query.py``, and ranking."""

from __future__ import annotations

import re
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.compressors.code.relevance import Candidate, Hits, score, select
from headroom.compressors.query import Query, bm25, bm25_counts, split_identifier, term_positions, tokenize


def test_term_positions_finds_words_and_identifier_pieces() -> None:
    text = "PersistentPreRun truncate run( RUNNING HTTPResponse max_open"
    found = term_positions(text, ["run", "pre", "http", "response", "open", "max_open", "persistentprerun"])
    assert found["run"] == [13, 26]  # `Run` in PersistentPreRun and `run(`; not trunc-ate, not RUNNING
    assert found["pre"] == [10]
    assert found["http"] == [39] and found["response"] == [43]
    assert found["open"] == [56] and found["max_open"] == [52]
    assert found["persistentprerun"] == [0]


def _reference_counts(text: str) -> Counter[str]:
    """What tokenize() yields, except that a lone piece is counted too (``clamp`` in
    ``_clamp``, which tokenize keeps only whole)."""
    counts: Counter[str] = Counter()
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:[.:]\d+)*", text):
        parts = split_identifier(word) if not word[0].isdigit() else []
        counts.update([word.lower()] if parts == [word.lower()] else [word.lower(), *parts])
    return counts


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["parseEscape", "parse_escape", "HTTPServer", "surrogate", "LowSurrogate",
                                 "escape", "x", "v2", "(", ".", " ", "\n", "_", "Parse"]), max_size=30))
def test_term_positions_agrees_with_tokenize(parts: list[str]) -> None:
    """Counting with str.find gives what tokenizing would, without tokenizing."""
    text = "".join(parts)
    words = ["parse", "escape", "http", "server", "surrogate", "low", "x", "v"]
    counts = _reference_counts(text)
    found = term_positions(text, words)
    for w in words:
        assert len(found[w]) == counts[w], (text, w)
    assert all(c <= counts[w] for w, c in Counter(tokenize(text)).items() if w in words)


def test_bm25_counts_matches_bm25() -> None:
    docs = [tokenize(d) for d in ("parse the escape sequence", "parse numbers", "surrogate escape escape", "")]
    query = Query.parse("escape surrogate")
    counts = [Counter(t for t in doc if t in query.words) for doc in docs]
    assert bm25_counts(counts, [float(len(d)) for d in docs], query) == bm25(docs, query)
    weighted = bm25_counts(counts, [float(len(d)) for d in docs], query, weights={"surrogate": 3.0})
    assert weighted[2] > bm25(docs, query)[2] and weighted[0] == bm25(docs, query)[0]


def _cands(view: str, names: list[tuple[str, str, str]]) -> list[Candidate]:
    out = []
    for name, owner, calls in names:
        start = view.index(f"<{name}>")
        out.append(Candidate(name, owner, start, view.index(f"</{name}>"), 100, tuple(calls.split())))
    return out


def test_names_in_the_question_outrank_body_words() -> None:
    view = ("<truncatedTo> unit nanos day </truncatedTo> <plus> unit amount truncation truncation </plus>"
            " <get> unit </get>")
    cands = _cands(view, [("truncatedTo", "Duration", ""), ("plus", "Duration", ""), ("get", "Duration", "")])
    query = Query.parse("Why does duration.truncatedTo(WEEKS) fail with a truncation error?")
    scores = score(cands, query, Hits.find(view, query))
    assert scores[0] > scores[1] > scores[2]


def test_select_adds_callees_and_callers_within_budget() -> None:
    view = ("<execute> hooks persistent run find(x) </execute> <find> walk </find> <Execute> execute(a) </Execute>"
            " <unrelated> other </unrelated> <__init__> </__init__>")
    cands = _cands(view, [("execute", "Command", ""), ("find", "Command", ""), ("Execute", "Command", ""),
                          ("unrelated", "Command", ""), ("__init__", "Other", "")])
    query = Query.parse("which persistent hooks run?")
    hits, views = Hits.find(view, query), (view, view[::-1])
    assert select(cands, query, hits, 1000, views, frozenset()) == {0, 1, 2}
    assert select(cands, query, hits, 250, views, frozenset()) == {0, 1}  # best match, then what fits (100 each)
    nothing = Query.parse("nothing matches zzz")
    assert select(cands, nothing, Hits.find(view, nothing), 1000, views, frozenset()) == set()


def test_shared_names_link_only_within_their_owner() -> None:
    parts = [("convert", "FloatRange", "FloatRange clamp bounds fail(v)"), ("fail", "FloatRange", "raise"),
             ("fail", "Choice", "other"), ("convert", "IntRange", "IntRange fail(v)")]
    view, cands = "", []
    for name, owner, body in parts:
        start = len(view)
        view += f"def {name}(): {body}\n"
        cands.append(Candidate(name, owner, start, len(view), 100, ()))
    query = Query.parse("FloatRange clamp bounds")
    assert select(cands, query, Hits.find(view, query), 1000, (view, view[::-1]), frozenset()) == {0, 1}


def test_a_close_second_strong_match_is_kept_past_the_budget() -> None:
    parts = [("parse_escape", "surrogate escape low trailing"),
             ("parse_str_bytes", "surrogate escape raw bytes"),
             *((f"helper{i}", f"unrelated work number {i}") for i in range(30))]
    view, cands = "", []
    for name, body in parts:
        start = len(view)
        view += f"fn {name}() {{ {body} }}\n"
        cands.append(Candidate(name, "", start, len(view), 500, ()))
    views = (view, view[::-1])
    specific = Query.parse("How are a trailing low surrogate escape and raw bytes handled?")
    assert select(cands, specific, Hits.find(view, specific), 100, views, frozenset()) == {0, 1}
    vague = Query.parse("overview of the escape handling")
    assert len(select(cands, vague, Hits.find(view, vague), 100, views, frozenset())) == 1
