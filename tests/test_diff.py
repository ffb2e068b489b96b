"""Diff compression: headers and changed lines verbatim, trimmed context, folds, cuts, refs."""

from __future__ import annotations

import gzip
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
from headroom.compressors.base import Compressed
from headroom.compressors.diff.parse import FileDiff, Hunk, parse
from headroom.compressors.diff.rank import is_noise
from headroom.compressors.diff.release import advisory_lines
from headroom.compressors.diff.unified import _budget, compress
from headroom.config import Config
from headroom.router import detect
from headroom.tokens import count_text

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cases"
CFG = Config()
LOSSLESS = Config(lossless_only=True)


def hunk(old: int, before: list[str], minus: list[str], plus: list[str], after: list[str], where: str = "") -> str:
    n_old = len(before) + len(minus) + len(after)
    n_new = len(before) + len(plus) + len(after)
    head = f"@@ -{old},{n_old} +{old},{n_new} @@" + (f" {where}" if where else "")
    body = [f" {x}" for x in before] + [f"-{x}" for x in minus] + [f"+{x}" for x in plus] + [f" {x}" for x in after]
    return "\n".join([head, *body])


def file_diff(path: str, *hunks: str, index: str = "index 1a2b3c4..5d6e7f8 100644") -> str:
    return "\n".join([f"diff --git a/{path} b/{path}", index, f"--- a/{path}", f"+++ b/{path}", *hunks])


CTX = [f"    context_line_{i} = compute_something({i})" for i in range(8)]
SIMPLE = file_diff("src/app.py",
                   hunk(10, CTX[:3], ["    timeout = 30"], ["    timeout = 60"], CTX[3:6], "def run():"),
                   hunk(80, CTX[:3], [], ["    retries = 5"], CTX[3:6], "def retry():"))


def changed_lines(text: str) -> list[str]:
    return [x for x in text.split("\n") if x[:1] in "+-" and not x.startswith(("+++ ", "--- "))]


def headers(text: str) -> list[str]:
    return [x for x in text.split("\n") if x.startswith(("diff --git", "--- ", "+++ ", "@@"))]


# -- parsing ---------------------------------------------------------------------------------


def test_parse_splits_sections_and_keeps_other_lines() -> None:
    text = "commit abc\nAuthor: me\n\n" + SIMPLE + "\n"
    doc = parse(text)
    assert doc is not None
    sections = [x for x in doc if isinstance(x, FileDiff)]
    assert [s.path for s in sections] == ["src/app.py"]
    assert [len(s.hunks) for s in sections] == [2]
    assert "\n".join(x.text() if isinstance(x, FileDiff) else x for x in doc) == text
    assert parse("just some text\nwith no hunks") is None


def test_plain_unified_diff_of_several_files() -> None:
    text = "\n".join(["--- a/x.txt\t2024-01-01", "+++ b/x.txt\t2024-01-02", "@@ -1 +1 @@", "-old", "+new",
                      "--- a/y.txt", "+++ b/y.txt", "@@ -1 +1 @@", "--- dashes removed", "+++ plus added"])
    doc = parse(text)
    assert doc is not None
    sections = [x for x in doc if isinstance(x, FileDiff)]
    assert [s.path for s in sections] == ["x.txt", "y.txt"]
    assert sections[1].hunks[0].lines == ["--- dashes removed", "+++ plus added"]


lines_st = st.lists(st.text(st.sampled_from("ab -+@\\x"), max_size=6), min_size=0, max_size=4)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a.py", "b/c.js", "d e.txt"]),
                          st.lists(st.tuples(st.integers(1, 900), lines_st, lines_st, lines_st, lines_st),
                                   min_size=1, max_size=4)), min_size=1, max_size=4))
def test_parse_round_trips_and_nothing_is_lost(files: list[tuple[str, list[tuple[int, list[str], list[str],
                                                                                list[str], list[str]]]]]) -> None:
    text = "\n".join(file_diff(path, *(hunk(o, b, m, p, a) for o, b, m, p, a in hunks)) for path, hunks in files)
    doc = parse(text)
    assert doc is not None
    assert "\n".join(x.text() if isinstance(x, FileDiff) else x for x in doc) == text
    lossless = compress(text, "", LOSSLESS)
    assert lossless.omissions == []
    shown = set(lossless.text.split("\n"))
    assert all(line in shown for line in headers(text) + [x for x in text.split("\n") if x.startswith("index ")])
    if "[… same " not in lossless.text:
        assert lossless.text == text
    lossy = compress(text, "", CFG)
    recoverable = set(lossy.text.split("\n")).union(*(o.original.split("\n") for o in lossy.omissions))
    assert all(line in recoverable for line in text.split("\n"))
    for m in find_markers(lossy.text):
        assert m.ref is None or any(o.ref == m.ref for o in lossy.omissions)


