"""Whitespace-aligned text tables, on real command output captured on a Debian machine
(tests/fixtures/tables/): routing, which rows survive a question (the extremes it asks
for, the rows it names, each with its name and value in one line), markers whose ref
gives back exactly the cut lines, header and preamble kept, and no second pass.

Expected rows are computed here from the fixture itself (``str.split`` of each row), not
copied from the output.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from headroom import compress as compress_messages
from headroom.ccr.markers import MARKER_RE, find_markers
from headroom.ccr.retrieve import retrieve
from headroom.compressors.base import Compressed
from headroom.compressors.json import rows as rows_module
from headroom.compressors.json.delimited import compress_csv
from headroom.compressors.json.stats import Measure, Profile, measure, typed
from headroom.compressors.table import compress
from headroom.compressors.table.columns import find_table
from headroom.config import Config
from headroom.kinds import Kind
from headroom.router import detect
from headroom.tokens import count_text

FIXTURES = Path(__file__).parent / "fixtures"
TABLES = FIXTURES / "tables"
BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cases"
CFG = Config()
ALIGNED = sorted(p.name for p in TABLES.glob("*.txt") if p.name != "du_ah_doc.txt")  # du prints tabs: CSV


def read(name: str) -> str:
    return (TABLES / name).read_text(encoding="utf-8")


def rows_of(text: str, skip: int, fields: int) -> list[tuple[list[str], str]]:
    """``(fields, line)`` of each data line: ``skip`` lines of header/preamble, then
    ``str.split`` into at most ``fields`` fields (the last keeps its spaces)."""
    return [(line.split(None, fields - 1), line) for line in text.split("\n")[skip:] if line.strip()]


def strictly_top(rows: list[tuple[list[str], str]], key: Callable[[list[str]], float], k: int,
                 high: bool = True) -> list[str]:
    """Lines whose value beats the (k+1)-th best: the rows any correct top-k must contain."""
    values = sorted((key(f) for f, _ in rows), reverse=high)
    bar = values[k] if len(values) > k else None
    return [line for f, line in rows if bar is None or (key(f) > bar if high else key(f) < bar)]


def reconstruct(comp: Compressed) -> str:
    """Every gap marker replaced by its share of the ref's original, in order (the summary
    marker of a table with several gaps stands for none)."""
    queues = {o.ref: o.original.split("\n") for o in comp.omissions}
    out: list[str] = []
    for line in comp.text.split("\n"):
        m = MARKER_RE.fullmatch(line)
        if m is None or not m.group(2):
            out.append(line)
            continue
        summary = m.group(1)
        if " gaps marked below" in summary:
            continue
        n = int(re.match(r"[\d,]+", summary).group(0).replace(",", ""))  # type: ignore[union-attr]
        out.extend(queues[m.group(2)][:n])
        del queues[m.group(2)][:n]
    assert all(not q for q in queues.values()), "a ref holds lines no marker stands for"
    return "\n".join(out)


_SIZE = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def human(size: str) -> float:
    """``ls -lh`` / ``du -h`` sizes: ``1.1K``, ``35M``, ``0``."""
    return float(size.rstrip("KMG")) * _SIZE[size[-1] if size[-1] in "KMG" else ""]


# --- routing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALIGNED)
def test_real_command_tables_route_as_tables(name: str) -> None:
    assert detect(read(name)).kind is Kind.TABLE


def test_tab_separated_du_stays_csv_and_ranks_its_sizes() -> None:
    text = read("du_ah_doc.txt")
    assert detect(text).kind is Kind.CSV
    out = compress_csv(text, "Which three directories under /usr/share/doc are largest?", CFG)
    rows = [(line.split("\t"), line) for line in text.split("\n")[1:] if line.strip()]  # line 1 is the CSV header
    kept = set(out.text.split("\n"))
    assert set(strictly_top(rows, lambda f: human(f[0]), 3)) <= kept
    assert count_text(out.text) < count_text(text)


def test_a_labelled_padded_column_ranks_as_the_numbers_it_holds() -> None:
    """``python -X importtime`` prints ``import time: <self> | <cumulative> | <module>``: the
    first column's cells all start with ``import time:``, both number columns are padded,
    and three warnings from the imported library are printed in between. Stripped of the
    padding and of the label, the columns rank as numbers: the largest self times survive."""
    text = gzip.decompress((TABLES / "importtime_litellm.txt.gz").read_bytes()).decode("utf-8")
    assert detect(text).kind is Kind.CSV
    rows = [line for line in text.split("\n")[1:] if line.startswith("import time:")]
    assert len(rows) > 3000 and len(text.split("\n")) - len(rows) > 2
    self_us = sorted(rows, key=lambda line: -int(line.split("|")[0].split(":")[1]))
    out = compress_csv(text, "Which single modules have the largest self import time when importing litellm?", CFG)
    kept = set(out.text.split("\n"))
    assert set(self_us[:3]) <= kept
    total = max(rows, key=lambda line: int(line.split("|")[1]))
    assert total in kept  # the cumulative column ranks too
    assert count_text(out.text) < 0.1 * count_text(text)


def _tool_outputs(case: dict[str, object]) -> list[str]:
    out: list[str] = []
    for msg in case["messages"]:  # type: ignore[attr-defined]
        content = msg.get("content")
        if msg.get("role") == "tool" and isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            out += [b["content"] for b in content if isinstance(b, dict) and b.get("type") == "tool_result"
                    and isinstance(b.get("content"), str)]
    return out


@pytest.mark.skipif(not BENCH.is_dir(), reason="../shared/bench not beside the checkout")
def test_no_public_bench_output_routes_as_a_table() -> None:
    seen = 0
    for path in sorted(BENCH.glob("*.json")):
        for text in _tool_outputs(json.loads(path.read_text(encoding="utf-8"))):
            seen += 1
            assert detect(text).kind is not Kind.TABLE, path.name
    assert seen > 30


def test_logs_code_and_prose_are_not_tables() -> None:
    import gzip

    samples = [gzip.decompress(p.read_bytes()).decode() for p in (FIXTURES / "logs").glob("*.gz")]
    samples += [(FIXTURES / "output" / "make_k_errors.out").read_text(encoding="utf-8")]
    samples += [Path(__file__).read_text(encoding="utf-8"), (TABLES.parent / "diffs" / "build.sh").read_text()]
    samples += [Path(__file__).with_name("conftest.py").read_text(encoding="utf-8")]
    assert len(samples) >= 5
    for text in samples:
        assert detect(text).kind is not Kind.TABLE, text[:200]


def test_a_log_with_aligned_columns_is_still_a_log() -> None:
    """syslog's fixed-width prefix lines up like columns; a stamp in the first columns and
    no header keep it a log."""
    lines = [line for line in read("ls_la_etc.txt").split("\n")[1:] if line.strip()]
    log = "\n".join(f"Dec  7 03:{i % 60:02d}:11 web-01 sshd[{4000 + i}]: Accepted publickey for {f.split()[2]} "
                    f"port {50000 + i}" for i, f in enumerate(lines))
    assert detect(log).kind is Kind.LOGS


# --- what survives -----------------------------------------------------------------------------

def _cut(name: str, question: str) -> tuple[str, Compressed]:
    text = read(name)
    out = compress(text, question, CFG)
    assert out.strategy == "table-crush"
    return text, out


@pytest.mark.parametrize("name", ["ls_la_usr_bin.txt", "ls_la_etc.txt", "ls_l_iso_man8.txt"])
def test_the_largest_files_survive_with_their_names(name: str) -> None:
    text, out = _cut(name, "Which three files are largest?")
    rows = rows_of(text, 1, 9 if "iso" not in name else 8)
    kept = set(out.text.split("\n"))
    largest = strictly_top(rows, lambda f: int(f[4]), 3)
    assert largest and set(largest) <= kept  # whole lines: each size beside its file name
    assert count_text(out.text) < count_text(text)


def test_a_question_asking_for_more_gets_more_of_that_end() -> None:
    text, out = _cut("ls_la_usr_bin.txt", "List the ten largest files in /usr/bin")
    largest = strictly_top(rows_of(text, 1, 9), lambda f: int(f[4]), 10)
    assert len(largest) == 10 and set(largest) <= set(out.text.split("\n"))


def test_human_sizes_rank_as_sizes() -> None:
    text, out = _cut("ls_lh_usr_sbin.txt", "What are the biggest binaries in /usr/sbin?")
    rows = rows_of(text, 1, 9)
    kept = set(out.text.split("\n"))
    assert set(strictly_top(rows, lambda f: human(f[4]), 3)) <= kept


def test_without_a_question_every_numeric_column_keeps_its_extremes() -> None:
    text, out = _cut("ps_aux.txt", "")
    rows = rows_of(text, 1, 11)
    kept = set(out.text.split("\n"))
    for col in (2, 3, 4, 5):  # %CPU %MEM VSZ RSS
        assert set(strictly_top(rows, lambda f, c=col: float(f[c]), 1)) <= kept
        assert set(strictly_top(rows, lambda f, c=col: float(f[c]), 1, high=False)) <= kept


def test_most_memory_keeps_the_top_rss_processes() -> None:
    text, out = _cut("ps_aux.txt", "Which processes use the most memory?")
    rows = rows_of(text, 1, 11)
    kept = set(out.text.split("\n"))
    top = strictly_top(rows, lambda f: int(f[5]), 3)
    assert len(top) == 3 and set(top) <= kept


def test_most_cpu_in_top_keeps_the_busy_process_and_the_summary() -> None:
    text, out = _cut("top_b.txt", "Which process uses the most CPU?")
    head = text.split("\n")[:7]  # top's summary, a blank line and the header
    assert out.text.split("\n")[:7] == head
    rows = rows_of(text, 7, 12)
    assert set(strictly_top(rows, lambda f: float(f[8]), 3)) <= set(out.text.split("\n"))


def test_newest_files_in_a_long_iso_listing() -> None:
    text, out = _cut("ls_l_iso_man8.txt", "Which man pages were modified most recently?")
    rows = rows_of(text, 1, 8)
    stamp = {line: f"{f[5]} {f[6]}" for f, line in rows}
    newest = sorted(stamp, key=lambda line: stamp[line], reverse=True)
    bar = stamp[newest[3]]
    must = [line for line in newest if stamp[line] > bar]
    assert must and set(must) <= set(out.text.split("\n"))


def test_most_recent_in_ls_la_orders_time_stamped_dates_after_years() -> None:
    """``ls -l`` prints ``HH:MM`` for the last six months and the year before that."""
    text, out = _cut("ls_la_usr_bin.txt", "Which files were changed most recently?")
    recent = [line for f, line in rows_of(text, 1, 9) if ":" in f[7]]
    assert recent and set(recent[:5]) <= set(out.text.split("\n"))


@pytest.mark.parametrize(("name", "question", "needle"), [
    ("dpkg_l.txt", "Which version of libssl is installed?", "libssl"),
    ("ss_tan.txt", "What is connected to port 6379?", ":6379"),
    ("pip_list.txt", "Which numpy version is in the venv?", "numpy "),
])
def test_rows_the_question_names_survive(name: str, question: str, needle: str) -> None:
    text, out = _cut(name, question)
    asked = [line for line in text.split("\n") if needle in line]
    assert asked and set(asked) <= set(out.text.split("\n"))


def test_every_row_of_a_rare_value_survives() -> None:
    """``-rwsr-xr-x`` (setuid) among a thousand ``-rwxr-xr-x``: all of its rows, not one."""
    text, out = _cut("ls_la_usr_bin.txt", "Which programs here run setuid root?")
    rows = rows_of(text, 1, 9)
    perms = Counter(f[0] for f, _ in rows)
    rare = {p for p, c in perms.items() if c <= 0.01 * len(rows)}
    assert len(rare) >= 2
    assert {line for f, line in rows if f[0] in rare} <= set(out.text.split("\n"))


def test_the_parent_a_kept_row_names_survives_too() -> None:
    """``ps -eo pid,ppid,…`` among 120 sleeps, with two zombies (``Z``) of a parent that never
    reaps them (``sh -c 'sleep 0 & sleep 0 & exec sleep 402'``: the sleep that replaced the
    shell does not wait for its children): the zombies stay, and so does the row their
    ``PPID`` names, which nothing else about it would keep."""
    text, out = _cut("ps_eo_zombie.txt", "Are any processes defunct, and which parent fails to reap them?")
    rows = rows_of(text, 1, 7)
    by_pid = {f[0]: line for f, line in rows}
    zombies = [(f, line) for f, line in rows if f[3] == "Z"]
    assert len(zombies) == 2
    kept = set(out.text.split("\n"))
    assert {line for _, line in zombies} <= kept
    parents = {by_pid[f[1]] for f, _ in zombies}
    assert len(parents) == 1 and parents <= kept
    assert len(kept) < 0.6 * len(rows)


def test_a_size_column_sorted_in_row_order_keeps_its_top_rows() -> None:
    """``du -ah | sort -h``: the largest entries are the last lines. A size column in row
    order still ranks (an id or sequence number in row order would only keep its ends)."""
    text = read("du_ah_git_sorted.tsv")
    out = compress_csv(text, "Which three entries under /usr/share/doc/git take the most space?", CFG)
    rows = [line for line in text.split("\n") if line.strip()]
    assert set(rows[-3:]) <= set(out.text.split("\n"))
    assert count_text(out.text) < 0.3 * count_text(text)


def test_a_size_two_rows_share_takes_one_rank() -> None:
    """A directory and its only child print one size: the third largest value still gets in."""
    sizes = [5.0, 9.0, 508.0, 1.0, 431.0, 508.0, 402.0, 7.0]
    p = Profile("size", [str(v) for v in sizes], len(sizes), [(v, i) for i, v in enumerate(sizes)], None, None,
                False, "size")
    assert rows_module._ranked(p, True, 3) == [2, 5, 4, 6]
    assert rows_module._ranked(p, False, 2) == [3, 0]


# --- markers, refs, idempotence ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["ls_la_usr_bin.txt", "dpkg_l.txt", "ps_aux.txt", "top_b.txt", "ss_tan.txt"])
def test_every_gap_has_a_marker_whose_ref_gives_back_exactly_the_cut_lines(name: str) -> None:
    text, out = _cut(name, "Which three entries are largest?")
    markers = find_markers(out.text)
    assert markers and all(m.ref == out.omissions[0].ref for m in markers) and len(out.omissions) == 1
    assert reconstruct(out) == text  # exact counts: each marker's rows, in place, nothing else
    assert count_text(out.text) < count_text(text)


def test_header_and_preamble_stay_verbatim() -> None:
    for name, head in (("dpkg_l.txt", 5), ("ls_la_etc.txt", 1), ("ps_aux.txt", 1), ("pip_list.txt", 2)):
        text, out = _cut(name, "")
        assert out.text.split("\n")[:head] == text.split("\n")[:head]


def test_a_compressed_table_is_not_compressed_again() -> None:
    _, out = _cut("ls_la_usr_bin.txt", "Which three files are largest?")
    again = compress(out.text, "Which three files are largest?", CFG)
    assert again.text == out.text and not again.omissions


def test_two_tables_in_one_output_are_cut_one_by_one() -> None:
    """``ps aux; echo; ls -la /etc``: each table keeps its own header and gets its own ref."""
    ps, ls = read("ps_aux.txt"), read("ls_la_etc.txt")
    text = ps.rstrip("\n") + "\n\n" + ls
    out = compress(text, "Which processes use the most memory?", CFG)
    lines = out.text.split("\n")
    assert lines[0] == ps.split("\n")[0] and ls.split("\n")[0] in lines
    assert len(out.omissions) == 2 and reconstruct(out) == text


def test_small_tables_are_left_alone() -> None:
    for name in ("df_h_a.txt", "lsblk.txt", "free_h.txt"):
        assert compress(read(name), "Which filesystem is fullest?", CFG).text == read(name)


def test_end_to_end_retrieval_filters_the_cut_rows() -> None:
    text = read("ps_aux.txt")
    call = {"id": "call_1", "type": "function", "function": {"name": "sh", "arguments": '{"cmd": "ps"}'}}
    messages = [{"role": "user", "content": "Which processes use the most memory?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_1", "content": text}]
    out = compress_messages(messages, model="gpt-4o").messages[2]["content"]
    assert isinstance(out, str) and count_text(out) < count_text(text)
    ref = find_markers(out)[0].ref
    assert ref is not None
    cut = retrieve(ref).split("\n")
    assert set(cut) <= set(text.split("\n")) and not set(cut) & set(out.split("\n"))
    hits = retrieve(ref, "kworker").split("\n")
    assert hits == [line for line in cut if "kworker" in line] and len(hits) > 1


# --- cells ---------------------------------------------------------------------------------------

def test_cells_rank_as_the_quantities_they_print() -> None:
    def m(cell: str) -> Measure:
        value = measure(cell)
        assert value is not None, cell
        return value

    assert m("4.0K") < m("512Mi") < m("1.2G") < m("3T")
    assert m("0:18.09") < m("12:03:44") < m("1-02:03:04")
    assert m("45m") < m("5d2h") and m("2 hours ago") < m("5 minutes ago")
    assert m("9%") < m("25%") and m("1,234") == 1234
    assert repr(m("4.0K")) == "4.0K"  # markers show cells as printed
    for text in ("1.2.3", "127.0.0.1:6379", "3.0.19-1~deb12u2", "ii", "x86_64"):
        assert measure(text) is None and typed(text) == text
    assert typed("42") == 42 and typed("0.5") == 0.5


def test_find_table_sees_ls_date_columns_and_dpkg_legend() -> None:
    lines = [line for line in read("dpkg_l.txt").split("\n") if line.strip()]
    table = find_table(lines)
    assert table is not None and table.header == 3 and table.start == 5  # legend, header, rule
    assert table.columns == 5
