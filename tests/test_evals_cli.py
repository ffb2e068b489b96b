"""``headroom eval`` on the command line: one JSON object with --json, a table otherwise (rich,
or plain text when rich cannot be imported), a self-contained HTML report, argument errors."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from headroom.evals.report import by_kind, render_html, render_table

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "benchmarks" / "corpus" / "cases"


def _run(*args: str, pre: str = "") -> subprocess.CompletedProcess[str]:
    code = f"{pre}import sys; from headroom.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=240)


@pytest.fixture()
def cases(tmp_path: Path) -> Path:
    """Two kinds, a few cases each, from the repository's corpus."""
    by: dict[str, list[Path]] = {}
    for p in sorted(CORPUS.glob("*.json")):
        by.setdefault(json.loads(p.read_text())["kind"], []).append(p)
    kinds = sorted(k for k in by if len(by[k]) >= 2)[:2]
    for k in kinds:
        for p in by[k][:2]:
            shutil.copy(p, tmp_path / p.name)
    return tmp_path


def test_json_is_one_object_with_totals_on_top(cases: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    proc = _run("eval", "needles", str(cases), "--json", "--html", str(html))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    assert doc["cases_total"] == len(doc["cases"]) == 4
    for key in ("tokens_before", "tokens_after", "needles_kept", "needles_total", "cases_valid", "prefix_stable",
                "ms_total"):
        assert isinstance(doc[key], (int, float)), key
    assert doc["tokens_before"] == sum(c["tokens_before"] for c in doc["cases"])

    page = html.read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page
    kinds = by_kind(doc)
    assert len(kinds) == 2
    for kind, row in kinds.items():
        mine = [c for c in doc["cases"] if c["kind"] == kind]
        saved = 100 * (1 - sum(c["tokens_after"] for c in mine) / sum(c["tokens_before"] for c in mine))
        assert row["saved_pct"] == pytest.approx(saved)
        assert f"<td>{kind}</td>" in page
        assert f"class='bar saved' style='width:{max(0.0, min(100.0, saved)):.1f}%'" in page
    assert page.count("class='bar retention'") == 2


def test_table_with_rich_and_without(cases: Path) -> None:
    proc = _run("eval", "needles", str(cases))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(_run("eval", "needles", str(cases), "--json").stdout)
    assert "┃" in proc.stdout  # rich's box drawing
    for c in doc["cases"]:
        assert c["id"] in proc.stdout
    assert re.search(rf"tokens_before\s*│\s*{doc['tokens_before']:,}\s*│", proc.stdout)

    # rich missing: a plain table with the same figures
    plain = _run("eval", "needles", str(cases), pre="import sys; sys.modules['rich'] = None; ")
    assert plain.returncode == 0, plain.stderr
    assert "┃" not in plain.stdout and "│" not in plain.stdout
    assert re.search(rf"^tokens_before\s+{doc['tokens_before']:,}$", plain.stdout, re.M)
    assert re.search(rf"^needles_kept\s+{doc['needles_kept']:,}$", plain.stdout, re.M)
    title, header = plain.stdout.splitlines()[0], plain.stdout.splitlines()[1].split()
    assert title == "headroom eval needles"
    assert header[:5] == ["id", "kind", "format", "tokens_before", "tokens_after"]


def test_any_eval_dict_renders() -> None:
    doc = {"eval": "tools", "conversations": 2, "broken_pairs": 0, "tokens_before": 300, "tokens_after": 120,
           "cases": [{"id": "agent_a", "pairs": 3, "tokens_before": 100, "tokens_after": 20, "extra": [1]},
                     {"id": "agent_b", "pairs": 4, "tokens_before": 200, "tokens_after": 100, "ok": True}],
           "notes": ["something to see"]}
    out = io.StringIO()
    render_table(doc, out, plain=True)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["id", "pairs", "tokens_before", "tokens_after", "ok"]  # scalar fields, in order
    assert lines[2].split() == ["agent_a", "3", "100", "20", "-"]
    assert "conversations  2" in out.getvalue() and lines[-1] == "something to see"
    kinds = by_kind(doc)
    assert kinds == {"agent": {"cases": 2.0, "saved_pct": pytest.approx(60.0)}}
    assert "width:60.0%" in render_html(doc)


def test_argument_errors(tmp_path: Path) -> None:
    proc = _run("eval", "needles", str(tmp_path), "--kwargs", "[1]")
    assert proc.returncode == 2 and "--kwargs must be a JSON object" in proc.stderr
    proc = _run("eval", "needles", str(tmp_path / "missing"))
    assert proc.returncode == 1 and "missing" in proc.stderr
    proc = _run("eval", "answers", str(tmp_path))
    assert proc.returncode == 2 and "--model" in proc.stderr
    for sub, flag in (("tools", "--data"), ("answers", "--model-name"), ("session", "--ttl")):
        helped = _run("eval", sub, "--help")
        assert helped.returncode == 0 and flag in helped.stdout


def test_check_fails_a_run_that_loses_a_needle(cases: Path) -> None:
    first = json.loads(_run("eval", "needles", str(cases), "--json").stdout)
    for c in first["cases"]:  # keep the cases whose needles all survive
        if c["needles_kept"] < c["needles_total"]:
            next(p for p in cases.glob("*.json") if json.loads(p.read_text())["id"] == c["id"]).unlink()
    assert _run("eval", "needles", str(cases), "--check", "--json").returncode == 0
    path = sorted(cases.glob("*.json"))[0]
    case = json.loads(path.read_text())
    case["needles"] = [*case["needles"], "a fact no tool output ever held"]
    path.write_text(json.dumps(case))
    plain = _run("eval", "needles", str(cases), "--json")
    assert plain.returncode == 0  # without --check the run reports, it does not judge
    checked = _run("eval", "needles", str(cases), "--check", "--json")
    assert checked.returncode == 1 and "--check: 1 needle(s) lost" in checked.stderr
    assert json.loads(checked.stdout)["needles_kept"] == json.loads(plain.stdout)["needles_total"] - 1
