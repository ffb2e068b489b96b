"""CSV/TSV: unchanged unless large; then rows chosen like JSON rows, kept verbatim, and the
cut records' exact text behind one ref (kept + originals = the input)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import MARKER_RE, find_markers
from headroom.compressors.json.delimited import compress_csv, records
from headroom.config import Config


def _row(i: int, sep: str = ",") -> str:
    status = "500" if i == 277 else "200"
    note = '"multi\nline, quoted"' if i == 50 else f"request {i}"
    return sep.join([f"web-{i:03d}", status, str(10 + (i * 13) % 90), note])


def _csv(n: int = 400, sep: str = ",") -> str:
    return "\n".join([sep.join(["host", "status", "latency_ms", "note"]), *(_row(i, sep) for i in range(n))])


def _reconstruct(text: str, originals: dict[str, str]) -> str:
    """Put each gap's records back: the overview marker stands for none."""
    header = text.split("\n")[0]
    twice = f"{header}\n{header}\n"  # two header lines: the delimiter is found even for one record
    queues = {ref: (records(twice + original) or ([], []))[0][2:] for ref, original in originals.items()}
    out: list[str] = []
    for line in text.split("\n"):
        m = MARKER_RE.fullmatch(line)
        if m is None:
            out.append(line)
            continue
        summary = m.group(1) or m.group(3) or ""
        if " gaps marked below" in summary:
            continue
        n = int(re.match(r"[\d,]+", summary).group(0).replace(",", ""))  # type: ignore[union-attr]
        queue = queues[m.group(2)]
        out.extend(queue[:n])
        del queue[:n]
    return "\n".join(out)


def test_small_and_lossless_are_unchanged() -> None:
    assert compress_csv(_csv(10), "", Config()).text == _csv(10)
    assert compress_csv(_csv(), "", Config(lossless_only=True)).text == _csv()


def test_large_csv_keeps_header_question_rows_and_anomalies_verbatim() -> None:
    text = _csv()
    out = compress_csv(text, "what about web-123?", Config())
    lines = out.text.split("\n")
    assert lines[0] == "host,status,latency_ms,note"
    assert lines[1].startswith("[… ") and "of 400 rows omitted in" in lines[1] and "status 200 ×" in lines[1]
    assert _row(123) in lines  # asked about
    assert _row(277) in lines  # the one failure (a rare status)
    assert _row(0) in lines and _row(399) in lines  # first and last
    assert len(out.omissions) == 1 and all(m.ref == out.omissions[0].ref for m in find_markers(out.text))
    assert _reconstruct(out.text, {o.ref: o.original for o in out.omissions}) == text


def test_tsv_and_quoted_multiline_records() -> None:
    text = _csv(300, "\t")
    parsed = records(text)
    assert parsed is not None and len(parsed[0]) == 301
    assert parsed[1][51] == ["web-050", "200", str(10 + 50 * 13 % 90), "multi\nline, quoted"]
    out = compress_csv(text, "", Config())
    assert out.strategy == "csv-crush"
    assert _reconstruct(out.text, {o.ref: o.original for o in out.omissions}) == text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "zz"]), st.integers(-50, 5000), st.text("xyz ,", max_size=8)),
                min_size=1, max_size=150),
       st.sampled_from(["", "which rows mention zz?"]))
def test_kept_plus_original_is_the_input(rows: list[tuple[str, int, str]], question: str) -> None:
    def cell(s: str) -> str:
        return f'"{s}"' if "," in s else s
    text = "\n".join(["kind,value,text", *(f"{k},{v},{cell(t)}" for k, v, t in rows)])
    config = Config(options={"csv": {"min_table_chars": 0, "row_base": 2, "row_sqrt": 0.5}})
    out = compress_csv(text, question, config)
    assert _reconstruct(out.text, {o.ref: o.original for o in out.omissions}) == text
    assert compress_csv(out.text, question, config).text == out.text
