"""The question-matching helpers the code skeleton adds to ``query.py``, ranking, and what
stays of the text a question quotes (real source files in ``fixtures/code_quotes``)."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_code_samples import restore

from headroom.ccr.markers import find_markers
from headroom.compressors.base import Compressed
from headroom.compressors.code import compress, syntax_errors
from headroom.compressors.code.languages import grammar
from headroom.compressors.code.quotes import find_quotes
from headroom.compressors.code.relevance import Candidate, Hits, score, select
from headroom.compressors.query import Query, bm25, bm25_counts, split_identifier, term_positions, tokenize
from headroom.config import Config

QUOTES = Path(__file__).parent / "fixtures" / "code_quotes"


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


def _fixture(name: str) -> str:
    with gzip.open(QUOTES / name, "rt", encoding="utf-8") as f:
        return f.read()


def _line_of(text: str, phrase: str) -> int:
    """The index of the one line of ``text`` holding ``phrase``."""
    rows = [i for i, line in enumerate(text.split("\n")) if phrase in line]
    assert len(rows) == 1, (phrase, rows)
    return rows[0]


def _enclosing(lines: list[str], row: int) -> str:
    """The nearest line above ``row`` indented less: the statement or block it is in."""
    depth = len(lines[row]) - len(lines[row].lstrip())
    return next(line for line in reversed(lines[:row]) if line.strip() and len(line) - len(line.lstrip()) < depth)


def _kept_in_order(out: str, lines: list[str]) -> bool:
    """Whether ``lines`` appear in ``out`` one after the other."""
    return "\n".join(lines) in out


def _valid(comp: Compressed, text: str, lang: str) -> None:
    """The skeleton passed its own validity check, parses (again, from scratch) with no
    more errors than the input, and every marker's ref gives back exactly its lines."""
    assert comp.strategy == "code:skeleton"
    gram = grammar(lang)
    assert gram is not None
    before = syntax_errors(gram.parser().parse(text.encode()))
    assert syntax_errors(gram.parser().parse(comp.text.encode())) <= before
    assert restore(comp) == text
    assert all(m.ref for line in comp.text.split("\n") for m in find_markers(line))


def test_a_quoted_docstring_sentence_keeps_the_whole_docstring() -> None:
    """A sentence from the middle of a class docstring keeps all of it (without the
    quote, the docstring is cut to its first line)."""
    text = _fixture("redis_client.py.gz")
    lines = text.split("\n")
    top = _line_of(text, "class Pipeline(Redis):")
    end = next(i for i in range(top + 2, len(lines)) if lines[i].strip() == '"""')
    docstring = lines[top:end + 1]
    sentence = "Any command raising an exception does *not* halt the execution of"
    assert any(sentence in line for line in docstring[3:-3])  # from the middle
    plain = compress(text, "Where is the pipeline's behaviour on errors documented?", Config())
    assert not _kept_in_order(plain.text, docstring)
    quoted = 'The docs say "Any command raising an exception does not halt the execution". Where is that?'
    comp = compress(text, quoted, Config())
    assert _kept_in_order(comp.text, docstring)
    _valid(comp, text, "python")


def test_a_quoted_doc_comment_sentence_keeps_the_whole_doc_comment() -> None:
    """The same for a Rust doc comment on a type (wrapped over lines, quoted in one)."""
    text = _fixture("semver_lib.rs.gz")
    lines = text.split("\n")
    decl = _line_of(text, "pub struct VersionReq {")
    top = decl
    while not lines[top - 1].startswith("pub struct"):  # up through attributes and the doc comment
        top -= 1
        if not lines[top - 1].strip():
            break
    doc = [line for line in lines[top:decl] if line.startswith("///")]
    assert len(doc) > 10 and "Whitespace is permitted around commas and around operators." in "\n".join(doc)
    question = 'The docs say "Whitespace is permitted around commas and around operators". Inside a version too?'
    assert not _kept_in_order(compress(text, "Is whitespace allowed inside a version?", Config()).text, doc)
    comp = compress(text, question, Config())
    assert _kept_in_order(comp.text, doc)
    _valid(comp, text, "rust")


