"""What the question asks of a log survives: the asked-about event type (narrowed to the day
it names, however the day is written), failing values hidden in a masked field, and
failures of command output that carries no level word.

Fixtures are real output captured on a Debian machine: ``logs/dpkg.log.gz`` is its
``/var/log/dpkg.log``; ``logs/http_server_access.log.gz`` is the log of ``python3 -m
http.server`` answering 3,000 requests from a script (existing pages, conditional GETs,
a directory without its slash, missing files and unsupported methods);
``output/make_k_errors.out`` is ``make -k`` over 80 C files, two of them broken;
``output/deploy_xtrace.out.gz`` is a ``set -x`` deploy script copying documentation with
``cp -rv``, where a copy, a listing, a Python one-liner and a sub-shell fail;
``output/make_wextra_errors.out.gz`` is ``make -k`` with ``-Wall -Wextra`` (half its lines
are gcc's indented caret diagnostics); ``output/pip_build_pycairo.out.gz`` is ``pip install -v``
of two sdists, one of whose builds needs a missing system library; ``output/import_sweep.out.gz``
imports every submodule of ``litellm.integrations`` and prints each failure's traceback.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from conversations import reconstruct_lines

from headroom.ccr.markers import find_markers
from headroom.compressors.dates import Day, date_forms, question_dates
from headroom.compressors.logs.collapse import compress
from headroom.compressors.logs.templates import Columns, mine, severity_of
from headroom.compressors.logs.values import split_values
from headroom.compressors.query import word_key
from headroom.config import Config
from headroom.kinds import Kind
from headroom.pipeline import run_compressor
from headroom.router import detect

CFG = Config()
FIXTURES = Path(__file__).parent / "fixtures"


def _read(name: str) -> str:
    path = FIXTURES / name
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")


def _kept_lines(text: str) -> set[str]:
    return {ln for ln in text.split("\n") if not ln.startswith("[…")}


@pytest.fixture(scope="module")
def dpkg() -> str:
    return _read("logs/dpkg.log.gz")


@pytest.fixture(scope="module")
def access() -> str:
    return _read("logs/http_server_access.log.gz")


# --- the words of a question ---------------------------------------------------------------------


def test_word_keys_meet_across_inflections() -> None:
    assert word_key("denied") == word_key("deny") == word_key("denies") == word_key("DENIED")
    assert word_key("upgraded") == word_key("upgrade") == word_key("upgrades")
    assert word_key("retried") == word_key("retry") == word_key("retrying")
    assert word_key("installed") == word_key("install") != word_key("upgrade")


def test_dates_in_a_question_are_found_in_every_usual_form() -> None:
    may20 = Day(5, 20, 2026)
    assert question_dates("upgraded on May 20, 2026?") == [may20]
    assert question_dates("what ran on 2026-05-20") == [may20]
    assert question_dates("on 20 May 2026") == [may20]
    assert question_dates("on 20/05/2026") == [may20]  # 5/20 is no day-first date; only one reading
    assert question_dates("between the 7th of July and Dec 4th") == [Day(12, 4), Day(7, 7)]
    assert question_dates("3 may fail") == []  # the verb, not the month
    forms = date_forms(may20)
    for written in ("2026-05-20 16:27:19", "May 20 16:27:19", "[20/May/2026:16:27:19", "20/05/2026", "260520 1627"):
        assert any(f in written for f in forms), written
    assert any(f in "Jul  7 08:06:15" for f in date_forms(Day(7, 7)))


# --- the asked-about template ---------------------------------------------------------------------


@pytest.mark.parametrize("question", [
    "Which packages were upgraded on May 20, 2026 (as opposed to newly installed)?",
    "Which packages got an upgrade on 20/05/2026?",
    "What was upgraded on 2026-05-20?",
])
def test_the_asked_event_on_the_asked_day_survives_whole(dpkg: str, question: str) -> None:
    lines = dpkg.split("\n")
    asked = [ln for ln in lines if ln.startswith("2026-05-20") and " upgrade " in ln]
    assert len(asked) >= 5  # the fixture holds the case this test is about
    comp = compress(dpkg, question, CFG)
    kept = _kept_lines(comp.text)
    assert [ln for ln in asked if ln not in kept] == []
    assert len(comp.text) < 0.05 * len(dpkg)
    assert reconstruct_lines(comp) == dpkg


def test_without_a_day_every_line_of_the_asked_event_survives(dpkg: str) -> None:
    upgrades = [ln for ln in dpkg.split("\n") if " upgrade " in ln]
    comp = compress(dpkg, "Which packages were upgraded on this machine, and from which version to which?", CFG)
    kept = _kept_lines(comp.text)
    assert [ln for ln in upgrades if ln not in kept] == []
    assert len(comp.text) < 0.1 * len(dpkg)


def test_an_asked_event_too_long_to_keep_whole_names_the_rest_in_its_marker(dpkg: str) -> None:
    """With a small share for asked lines, what is not shown is listed by value."""
    installs = [ln for ln in dpkg.split("\n") if " install " in ln and "<none>" in ln]
    cfg = Config(options={"logs": {"whole_min": 2000, "whole_share": 0.0}})
    comp = compress(dpkg, "Which packages were installed?", cfg)
    kept = _kept_lines(comp.text)
    shown = [ln for ln in installs if ln in kept]
    assert 5 < len(shown) < len(installs)
    listed = " ".join(m.summary for m in find_markers(comp.text) if "values:" in m.summary)
    missing = [ln.split()[3] for ln in installs if ln not in kept]
    assert sum(pkg in listed for pkg in missing) >= 20  # the omitted packages are named there
    assert reconstruct_lines(comp) == dpkg


# --- failing and rare values in a masked field ------------------------------------------------------


def _status(line: str) -> int | None:
    m = re.search(r'" (\d{3}) ', line)
    return int(m.group(1)) if m else None


def test_failing_statuses_split_out_of_their_template(access: str) -> None:
    lines = access.split("\n")
    base = mine(access)
    split = split_values(base, Columns(lines))
    assert len(split.templates) > len(base.templates)
    by_status: dict[int, set[int]] = {}
    for i, ln in enumerate(lines):
        code = _status(ln)
        if code is not None and " GET " in ln.replace('"GET', " GET "):
            by_status.setdefault(code, set()).add(split.line_template[i])
    assert by_status[404].isdisjoint(by_status[200])
    assert all(split.templates[t].severity >= 2 for t in by_status[404])


@pytest.mark.parametrize("question", ["Which requests did not succeed?", ""])
def test_every_non_2xx_request_survives(access: str, question: str) -> None:
    lines = access.split("\n")
    failed = [ln for ln in lines if (code := _status(ln)) is not None and not 200 <= code < 300]
    assert {_status(ln) // 100 for ln in failed if _status(ln)} >= {3, 4, 5}  # type: ignore[operator]
    comp = compress(access, question, CFG)
    kept = _kept_lines(comp.text)
    assert [ln for ln in failed if ln not in kept] == []
    assert len(comp.text) < 0.2 * len(access)
    assert reconstruct_lines(comp) == access


# --- failures without a level word ------------------------------------------------------------------

_FAILURE = re.compile(r"\berror\b(?!\.)|\bError\b|ERROR|cannot|No such file|Traceback|[A-Za-z]+Error:|returned [1-9]|"
                      r"non-zero exit|not remade")


@pytest.mark.parametrize(("name", "question", "most"), [
    ("output/make_k_errors.out", "Did the build succeed? If not, what went wrong?", 0.5),
    ("output/make_wextra_errors.out.gz", "Which files failed to compile, and why?", 0.5),
    ("output/deploy_xtrace.out.gz", "Did any step of the deploy fail? What went wrong?", 0.5),
    ("output/deploy_xtrace.out.gz", "", 0.5),
    ("output/pip_build_pycairo.out.gz", "The install did not finish: what broke?", 0.7),  # many one-off lines
])
def test_command_output_is_read_as_a_log_and_keeps_every_failure(name: str, question: str, most: float) -> None:
    text = _read(name)
    assert detect(text).kind is Kind.LOGS  # line records of a command, not prose or unknown code
    failures = [ln for ln in text.split("\n") if _FAILURE.search(ln) and "warning" not in ln]
    assert len(failures) >= 3
    comp = compress(text, question, CFG)
    kept = _kept_lines(comp.text)
    assert [ln for ln in failures if ln not in kept] == []
    assert len(comp.text) < most * len(text)
    assert reconstruct_lines(comp) == text


def test_failure_words_without_a_level() -> None:
    for line in ("E: Unable to locate package nonexistent-xyz", "W: Some index files failed to download",
                 "cp: cannot stat 'a': No such file or directory", "chmod: changing permissions of 'x': "
                 "Operation not permitted", "subprocess.CalledProcessError: returned non-zero exit status 2."):
        assert severity_of(line) >= 2, line
    assert severity_of("Setting up nginx (1.22.1-9) ...") == 0


def test_an_import_sweep_that_reads_like_python_keeps_each_failing_module_and_its_error() -> None:
    """Lines such as ``import x.y`` look like Python; the parse says otherwise, and the
    output is compressed as the log of a failing tool instead of being left whole."""
    text = _read("output/import_sweep.out.gz")
    lines = text.split("\n")
    failed = [lines[i - 1] for i, ln in enumerate(lines) if ln.startswith("Traceback") and i]
    errors = [ln for ln in lines if re.match(r"\w+Error: ", ln)]
    assert len(failed) >= 5 and len(errors) == len(failed)
    comp = run_compressor(detect(text), text, "Which submodules failed to import, and why?", CFG)
    assert comp.strategy == "logs:templates"
    kept = _kept_lines(comp.text)
    assert [ln for ln in failed + errors if ln not in kept] == []
    assert len(comp.text) < 0.5 * len(text)


def test_a_whole_template_scattered_among_others_pays_for_the_gaps_it_shows() -> None:
    """The dpkg log of the shipped agent session: the question's "installed" names the
    ``install`` template (126 of 1,500 lines, each between two ``status`` lines), which no
    day or value narrows. Keeping it whole would show the short gaps between its lines too
    (cheaper than their markers), four times its share; it takes what its share pays for,
    and the marker lists the rest. The asked ``upgrade`` lines all stay."""
    session = json.loads((Path(__file__).parent / "fixtures" / "agent_session.json").read_text(encoding="utf-8"))
    messages = session["messages"]
    text = next(b["content"] for b in messages[4]["content"] if b.get("type") == "tool_result") \
        if isinstance(messages[4]["content"], list) else messages[4]["content"]
    question = next(m["content"] for m in messages[:4] if m["role"] == "user")
    assert isinstance(text, str) and isinstance(question, str) and "installed" in question
    lines = text.split("\n")
    installs = [ln for ln in lines if " install " in ln]
    upgrades = [ln for ln in lines if " upgrade " in ln]
    assert len(installs) > 100 and upgrades
    comp = compress(text, question, CFG)
    kept = _kept_lines(comp.text)
    assert set(upgrades) <= kept
    assert 0 < sum(ln in kept for ln in installs) < len(installs)
    assert len(comp.text) < 0.15 * len(text)
    assert reconstruct_lines(comp) == text


def test_a_key_value_listing_keeps_the_keys_the_question_names() -> None:
    """``sysctl -a``: 1,300 ``key = value`` lines fall into a few ``<*> = <*>`` templates, so
    a template says nothing of which lines are alike; the lines the question names (by a
    key, or by a word of a key) are not capped at two per template."""
    text = _read("output/sysctl_a.out.gz")
    lines = text.split("\n")
    question = "What are net.ipv4.tcp_keepalive_time and vm.swappiness set to, and is IP forwarding enabled?"
    comp = compress(text, question, CFG)
    kept = _kept_lines(comp.text)
    for key in ("net.ipv4.tcp_keepalive_time = ", "vm.swappiness = ", "net.ipv4.conf.all.forwarding = "):
        assert next(ln for ln in lines if ln.startswith(key)) in kept, key
    assert len(comp.text) < 0.2 * len(text)
    assert reconstruct_lines(comp) == text


def test_compiler_diagnostics_are_a_log_and_every_asked_error_keeps_where_it_is() -> None:
    """``cargo build`` of a crate with 40 broken functions (five kinds of error, eight of
    each but 24 ``mismatched types``): rustc's blocks quote source lines, yet this is a log
    of failures, and a question about them keeps every error with its `` --> file:line:col``."""
    text = _read("output/cargo_build_errors.out.gz")
    assert detect(text).kind is Kind.LOGS
    lines = text.split("\n")
    heads = [i for i, ln in enumerate(lines) if ln.startswith("error[")]
    assert len(heads) == 40 and all(lines[i + 1].lstrip().startswith("--> src/main.rs:") for i in heads)
    comp = compress(text, "The cargo build fails. Which errors does it report, and on which lines of src/main.rs?",
                    CFG)
    out = comp.text.split("\n")
    assert sum(1 for ln in out if ln.startswith("error[")) == 40
    assert {lines[i + 1] for i in heads} <= set(out)
    assert len(comp.text) < len(text)
    assert reconstruct_lines(comp) == text


def test_typescript_errors_keep_their_locations_and_colour_codes_do_not_hide_the_level() -> None:
    """``tsc --noEmit --strict`` over 60 broken functions: plain (as tsc prints when not on a
    terminal) every ``a.ts(line,col): error`` line stays; with ``--pretty`` the words sit
    inside colour codes (``ESC[91merror``), which mining ignores, so the errors are failures
    and most of them keep their ``a.ts:line:col`` in the share failures get."""
    question = "tsc fails on a.ts. Which errors does it report, and on which lines?"
    plain = _read("output/tsc_errors.out.gz")
    assert detect(plain).kind is Kind.LOGS
    comp = compress(plain, question, CFG)
    assert set(plain.split("\n")) <= set(comp.text.split("\n"))
    pretty = _read("output/tsc_errors_pretty.out.gz")
    assert "\x1b[91merror" in pretty
    mined = mine(pretty)
    heads = [t for t in mined.templates if " - " in " ".join(t.tokens) and "TS" in " ".join(t.tokens)]
    assert heads and all(t.severity >= 2 for t in heads)
    comp = compress(pretty, question, CFG)
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    where = set(re.findall(r"a\.ts:(\d+):(\d+)", ansi.sub("", comp.text)))
    assert len(where) >= 0.6 * 60 and len(comp.text) < 0.7 * len(pretty)
    assert reconstruct_lines(comp) == pretty