# -- trimming --------------------------------------------------------------------------------


def test_context_is_trimmed_to_one_line_per_side_with_counts() -> None:
    result = compress(SIMPLE, "", CFG)
    out = result.text.split("\n")
    for line in headers(SIMPLE) + changed_lines(SIMPLE):
        assert line in out
    assert "index 1a2b3c4..5d6e7f8 100644" not in out
    assert out.count("[… 2 unchanged lines]") == 4
    assert f" {CTX[2]}" in out and f" {CTX[3]}" in out and f" {CTX[0]}" not in out
    (omission,) = result.omissions
    assert omission.original == SIMPLE and omission.ref == make_ref(SIMPLE)
    assert re.match(r"\[… 8 unchanged context lines and index lines trimmed below", out[0])


def test_lossless_only_changes_nothing_but_repeats() -> None:
    result = compress(SIMPLE, "", LOSSLESS)
    assert result.text == SIMPLE and result.omissions == []


def test_small_tight_diff_is_left_as_it_is() -> None:
    text = file_diff("a.py", hunk(3, ["x = 1"], ["y = 2"], ["y = 3"], ["z = 4"]))
    result = compress(text, "", CFG)
    assert result.text == text and result.omissions == []  # dropping one index line would not pay for a ref


def test_unusual_mode_index_line_is_kept() -> None:
    text = file_diff("run.sh", hunk(1, CTX[:3], ["echo a"], ["echo b"], CTX[3:6]),
                     index="index 1a2b3c4..5d6e7f8 100755")
    assert "index 1a2b3c4..5d6e7f8 100755" in compress(text, "", CFG).text


def test_repeated_hunks_point_at_the_first() -> None:
    body = (["    proxy=proxy,"], ["    proxies=proxies,", "    cert=cert,"], [], ["    verify=verify,"])
    text = file_diff("api.py", *(hunk(100 * k, *body, where=f"def f{k}(") for k in range(1, 5)))
    for config in (CFG, LOSSLESS):
        out = compress(text, "", config).text
        assert out.count("-    proxies=proxies,") == 1
        assert out.count("[… same 4 lines as the hunk at -100 above]") == 3
        assert all(line in out for line in headers(text))


def test_long_removed_run_keeps_its_outline_and_head() -> None:
    removed = ["class SSLConfig:", '    """SSL configuration."""'] + \
        [x for k in range(6) for x in (f"    def method_{k}(self):", f"        value = helper_{k}(self)",
                                         f"        check(value, {k})", f"        return value + {k}", "")]
    text = file_diff("cfg.py", hunk(1, CTX[:3], removed, ["def create_ssl_context(): ..."], CTX[3:6]))
    out = compress(text, "", CFG).text
    assert "-class SSLConfig:" in out and "+def create_ssl_context(): ..." in out
    assert all(f"-    def method_{k}(self):" in out for k in range(6))
    assert "-        value = helper_3(self)" not in out
    dropped = sum(int(m.group(1)) for m in re.finditer(r"\[… (\d+) removed lines\]", out))
    assert dropped + sum(1 for x in out.split("\n") if x.startswith("-") and not x.startswith("--- ")) == len(removed)


def test_long_added_run_the_question_does_not_touch_keeps_its_outline() -> None:
    readme = ["# Project", ""] + [x for k in range(10) for x in (
        f"## Section {k}", f"Some prose about topic {k} that goes on for a while.",
        f"More words on subtopic {k} and its many uses.", "")] + \
        ["The timeout option sets the request timeout in seconds.", "", "Closing words."]
    text = file_diff("Readme.md", hunk(1, CTX[:3], [], readme, CTX[3:6]))
    out = compress(text, "what does the request timeout option do?", CFG).text
    assert all(f"+## Section {k}" in out for k in range(10)) and "+# Project" in out
    assert "+The timeout option sets the request timeout in seconds." in out  # what the question names
    assert "+More words on subtopic 3 and its many uses." not in out
    dropped = sum(int(m.group(1)) for m in re.finditer(r"\[… (\d+) added lines\]", out))
    assert dropped + sum(1 for x in out.split("\n") if x.startswith("+") and not x.startswith("+++ ")) == len(readme)
    assert "29 added lines" in out.split("\n")[0]  # the top marker counts them
    # a run the question is about, or one under the limit, stays whole
    about = compress(text, "what prose is there on each topic, and what words on each subtopic?", CFG).text
    assert "+More words on subtopic 3 and its many uses." in about
    off = compress(text, "timeout?", Config(options={"diff": {"max_added_run": 0}})).text
    assert "added lines]" not in off
    code = file_diff("app.py", hunk(1, CTX[:3], [], [f"    step_{k} = run({k})" for k in range(60)], CTX[3:6]))
    assert "added lines]" not in compress(code, "what does the request timeout option do?", CFG).text  # new code