REDIS_ERRORS = ("Client caching is only supported with RESP version 3", "pubsub connection not set: ",
                "Watched variable changed.", "Wrong number of response items from pipeline execution")


def test_quoted_error_messages_keep_every_raising_statement() -> None:
    """Four error messages from four functions (one of them a 300-line ``__init__``):
    each raising statement stays whole with the condition it is under, while the rest of
    a long body stays in markers."""
    text = _fixture("redis_client.py.gz")
    lines = text.split("\n")
    question = ("Our app logs " + ", ".join(f'"{m.strip()}"' for m in REDIS_ERRORS)
                + ". When does redis-py raise these?")
    plain = compress(text, "When does redis-py raise these errors?", Config())
    comp = compress(text, question, Config())
    for message in REDIS_ERRORS:
        rows = [i for i, line in enumerate(lines) if message in line]
        assert rows
        for row in rows:
            start = row if "raise" in lines[row] else next(i for i in range(row, 0, -1) if "raise" in lines[i])
            statement = lines[start:row + 1]
            at = comp.text.find("\n".join(statement))
            assert at >= 0 and comp.text.rfind(_enclosing(lines, start), 0, at) >= 0, message
    assert sum(m in plain.text for m in REDIS_ERRORS) < len(REDIS_ERRORS)
    init = _line_of(text, 'raise RedisError("Client caching is only supported with RESP version 3")')
    assert "self.single_connection_lock = threading.RLock()" in lines[init + 2]
    assert "self.single_connection_lock = threading.RLock()" not in comp.text  # the rest of __init__ is elided
    _valid(comp, text, "python")


def test_a_pasted_error_message_is_found_without_quotes() -> None:
    """An error message as printed (values filled in, no quote marks) meets the f-string
    that printed it; four words of it are enough, fewer are not."""
    text = _fixture("anyio_sockets.py.gz")
    lines = text.split("\n")
    row = _line_of(text, 'raise ConnectionFailed(f"error connecting to {self.path!r}: {exc}") from exc')
    other = _line_of(text, 'f"error connecting to {self.host}:{self.port}: {exc}"')
    pasted = "Our client crashes with error connecting to db.local:5432: [Errno 111] Connection refused. Why?"
    comp = compress(text, pasted, Config())
    for r in (row, other):
        assert lines[r] in comp.text and _enclosing(lines, r) in comp.text
    view = text.encode().decode("latin-1")
    for question, quoted in ((pasted, True), ("Our client crashes with error connecting. Why?", False)):
        query = Query.parse(question)
        assert bool(find_quotes(view, question, query, Hits.find(view, query).words)) is quoted, question
    _valid(comp, text, "python")


@pytest.mark.parametrize(("name", "lang", "question", "phrases"), [
    ("pflag_flag.go.gz", "go",
     'Running my tool prints: invalid argument "abc" for "--count" flag: strconv.ParseInt: parsing "abc": invalid '
     'syntax. And sometimes "flag accessed but not defined: verbose". Why?',
     ["invalid argument %q for %q flag: %v", "flag accessed but not defined: %s"]),
    ("BufferedInputStream.java.gz", "java", 'Why do I get "Resetting to invalid mark" and "Buffer size <= 0"?',
     ['throw new IOException("Resetting to invalid mark");',
      'throw new IllegalArgumentException("Buffer size <= 0");']),
    ("arborist_build_ideal_tree.js.gz", "javascript",
     'npm install fails with "incomplete manifest for left-pad, missing version" and sometimes with '
     '"global requires add, rm, or update option". Where does arborist decide that?',
     ["incomplete manifest for ${name}, missing version", "global requires add, rm, or update option"]),
])
def test_quoted_messages_survive_in_every_language(name: str, lang: str, question: str, phrases: list[str]) -> None:
    text = _fixture(name)
    lines = text.split("\n")
    comp = compress(text, question, Config())
    for phrase in phrases:
        row = _line_of(text, phrase)
        assert lines[row] in comp.text and _enclosing(lines, row) in comp.text, phrase
    _valid(comp, text, lang)


