"""``headroom eval needles``: totals are the sums of the per-case figures, needles are really
checked (one that only sits in an omitted middle is reported lost), counts are the shared
scorer's own (its score.py imported and run on the same messages), and the judge catches
broken conversations and prefixes that change."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import BENCH_CASES

from headroom import compress
from headroom.evals.judge import check_prefixes, conversation_texts, count_texts, prefix_cuts, validate
from headroom.evals.needles import load_cases, run_needles

CORPUS = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus" / "cases"
SCORER = BENCH_CASES.parent / "score.py"
LOST = "/v1/items/777 "  # only in a run of near-identical INFO lines the logs compressor folds
KEPT = "ERR_CONN_RESET_4471"


def _log_case() -> dict[str, Any]:
    lines = [f"2031-03-04T10:{i // 60 % 60:02d}:{i % 60:02d}Z INFO api-{i % 3} GET /v1/items/{i} 200 {12 + i % 40}ms"
             for i in range(1500)]
    lines[1200] = f"2031-03-04T10:20:00Z ERROR api-2 upstream reset {KEPT}"
    call = {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "cat api.log"}'}}
    return {"id": "logs_folded_middle", "model": "gpt-4o", "needles": [LOST, KEPT],
            "messages": [{"role": "system", "content": "You help."},
                         {"role": "user", "content": "What went wrong in the api logs?"},
                         {"role": "assistant", "content": None, "tool_calls": [call]},
                         {"role": "tool", "tool_call_id": "call_1", "content": "\n".join(lines)}]}


@pytest.fixture()
def cases_dir(tmp_path: Path) -> Path:
    """Three public cases (one mixed: prefix-tested), the folded-log case, and a Responses
    request body in a .jsonl file."""
    picked = sorted(CORPUS.glob("*.json"))
    mixed = [p for p in picked if json.loads(p.read_text())["kind"] == "mixed"][:1]
    for p in [*picked[:2], *mixed]:
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "zz_folded.json").write_text(json.dumps(_log_case()))
    body = {"model": "gpt-4o", "needles": [KEPT],
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Why?"}]},
                      {"type": "function_call", "call_id": "fc_1", "name": "bash", "arguments": "{}"},
                      {"type": "function_call_output", "call_id": "fc_1",
                       "output": _log_case()["messages"][3]["content"]}]}
    (tmp_path / "zz_recorded.jsonl").write_text(json.dumps(body) + "\n")
    return tmp_path


def test_totals_are_sums_and_needles_are_checked(cases_dir: Path) -> None:
    doc = run_needles(cases_dir)
    rows = doc["cases"]
    assert doc["cases_total"] == len(rows) == 5
    for key in ("tokens_before", "tokens_after", "needles_kept", "needles_total"):
        assert doc[key] == sum(r[key] for r in rows), key
    assert doc["saved_pct"] == pytest.approx(100 * (1 - doc["tokens_after"] / doc["tokens_before"]))
    assert doc["ms_total"] == pytest.approx(sum(r["ms"] for r in rows))
    assert doc["cases_valid"] == sum(1 for r in rows if r["status"] == "ok")
    assert doc["prefix_tested"] == sum(1 for r in rows if r["prefix"] != "-") >= 1

    # the folded log: what the judge reports lost is exactly what is missing from compress()'s output
    case = _log_case()
    result = compress(copy.deepcopy(case["messages"]), model="gpt-4o")
    text = "\n".join(conversation_texts(result.messages, result.tools))
    row = next(r for r in rows if r["id"] == "logs_folded_middle")
    assert row["needles_lost"] == [n for n in case["needles"] if n not in text] == [LOST]
    assert (row["needles_kept"], row["needles_total"]) == (1, 2)
    assert row["tokens_before"] == count_texts(conversation_texts(case["messages"]))
    assert row["tokens_after"] == count_texts(conversation_texts(result.messages, result.tools))
    assert row["tokens_after"] < row["tokens_before"] / 5
    assert f"lost in logs_folded_middle: {LOST!r}" in doc["notes"]

    recorded = next(r for r in rows if r["id"] == "zz_recorded_1")
    assert (recorded["format"], recorded["kind"], recorded["status"]) == ("responses", "zz", "ok")
    assert recorded["needles_kept"] == 1 and recorded["tokens_after"] < recorded["tokens_before"]


def test_only_filters_and_an_error_counts_as_sent_uncompressed(tmp_path: Path) -> None:
    bad = {"id": "broken_no_role", "needles": ["x"], "messages": [{"content": "no role here"}]}
    (tmp_path / "a.json").write_text(json.dumps([bad, {**_log_case(), "id": "other_case"}]))
    doc = run_needles(tmp_path, only=["broken"])
    assert [r["id"] for r in doc["cases"]] == ["broken_no_role"]
    row = doc["cases"][0]
    assert row["status"] == "ERROR" and "role" in row["error"]
    assert row["tokens_after"] == row["tokens_before"] and row["needles_kept"] == 1
    assert doc["errors"] == 1 and doc["cases_valid"] == 0


def test_kwargs_reach_compress(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps(_log_case()))
    lossy = run_needles(tmp_path)["cases"][0]
    lossless = run_needles(tmp_path, kwargs={"lossless_only": True})["cases"][0]
    assert lossless["needles_lost"] == [] and lossy["needles_lost"] == [LOST]
    assert lossless["tokens_after"] > lossy["tokens_after"]


def test_bad_case_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"needles": ["a"]}))
    with pytest.raises(ValueError, match=r"x\.json"):
        load_cases(tmp_path)
    (tmp_path / "x.json").write_text(json.dumps({"messages": [], "needles": "a"}))
    with pytest.raises(ValueError, match="needles"):
        load_cases(tmp_path)


def _scorer(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    if not SCORER.is_file():
        pytest.skip("the shared benchmark is not beside this checkout")
    # score.py points tiktoken at its own tokenizer folder (offline); undone after the test
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(SCORER.parent / "tokenizer"))
    spec = importlib.util.spec_from_file_location("bench_score", SCORER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_counts_equal_the_scorers_own(monkeypatch: pytest.MonkeyPatch) -> None:
    score = _scorer(monkeypatch)
    ids = ["json_github_repo", "mixed_httpx_upgrade", "logs_hdfs_warn_small", "code_js_express_signed_cookie"]
    doc = run_needles(BENCH_CASES, only=ids)
    assert len(doc["cases"]) == 4
    for row in doc["cases"]:
        case = json.loads((BENCH_CASES / f"{row['id']}.json").read_text())
        result = compress(copy.deepcopy(case["messages"]), model=case["model"])
        payload = json.loads(json.dumps({"messages": result.messages, "tools": result.tools}))
        texts = score.conversation_texts(payload["messages"], payload["tools"])
        joined = "\n".join(texts)
        assert row["tokens_before"] == score.count_text_tokens(score.conversation_texts(case["messages"]))
        assert row["tokens_after"] == score.count_text_tokens(texts)
        assert row["needles_kept"] == sum(1 for n in case["needles"] if n in joined)
        assert row["valid"] == (score.validate(case["messages"], payload["messages"]) == [])
        if score.prefix_eligible(case):
            assert prefix_cuts(case["messages"]) == score.prefix_cuts(case)
            assert row["prefix"] == "ok"


def test_judge_catches_broken_conversations_and_unstable_prefixes() -> None:
    msgs = _log_case()["messages"]
    assert validate(msgs, msgs) == []
    assert validate(msgs, msgs[:3])[0] == "role sequence changed: tool message 3 removed (4 -> 3 messages)"
    renamed = [*msgs[:3], {**msgs[3], "tool_call_id": "call_2"}]
    assert "tool result call_2 has no matching tool call" in validate(msgs, renamed)
    first, second = msgs[:2], [*msgs[:2], *msgs[2:]]
    assert check_prefixes([first, second]) == []
    changed = [{**msgs[0], "content": "You help. Now: 10:02"}, *msgs[1:]]
    sizes = [len(json.dumps(m, sort_keys=True, ensure_ascii=False)) for m in (first[0], changed[0])]
    assert check_prefixes([first, changed]) == [f"k=1->2: message 0 (system) changed when a turn was appended "
                                                f"({sizes[0]} -> {sizes[1]} chars)"]
    assert check_prefixes([first, "ValueError: boom"]) == ["prefix 2: ERROR ValueError: boom"]