# -- whole files -----------------------------------------------------------------------------


def test_lock_file_collapses_to_a_summary_with_a_ref() -> None:
    lock = file_diff("package-lock.json", hunk(1, CTX[:3], [f'"a{i}": "1.0.{i}"' for i in range(40)],
                                                [f'"a{i}": "1.1.{i}"' for i in range(40)], CTX[3:6]))
    text = SIMPLE + "\n" + lock
    result = compress(text, "what changed in the app?", CFG)
    assert "diff --git a/package-lock.json b/package-lock.json" in result.text
    assert "lock file: 1 hunk, +40 −40 lines" in result.text
    assert '"a7": "1.1.7"' not in result.text
    hunks_text = lock.split("\n", 4)[4]
    assert any(o.original == hunks_text for o in result.omissions)
    named = compress(text, "which versions changed in package-lock.json?", CFG)
    assert '+"a7": "1.1.7"' in named.text


def test_same_change_in_many_files_folds_with_names() -> None:
    bump = (["# header"], ["# Copyright 2023 Example"], ["# Copyright 2024 Example"], ["# more"])
    files = [file_diff(f"pkg/mod{i}.py", hunk(1, *bump)) for i in range(6)]
    text = "\n".join(files)
    result = compress(text, "", CFG)
    assert result.text.count("+# Copyright 2024 Example") == 1
    assert "the same changes as pkg/mod0.py in 5 more files: pkg/mod1.py" in result.text
    fold = next(o for o in result.omissions if "mod5" in o.original)
    assert fold.original == "\n".join(files[1:])


def test_runs_of_pure_renames_fold() -> None:
    renames = [f"diff --git a/old/f{i}.py b/new/f{i}.py\nsimilarity index 100%\nrename from old/f{i}.py\n"
               f"rename to new/f{i}.py" for i in range(4)]
    text = "\n".join([*renames, SIMPLE])
    result = compress(text, "", CFG)
    assert "4 files renamed without changes: old/f0.py → new/f0.py" in result.text
    assert any(o.original == "\n".join(renames) for o in result.omissions)


# -- cutting huge diffs ------------------------------------------------------------------------


def big_diff() -> str:
    files = []
    for i in range(12):
        hunks = [hunk(50 * k + 1, CTX[:3], [f"    old_value_{i}_{k} = {k}"],
                      [f"    new_value_{i}_{k} = compute_{i}({k})" for _ in range(1)] +
                      [f"    extra_{i}_{k}_{j} = {j}" for j in range(20)], CTX[3:6], f"def func_{i}_{k}():")
                 for k in range(3)]
        files.append(file_diff(f"src/file_{i}.py", *hunks))
    files.append(file_diff("src/session/redirects.py",
                           hunk(200, CTX[:3], ["    strip_auth = False"], ["    strip_auth = should_strip_auth(url)"],
                                CTX[3:6], "def rebuild_auth(self, prepared_request, response):")))
    return "\n".join(files)


def test_huge_diff_keeps_the_hunks_the_question_asks_about() -> None:
    text = big_diff()
    result = compress(text, "Does the redirect handling still strip auth in rebuild_auth?", CFG)
    assert result.strategy == "diff-rank"
    assert "+    strip_auth = should_strip_auth(url)" in result.text
    assert len(result.text.split("\n")) < 0.6 * len(text.split("\n"))
    marks = [m for m in find_markers(result.text) if "omitted" in m.summary]
    assert marks
    for m in marks:
        original = next(o.original for o in result.omissions if o.ref == m.ref)
        assert original in text and original.startswith("@@ ")
    assert all(line in result.text for line in headers(text) if not line.startswith("@@"))
    top = re.match(r"\[… (\d+) unchanged context lines", result.text)
    assert top is not None
    assert int(top.group(1)) == sum(int(n) for n in re.findall(r"\[… (\d+) unchanged lines\]", result.text))


# -- pipeline and bench ----------------------------------------------------------------------