def test_quoted_text_that_matches_nothing_costs_nothing() -> None:
    text = _fixture("redis_client.py.gz")
    asked = "When does the pipeline raise WatchError?"
    plain = compress(text, asked, Config())
    assert compress(text, asked + ' It said "zebra quantum marmalade overflow" once.', Config()).text == plain.text


def test_find_quotes_matches_across_wrapping_literal_splits_and_placeholders() -> None:
    """Whitespace, quote style and case do not matter; a message split into two literals,
    a docstring sentence wrapped over lines and a placeholder for a printed value match."""
    text = _fixture("redis_client.py.gz") + "\n" + _fixture("anyio_sockets.py.gz")
    view = text.encode().decode("latin-1")
    cases = {
        "RuntimeError: \u201cpubsub connection not set: did you forget to call subscribe() or psubscribe()?\u201d":
            '"pubsub connection not set: "\n                "did you forget to call subscribe() or psubscribe()?',
        'the docs say "if the first attempt does not connected within 250 milliseconds"':
            "If the first attempt does\n    not connected within 250 milliseconds",
        "it failed: 'Could not create 3 listeners with a consistent port'":
            "Could not create {len(sockaddrs)} listeners with a consistent port",
    }
    for question, expected in cases.items():
        query = Query.parse(question)
        found = [view[s:e] for s, e in find_quotes(view, question, query, Hits.find(view, query).words)]
        core = expected.rstrip("()?.")  # a match ends at the last word
        assert any(core in f or (f in expected and len(f) > 0.8 * len(expected)) for f in found), (question, found)
    nothing = "Does it say 'the moon is made of cheese' anywhere?"
    query = Query.parse(nothing)
    assert find_quotes(view, nothing, query, Hits.find(view, query).words) == []


@pytest.mark.parametrize(("question", "bodies"), [
    ("How does skip() decide how many bytes to skip when a mark is set? Also, when does available() report more "
     "bytes than the buffer holds?",
     ["long skipped = (avail < n) ? avail : n;", "return n > (Integer.MAX_VALUE - avail)"]),
    ("What happens in read() when the buffer is empty and the request is larger than the buffer? And how does "
     "reset() fail when the mark is invalid?",
     ["int avail = count - pos;", 'throw new IOException("Resetting to invalid mark");']),
])
def test_a_question_in_two_parts_keeps_the_body_each_part_asks_about(question: str, bodies: list[str]) -> None:
    """Each sentence that asks about the file gets a body budget of its own (up to three)."""
    from headroom.compressors import code as code_module
    from headroom.compressors.query import question_parts

    text = _fixture("BufferedInputStream.java.gz")
    assert question_parts(question) == 2
    comp = compress(text, question, Config())
    assert all(b in comp.text for b in bodies)
    _valid(comp, text, "java")
    with pytest.MonkeyPatch.context() as mp:  # one budget for the whole question keeps one of them
        mp.setattr(code_module, "MAX_PARTS", 1)
        assert not all(b in compress(text, question, Config()).text for b in bodies)


def test_question_parts_count_sentences_that_ask_about_the_text() -> None:
    from headroom.compressors.query import question_parts

    asked = "Where does the router decide this? Also, why does a request get a redirect? Is that a bug?"
    assert question_parts(asked) == 2  # "Is that a bug?" holds one content word
    assert question_parts(asked, {"router", "decide", "request"}) == 1  # the file has no "redirect"
    assert question_parts("") == 0


def test_a_wrapper_that_only_delegates_brings_the_function_it_calls() -> None:
    """redis-py's ``Redis.execute_command`` is one line, ``return self._execute_command(...)``:
    kept alone it shows nothing of how a command runs, so its callee comes along."""
    from headroom.compressors.code import relevance

    text = _fixture("redis_client.py.gz")
    wrapper = "        return self._execute_command(*args, **options)"
    body = "            result = conn.retry.call_with_retry("
    assert text.count(wrapper) == 1 and body in text
    question = "What does Redis.execute_command() do when the connection fails mid-command?"
    comp = compress(text, question, Config())
    assert wrapper in comp.text and body in comp.text
    _valid(comp, text, "python")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(relevance, "_delegates", lambda *args: set())
        assert body not in compress(text, question, Config()).text