def test_pipeline_routes_diffs_here_and_the_top_ref_returns_the_diff() -> None:
    text = big_diff()
    assert detect(text).kind.value == "diff"
    msgs = [{"role": "user", "content": "What changed in rebuild_auth?"},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "git_diff", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": text}]
    store = MemoryStore()
    out = compress_messages(msgs, "gpt-4o", store=store).messages[2]["content"]
    top = find_markers(out.split("\n", 1)[0])[0]
    assert top.ref and retrieve(top.ref, store=store) == text


def _cases(prefix: str) -> list[Path]:
    return sorted(BENCH.glob(f"{prefix}*.json")) if BENCH.is_dir() else []


@pytest.mark.skipif(not _cases("diff_"), reason="../shared/bench not beside the checkout")
def test_bench_diff_cases_keep_every_needle_and_save_25_percent() -> None:
    before = after = 0
    for path in _cases("diff_"):
        case = json.loads(path.read_text(encoding="utf-8"))
        for msg in case["messages"]:
            blocks = [msg["content"]] if msg.get("role") == "tool" else \
                [b["content"] for b in msg["content"] if b.get("type") == "tool_result"] \
                if isinstance(msg.get("content"), list) else []
            for text in blocks:
                result = compress(text, case["question"], CFG)
                lost = [n for n in case["needles"] if n in text and n not in result.text]
                assert not lost, (path.stem, lost)
                before += count_text(text)
                after += count_text(result.text)
    assert after <= 0.75 * before


# -- release diffs: advisories, changelog entries, the code they name ------------------------

DIFFS = Path(__file__).resolve().parent / "fixtures" / "diffs"
ADVISORY_ID = re.compile(r"GHSA-\w{4}-\w{4}-\w{4}|:ghsa:`\w{4}-\w{4}-\w{4}`|CVE-\d{4}-\d+")
CUT = Config(options={"diff": {"max_lines": 50}})


def release_diff(name: str) -> str:
    """``git diff --no-index --no-prefix a b`` of two unpacked sdists (see fixtures/diffs/build.sh)."""
    return gzip.decompress((DIFFS / f"{name}.diff.gz").read_bytes()).decode("utf-8")


def sections(text: str) -> list[FileDiff]:
    doc = parse(text)
    assert doc is not None
    return [x for x in doc if isinstance(x, FileDiff)]


def changelog_entry(text: str, pattern: str) -> list[str]:
    """The changed changelog lines of the bullet holding ``pattern`` (from its bullet line
    to the next blank, bullet or unchanged line)."""
    bullet = re.compile(r"[-+]\s*[-*]\s")
    for section in sections(text):
        if not re.search(r"(?i)(^|/)(changes|changelog|history)", section.path):
            continue
        for h in section.hunks:
            for i, line in enumerate(h.lines):
                if re.search(pattern, line) and line[:1] in "+-":
                    start = i
                    while start > 0 and not bullet.match(h.lines[start]) and h.lines[start - 1][:1] == line[0]:
                        start -= 1
                    end = i + 1
                    while end < len(h.lines) and h.lines[end][:1] == line[0] and h.lines[end][1:].strip() \
                            and not bullet.match(h.lines[end]):
                        end += 1
                    return h.lines[start:end]
    raise AssertionError(f"no changelog entry holds {pattern!r}")


def code_hunks(text: str, name: str) -> list[Hunk]:
    """Hunks outside changelogs and tests whose ``@@`` context or changed lines name ``name``."""
    return [h for s in sections(text) if not re.search(r"(?i)(^|/)(changes|tests?)[./]", s.path)
            for h in s.hunks if name in h.header or any(name in x for x in h.changed)]


def assert_refs_exact(result: Compressed, text: str) -> None:
    """Every ref'd marker returns exactly what it stands for: the whole diff (the top one),
    a run of whole hunks of the file it sits in, or a run of whole files it names, with the
    counts it states."""
    originals = {o.ref: o.original for o in result.omissions}
    by_head = {s.head[0]: s for s in sections(text)}
    current: FileDiff | None = None
    for line in result.text.split("\n"):
        current = by_head.get(line, current)
        for m in find_markers(line):
            if m.ref is None:
                continue
            original = originals[m.ref]
            files = re.match(r"(\d+) files? omitted \(\+(\d+) −(\d+) lines\)(?: in (\S+/))?: (.*)", m.summary)
            if files:
                folded = parse(original)
                assert folded is not None
                whole = [x for x in folded if isinstance(x, FileDiff)]
                assert len(whole) == int(files.group(1))
                at = [text.find(f.text()) for f in whole]  # whole files, in their order (files folded
                assert -1 not in at and at == sorted(at)  # earlier as repeats may sit between them)
                changed = [x for f in whole for h in f.hunks for x in h.changed]
                assert (sum(x[0] == "+" for x in changed), sum(x[0] == "-" for x in changed)) == \
                    (int(files.group(2)), int(files.group(3)))
                names = [x for x in files.group(5).split(", ") if x != "…"]
                assert [(files.group(4) or "") + x for x in names] == [f.path for f in whole][:len(names)]
                continue
            run = re.match(r"(\d+) hunks? omitted \(\+(\d+) −(\d+) lines\)", m.summary)
            if run is None:  # the whole diff, a generated file's hunks, or files folded together
                folded = parse(original)
                parts = [x.text() for x in folded if isinstance(x, FileDiff)] if folded else [original]
                assert all(part in text for part in parts), m.summary
                continue
            assert current is not None
            texts = [h.text() for h in current.hunks]
            n = int(run.group(1))
            assert any("\n".join(texts[i:i + n]) == original for i in range(len(texts))), m.summary
            body = [x for x in original.split("\n") if not x.startswith("@@ ")]
            assert (sum(x[:1] == "+" for x in body), sum(x[:1] == "-" for x in body)) == \
                (int(run.group(2)), int(run.group(3)))
    assert find_markers(result.text.split("\n", 1)[0])[0].ref == make_ref(text)


@pytest.mark.parametrize("question", ["", "Which security issues does werkzeug 3.0.6 fix?"])
def test_advisories_their_entries_and_the_code_they_name_survive_a_cut(question: str) -> None:
    text = release_diff("werkzeug")
    result = compress(text, question, CUT)
    assert result.strategy == "diff-rank"  # the diff had to be cut
    out = result.text.split("\n")
    ids = ADVISORY_ID.findall(text)
    assert len(ids) == 2
    for advisory in ids:
        assert any(advisory in line for line in out)
        entry = changelog_entry(text, re.escape(advisory))
        assert all(line in out for line in entry)  # the whole entry
        names = re.findall(r"``(\w+)``", "\n".join(entry))
        assert names
        hunks = code_hunks(text, names[0])
        assert hunks, names[0]
        assert any(all(x in out for x in h.changed) for h in hunks), names[0]  # the code it names
    assert count_text(result.text) < count_text(text)
    assert_refs_exact(result, text)


def test_an_advisory_in_a_deleted_changelog_keeps_its_line_and_the_function_it_names() -> None:
    """jinja2 3.1.3 -> 3.1.4: the sdist drops CHANGES.rst (987 removed lines), whose entry
    for GHSA-h5c8-rqwp-cp95 names ``xmlattr``; the question does not ask about security."""
    text = release_diff("jinja2")
    result = compress(text, "What changed in this jinja2 release?", CFG)
    assert result.strategy == "diff-rank"
    out = result.text.split("\n")
    (advisory,) = {a for a in ADVISORY_ID.findall(text) if a.startswith("GHSA")}
    entry = changelog_entry(text, advisory)
    assert all(line in out for line in entry)
    (name,) = re.findall(r"``(\w+)``", "\n".join(entry))
    hunks = code_hunks(text, name)
    assert hunks and all(x in out for h in hunks for x in h.changed)
    assert "removed lines" in out[0]  # the long removed run was shortened around it
    assert count_text(result.text) < 0.2 * count_text(text)
    assert_refs_exact(result, text)


def test_a_question_hitting_a_changelog_entry_keeps_the_code_it_names() -> None:
    """urllib3 2.2.1 -> 2.2.2 (CVE-2024-37891, whose id the diff does not hold): the question's
    words (inflected: redirect ~ redirecting, headers ~ header) hit the entry."""
    text = release_diff("urllib3")
    result = compress(text, "Which headers are no longer sent after a cross-host redirect?", CFG)
    assert result.strategy == "diff-rank"
    out = result.text.split("\n")
    entry = changelog_entry(text, r"redirecting to a different host")
    assert all(line in out for line in entry)
    header = re.findall(r"``([\w-]+)``", "\n".join(entry))[0]
    hunks = code_hunks(text, header)
    assert hunks and all(x in out for h in hunks for x in h.changed)
    assert count_text(result.text) < 0.3 * count_text(text)
    assert_refs_exact(result, text)


def test_what_changed_in_a_function_keeps_its_hunk_though_only_context_names_it() -> None:
    """markupsafe 2.1.4 -> 2.1.5: ``striptags`` appears in the changelog entry and in the
    unchanged docstring above the change, not in its changed lines or ``@@`` context."""
    text = release_diff("markupsafe")
    result = compress(text, "What changed in striptags?", CUT)
    assert result.strategy == "diff-rank"
    out = result.text.split("\n")
    hunks = [h for s in sections(text) if s.path.endswith(".py") and "test" not in s.path for h in s.hunks
             if any("striptags" in x for x in h.lines)]
    assert hunks and not any("striptags" in x for h in hunks for x in h.changed)
    assert all(x in out for h in hunks for x in h.changed)
    assert count_text(result.text) < 0.5 * count_text(text)
    assert_refs_exact(result, text)


def test_advisory_lines_survive_shortened_doc_runs() -> None:
    text = release_diff("werkzeug")
    result = compress(text, "", Config(options={"diff": {"max_added_run": 2}}))
    out = result.text.split("\n")
    assert "added lines]" in result.text  # the release notes were shortened
    for advisory in ADVISORY_ID.findall(text):
        assert all(line in out for line in changelog_entry(text, re.escape(advisory)))
    assert "+Released 2024-10-25" not in out
    assert_refs_exact(result, text)


@pytest.mark.parametrize("line", ["Fixes CVE-2024-34064 in the xmlattr filter.", "See GHSA-h5c8-rqwp-cp95.",
                                  "Reported as :cve:`2024-37891`.", ":ghsa:`q34m-jh98-gwm2`", "PYSEC-2024-60",
                                  "RUSTSEC-2023-0071 and GO-2024-2687"])
def test_advisory_ids_are_recognised(line: str) -> None:
    text = f"before\n{line}\nafter"
    assert advisory_lines(text) == {line}


@pytest.mark.parametrize("line", ["Released 2024-10-25", "GHSA-h5c8-rqwp", "CVE-2024", "cover-2024-12345",
                                  "ALGO-2024-1234", "uuid 6f1c-2d4e-9a7b-4c3e"])
def test_near_advisory_ids_are_not(line: str) -> None:
    assert not advisory_lines(line)


# -- big release diffs: the implementation first, a test or two, version noise last ------------

#: (fixture, question, facts): each fact is (path, text of a changed line); the hunks of that
#: file whose changed lines hold the text are where the answer is, and one of them must stay.
#: Written from reading the diffs, before looking at what the compressor keeps.
RELEASE_FACTS = [
    ("h11", "How does h11 0.16 now handle the bytes that follow each chunk of a Transfer-Encoding: chunked "
            "body, and which test covers it?",
     [("h11/_readers.py", 'f"malformed chunk footer'), ("h11/tests/test_io.py", r'b"3\r\nxxx__1a\r\n"')]),
    ("h11", "Why is a huge Content-Length refused now, and where is that tested?",
     [("h11/_headers.py", "if len(value) > CONTENT_LENGTH_MAX_DIGITS:"), ("h11/tests/test_headers.py", '"1" * 21')]),
    ("pyjwt", "How does PyJWT 2.4.0 stop a public key from being accepted as an HMAC secret, and which test covers "
              "the advisory?",
     [("jwt/algorithms.py", "if is_pem_format(key) or is_ssh_key(key):"), ("jwt/utils.py", "def is_ssh_key("),
      ("tests/test_advisory.py", "def test_ghsa_ffqj_6fqr_9h24")]),
    ("waitress", "How does waitress 2.1.1 validate the chunk size and the chunk extensions of a chunked request body, "
                 "and which tests cover it?",
     [("src/waitress/receiver.py", 'BadRequest("Invalid chunk extension")'),
      ("src/waitress/rfc7230.py", "CHUNK_EXT_RE ="), ("tests/test_receiver.py", "def test_received_invalid_size")]),
    ("waitress", "How does the request parser now treat a Content-Length header such as +10, and is there a test?",
     [("src/waitress/parser.py", "if not ONLY_DIGIT_RE.match"),
      ("tests/test_parser.py", "def test_parse_header_bad_content_length_plus")]),
    ("black", "Black now warns about misspelled options in pyproject.toml: where is that checked, and which test "
              "covers it?",
     [("src/black/__init__.py", "def spellcheck_pyproject_toml_keys("),
      ("tests/test_black.py", "incorrect_spelling.toml")]),
    ("black", "How does the 2024 stable style treat blank lines before a class docstring, and which test case "
              "shows it?",
     [("src/black/lines.py", "if current_line.is_docstring:"),
      ("tests/data/cases/no_blank_line_before_docstring.py", "class SingleQuotedDocstring:")]),
    ("black", "How are files reached through a symlink that points outside the project root handled now, and which "
              "test covers it?",
     [("src/black/files.py", "def get_root_relative_path("),
      ("tests/test_black.py", "def test_get_sources_with_stdin_symlink_outside_root")]),
]


def fact_hunks(text: str, path: str, needle: str) -> list[Hunk]:
    found = [h for s in sections(text) if s.path.removeprefix("b/") == path for h in s.hunks
             if any(needle in x for x in h.changed)]
    assert found, (path, needle)
    return found


def shown_whole(hunk: Hunk, out: set[str]) -> bool:
    """The hunk's header and every added line are in the output (removed runs may shrink)."""
    return hunk.header in out and all(x in out for x in hunk.changed if x[:1] == "+")


@pytest.mark.parametrize(("name", "question", "facts"), RELEASE_FACTS, ids=[f"{n}-{i}" for i, (n, _, _) in
                                                                             enumerate(RELEASE_FACTS)])
def test_a_cut_release_diff_keeps_the_code_and_a_test_the_question_needs(
        name: str, question: str, facts: list[tuple[str, str]]) -> None:
    text = release_diff(name)
    result = compress(text, question, CFG)
    out = set(result.text.split("\n"))
    for path, needle in facts:
        assert any(shown_whole(h, out) for h in fact_hunks(text, path, needle)), (path, needle)
    assert count_text(result.text) < 0.7 * count_text(text)
    assert_refs_exact(result, text)


def test_a_flood_of_fixture_files_keeps_one_or_two_and_folds_the_rest() -> None:
    """black 23.12.1 -> 24.1.0 touches some 60 small test-case files in one folder; each is
    dense in the question's words, yet the library hunks must win and the rest fold."""
    text = release_diff("black")
    flood = [s for s in sections(text) if s.path.startswith("tests/data/cases/")]
    assert len(flood) >= 40
    for _, question, _ in (f for f in RELEASE_FACTS if f[0] == "black"):
        result = compress(text, question, CFG)
        out = set(result.text.split("\n"))
        shown = [s.path for s in flood if s.head[0] in out and any(shown_whole(h, out) for h in s.hunks if h.changed)]
        assert len(shown) <= 2, shown
        folds = [m for m in find_markers(result.text)
                 if re.match(r"\d+ files omitted .* in tests/data/cases/", m.summary)]
        assert sum(int(m.summary.split(" ", 1)[0]) for m in folds) >= len(flood) // 3
        assert_refs_exact(result, text)


VERSION_NOISE = re.compile(r"(?:^|/)(?:LICENSE|PKG-INFO|_version\.py)$|\.egg-info/")


@pytest.mark.parametrize(("name", "question", "facts"), RELEASE_FACTS, ids=[f"{n}-{i}" for i, (n, _, _) in
                                                                             enumerate(RELEASE_FACTS)])
def test_version_noise_goes_before_code_in_a_cut(name: str, question: str, facts: list[tuple[str, str]]) -> None:
    """LICENSE years, ``__version__``, PKG-INFO and egg-info files: none stays in a cut that
    drops code, though each is too small for a marker of its own."""
    text = release_diff(name)
    result = compress(text, question, CFG)
    assert result.strategy == "diff-rank"
    out = set(result.text.split("\n"))
    noise = [(s.path, h) for s in sections(text) if VERSION_NOISE.search(s.path) for h in s.hunks if h.changed]
    assert noise
    assert not [p for p, h in noise if shown_whole(h, out) and any(x[0] == "+" for x in h.changed)]


def test_a_question_about_versions_keeps_the_version_lines() -> None:
    text = release_diff("pyjwt")
    out = compress(text, "Which version and copyright year lines changed in this release?", CFG).text.split("\n")
    assert "+Version: 2.4.0" in out and "+Copyright (c) 2015-2022 José Padilla" in out


def test_the_budget_grows_with_the_diff_but_less_than_it() -> None:
    assert [_budget(n, CFG) for n in (100, 800, 1500)] == [380, 380, 380]  # small diffs as before
    big = [_budget(n, CFG) for n in (3000, 6000, 12000)]
    assert big[0] > 380 and big[0] < big[1] < 2 * big[0] and abs(big[2] - 2 * big[0]) <= 2  # as √n
    text = release_diff("black")  # 4,250 lines
    lines = compress(text, "", CFG).text.split("\n")
    assert 380 < len(lines) <= _budget(len(text.split("\n")), CFG) * 9 // 8


def test_a_changelog_copied_into_pkg_info_folds_to_one_marker() -> None:
    """waitress 2.1.0 -> 2.1.1: PKG-INFO (and its egg-info copy) repeat the new CHANGES.txt
    entries, advisory links included: they show once."""
    text = release_diff("waitress")
    advisory = "+  https://github.com/Pylons/waitress/security/advisories/GHSA-4f7p-27jc-3c36"
    assert text.count(f"\n{advisory}\n") >= 6
    for config in (CFG, Config(options={"diff": {"max_lines": 5000}})):  # cut, and not cut
        result = compress(text, "How does waitress validate chunked request bodies now?", config)
        assert result.text.count(f"\n{advisory}\n") == 3  # the three entries, in CHANGES.txt
        assert_refs_exact(result, text)
    assert re.search(r"\n\[… the same 26 changed lines as the hunk at -1 of CHANGES\.txt · ", result.text)


@pytest.mark.parametrize(("name", "path", "needle", "noise"), [
    ("pyjwt", "LICENSE", "Copyright (c) 2015-2022", True),
    ("pyjwt", ".pre-commit-config.yaml", "rev: 22.3.0", True),
    ("pyjwt", "PyJWT.egg-info/SOURCES.txt", "tests/test_advisory.py", True),
    ("h11", "h11/_version.py", '__version__ = "0.16.0"', True),
    ("waitress", "setup.cfg", "version = 2.1.1", True),
    ("jinja2", "src/jinja2/compiler.py", "self.environment.sandboxed and op in", True),  # re-wrapped
    ("h11", "h11/_headers.py", "if len(value) > CONTENT_LENGTH_MAX_DIGITS:", False),
    ("h11", "h11/_readers.py", 'self._bytes_to_discard = b"\\r\\n"', False),
    ("waitress", "src/waitress/parser.py", "if not ONLY_DIGIT_RE.match", False),
    ("black", "tests/data/cases/comments5.py", "def decorated1(): ...", False),  # a formatter's fixture
])
def test_release_noise_is_told_from_changes(name: str, path: str, needle: str, noise: bool) -> None:
    hunks = fact_hunks(release_diff(name), path, needle)
    assert [is_noise(path, h) for h in hunks] == [noise] * len(hunks)


# --- tldextract 5.1.1 -> 5.1.2: CI, tox and a release script beside a small code change ---------------

def _file_hunks(text: str, path: str) -> list[Hunk]:
    return [h for s in sections(text) if s.path.removeprefix("b/") == path for h in s.hunks]


def test_a_file_the_question_names_keeps_its_hunks_even_cosmetic_ones() -> None:
    """Its docstrings were only reflowed (noise for any other question); asked about by name,
    each hunk of the file is shown."""
    text = release_diff("tldextract")
    hunks = _file_hunks(text, "tldextract/cache.py")
    assert len(hunks) == 3 and all(is_noise("tldextract/cache.py", h) for h in hunks[1:])
    result = compress(text, "Which functions in tldextract/cache.py changed in 5.1.2?", CFG)
    out = set(result.text.split("\n"))
    assert all(shown_whole(h, out) for h in hunks)
    other = compress(text, "Which functions changed in 5.1.2?", CFG)
    assert not any(shown_whole(h, set(other.text.split("\n"))) for h in hunks[1:])
    assert_refs_exact(result, text)


def test_ci_and_tooling_files_count_less_unless_the_question_asks_about_them() -> None:
    text = release_diff("tldextract")
    ci = _file_hunks(text, ".github/workflows/ci.yml")
    remote = [h for h in _file_hunks(text, "tldextract/remote.py") if any("inet_pton" in x for x in h.changed)]
    assert ci and remote
    code = compress(text, "How does tldextract 5.1.2 detect IPv4 and IPv6 addresses now that socket.inet_pton "
                          "is gone?", CFG)
    out = set(code.text.split("\n"))
    assert any(shown_whole(h, out) for h in remote)
    assert not any(shown_whole(h, out) for h in ci)
    asked = compress(text, "Which Python versions does the CI workflow test in 5.1.2?", CFG)
    assert '+            {python-version: "pypy3.9", toxenv: "pypy39"},' in asked.text.split("\n")


def test_hunks_too_big_to_keep_go_first_and_what_fits_of_the_rest_stays() -> None:
    """A release script and a snapshot file of hundreds of lines each must go under a 200-line
    budget; passing over them first must not also drop the small hunks that still fit."""
    text = release_diff("tldextract")
    cfg = Config(options={"diff": {"max_lines": 200}})
    limit = _budget(len(text.split("\n")), cfg)
    result = compress(text, "What changed in 5.1.2?", cfg)
    lines = result.text.split("\n")
    assert 0.6 * limit <= len(lines) <= limit * 1.2
    assert_refs_exact(result, text)
