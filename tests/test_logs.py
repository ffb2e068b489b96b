"""Log compression: rare and failing lines survive, repeats collapse into counted markers,
every marker's ref gives back exactly the lines it replaced, and output is deterministic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import BENCH_CASES
from conversations import reconstruct_lines
from hypothesis import given, settings
from hypothesis import strategies as st

from headroom.ccr.markers import find_markers
from headroom.compressors.logs.collapse import compress
from headroom.compressors.logs.templates import mine, severity_of, timestamp
from headroom.compressors.lossless import fold_lines
from headroom.config import Config
from headroom.tokens import encoding_for_model

CFG = Config()


reconstruct = reconstruct_lines


def ssh_log(failures: int = 600) -> str:
    lines = []
    for i in range(failures):
        ip = f"10.0.{i % 7}.{i % 250}"
        t = f"Dec 10 {6 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        lines.append(f"{t} LabSZ sshd[{2000 + i}]: Failed password for root from {ip} port {40000 + i} ssh2")
        lines.append(f"{t} LabSZ sshd[{2000 + i}]: Connection closed by {ip} [preauth]")
        if i == 417:
            lines.append(f"{t} LabSZ sshd[{2000 + i}]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2")
    return "\n".join(lines)


# --- templates -------------------------------------------------------------------------------


def test_mine_groups_lines_that_differ_in_numbers_and_variable_words() -> None:
    text = "\n".join([
        "2024-01-01 10:00:01 INFO Invalid user alice from 10.0.0.1",
        "2024-01-01 10:00:02 INFO Invalid user bob from 10.0.0.2",
        "2024-01-01 10:00:03 INFO Invalid user carol from 10.0.0.3",
        "2024-01-01 10:00:04 INFO Accepted password for dave from 10.0.0.4",
    ])
    mined = mine(text)
    assert mined.line_template[0] == mined.line_template[1] == mined.line_template[2]
    assert mined.line_template[3] != mined.line_template[0]
    tpl = mined.templates[mined.line_template[0]]
    assert tpl.count == 3 and tpl.level == "INFO"
    assert tpl.content() == "Invalid user <*> from <*>"


def test_mine_keeps_different_first_words_apart() -> None:
    text = "\n".join(f"Dec 10 09:00:{i:02d} host sshd[1]: Failed password for root from 1.2.3.{i} port 22 ssh2"
                     for i in range(20))
    text += "\nDec 10 09:01:00 host sshd[1]: Accepted password for fztu from 1.2.3.4 port 22 ssh2"
    mined = mine(text)
    assert len({mined.line_template[i] for i in range(20)}) == 1
    assert mined.templates[mined.line_template[20]].count == 1


def test_a_file_of_one_message_keys_on_the_message_not_on_its_variable_word() -> None:
    users = ["root", "admin", "oracle", "test", "guest", "pi", "ubuntu"]
    text = "\n".join(f"2024-01-01 10:00:{i % 60:02d} Failed password for {users[i % 7]} from 10.0.0.{i % 200}"
                     for i in range(300))
    mined = mine(text)
    assert len(mined.templates) == 1
    assert mined.templates[0].count == 300


def test_severity_and_timestamps() -> None:
    assert severity_of("kernel panic - not syncing") == 3
    assert severity_of("Connection refused") == 2
    assert severity_of("deprecated option") == 1
    assert severity_of("Received block of size 42") == 0
    assert timestamp("Jul  7 08:06:15 combo sshd[1]: x") == "Jul  7 08:06:15"
    assert timestamp("2015-10-18 18:06:09,325 INFO x") == "2015-10-18 18:06:09,325"
    assert timestamp("- 1120748233 2005.07.07 R07 2005-07-07-07.57.13.121223 R07 RAS") == "2005-07-07-07.57.13.121223"
    assert timestamp("no time here") is None


# --- what is kept --------------------------------------------------------------------------


def test_rare_line_survives_among_repeats_and_markers_count_the_rest() -> None:
    text = ssh_log()
    comp = compress(text, "Did any login succeed?", CFG)
    assert "Accepted password for fztu from 119.137.62.142" in comp.text
    assert len(comp.text) < 0.1 * len(text)
    summaries = [m.summary for m in find_markers(comp.text)]
    assert summaries and all(m.ref for m in find_markers(comp.text))
    assert any('"Failed password for root from <*> port <*> ssh<*>"' in s for s in summaries)
    assert any("Dec 10 " in s and "–" in s for s in summaries)  # a time span
    assert sum(int(s.split()[0].replace(",", "")) for s in summaries) + comp.text.count("\n") + 1 - len(summaries) \
        == text.count("\n") + 1  # counts add up: nothing lost silently


def test_reconstruction_exact_with_crlf_and_inner_spacing() -> None:
    lines = [f"Jul  {1 + i % 9} 0{i % 10}:1{i % 6}:00 combo ftpd[{i}]: connection from 10.1.{i % 5}.{i}  (x)\r"
             for i in range(400)]
    lines.insert(200, "Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2\r")
    text = "\n".join(lines)
    comp = compress(text, "", CFG)
    assert "Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2\r" in comp.text.split("\n")
    assert comp.omissions
    assert reconstruct(comp) == text


def test_frequent_failures_are_sampled_with_their_distinct_values() -> None:
    nodes = ["R02-M1-N0", "R03-M0-N4", "R17-M1-NC"]
    lines = []
    for i in range(3000):
        if i % 10 == 3:
            lines.append(f"- {1120000000 + i} {nodes[i % 3]} RAS KERNEL FATAL data TLB error interrupt")
        else:
            lines.append(f"- {1120000000 + i} R0{i % 8}-M0-N{i % 9} RAS KERNEL INFO generating core.{i}")
    text = "\n".join(lines)
    comp = compress(text, "Which nodes had TLB errors?", CFG)
    fatal_kept = [ln for ln in comp.text.split("\n") if "FATAL" in ln and not ln.startswith("[…")]
    assert 3 <= len(fatal_kept) <= 30
    for node in nodes:
        assert node in comp.text
    assert any("values:" in m.summary and "R02-M1-N0" in m.summary for m in find_markers(comp.text))
    assert reconstruct(comp) == text


def test_stack_trace_under_an_error_is_kept_whole() -> None:
    lines = [f"2024-05-01 12:00:{i % 60:02d},000 INFO [worker-{i % 4}] Processed batch {i} in {i % 90} ms"
             for i in range(300)]
    trace = [
        "2024-05-01 12:05:00,001 ERROR [worker-2] Batch 151 failed",
        "java.lang.IllegalStateException: queue closed",
        "\tat com.acme.Queue.take(Queue.java:88)",
        "\tat com.acme.Worker.run(Worker.java:41)",
        "Caused by: java.io.IOException: broken pipe",
        "\t... 2 more",
    ]
    text = "\n".join(lines[:150] + trace + lines[150:])
    comp = compress(text, "", CFG)
    assert "\n".join(trace) in comp.text
    assert reconstruct(comp) == text


def test_question_terms_keep_matching_lines_but_a_common_term_is_capped() -> None:
    lines = [f"081109 2036{i % 60:02d} {i} INFO dfs.DataNode: Receiving block blk_{1000 + i} src: /10.0.0.{i % 200}"
             for i in range(1500)]
    text = "\n".join(lines)
    comp = compress(text, "What happened to blk_1733 and was any block received from somewhere?", CFG)
    assert "blk_1733 " in comp.text
    kept = [ln for ln in comp.text.split("\n") if not ln.startswith("[…")]
    assert len(kept) < 30


def test_values_of_the_template_the_question_is_about_survive() -> None:
    users = ["cyrus", "news", "alice", "bob", "mallory"]
    lines = []
    for i in range(400):
        lines.append(f"Jul  5 04:{i // 60 % 60:02d}:{i % 60:02d} combo su(pam_unix)[{4000 + i}]: "
                     f"session opened for user {users[i % 5] if i % 50 else 'mallory'} by (uid=0)")
        lines.append(f"Jul  5 04:{i // 60 % 60:02d}:{i % 60:02d} combo cron[{9000 + i}]: job {i} ran in {i % 7} s")
    text = "\n".join(lines)
    comp = compress(text, "Which users opened su sessions?", CFG)
    for user in users:
        assert f"for user {user} by" in comp.text or f"{user} ×" in comp.text
    assert len(comp.text) < 0.15 * len(text)


def test_first_and_last_lines_are_kept() -> None:
    text = "\n".join(f"2024-01-01 00:00:{i % 60:02d} INFO tick {i}" for i in range(500))
    out = compress(text, "", CFG).text.split("\n")
    assert out[0] == "2024-01-01 00:00:00 INFO tick 0"
    assert out[-1] == "2024-01-01 00:00:19 INFO tick 499"


def test_a_run_repeating_the_line_before_folds_losslessly() -> None:
    head = [f"2024-01-01 00:00:{i:02d} INFO starting worker {i} on host-{i % 3}" for i in range(40)]
    text = "\n".join([*head, "2024-01-01 00:01:00 WARN disk almost full"] * 1 +
                     ["2024-01-01 00:01:00 WARN disk almost full"] * 30 + head)
    comp = compress(text, "", CFG)
    assert "[… previous line ×29 more]" in comp.text and not comp.omissions[2:]
    assert reconstruct(comp) == text


def test_output_does_not_depend_on_the_hash_seed() -> None:
    script = (
        "import hashlib, sys; from headroom.compressors.logs import compress; from headroom.config import Config; "
        "print(hashlib.sha256(compress(sys.stdin.read(), 'which users failed?', Config()).text.encode()).hexdigest())"
    )
    root = str(Path(__file__).resolve().parents[1])
    outs = {subprocess.run([sys.executable, "-c", script], input=ssh_log(500), capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}).stdout
            for seed in ("0", "1", "12345")}
    assert len(outs) == 1 and len(next(iter(outs))) == 65


# --- config ----------------------------------------------------------------------------------


def test_lossless_only_drops_nothing() -> None:
    text = ssh_log(200)
    comp = compress(text, "", CFG.with_(lossless_only=True))
    assert comp.omissions == []
    assert comp.text == fold_lines(text)


def test_without_ccr_markers_carry_no_ref() -> None:
    comp = compress(ssh_log(200), "", CFG.with_(ccr=False))
    markers = find_markers(comp.text)
    assert markers and all(m.ref is None for m in markers)
    assert comp.omissions == []


def test_keep_scale_and_options_change_how_much_is_kept() -> None:
    users = ["root", "admin", "oracle", "test", "guest", "pi", "ubuntu", "git", "www", "ftp"]
    text = "\n".join(f"Dec 10 07:{i // 60 % 60:02d}:{i % 60:02d} host sshd[{i}]: Failed password for "
                     f"{users[i % len(users)]} from 10.0.0.{i % 250} port {4000 + i} ssh2" for i in range(600))

    def failed(cfg: Config) -> int:
        return sum(1 for ln in compress(text, "", cfg).text.split("\n") if ln.startswith("Dec 10"))

    assert failed(CFG.with_(keep_scale=3.0)) > failed(CFG) > failed(CFG.with_(keep_scale=0.25))
    assert failed(CFG.with_(options={"logs": {"error_samples": 8}})) > failed(CFG)


def test_already_compressed_text_is_left_alone() -> None:
    once = compress(ssh_log(300), "", CFG)
    again = compress(once.text, "", CFG)
    assert again.text == once.text and again.omissions == []


# --- properties ------------------------------------------------------------------------------

_WORDS = st.sampled_from(["alpha", "beta", "gamma", "error", "Failed", "ok", "retry", "user", "db", "x"])
_LINE = st.one_of(
    st.builds(lambda n, w: f"2024-02-03 04:05:{n % 60:02d} INFO job {n} finished {w}", st.integers(0, 10**6), _WORDS),
    st.builds(lambda n, w: f"2024-02-03 04:06:{n % 60:02d} WARN {w} slow query took {n} ms", st.integers(0, 999),
              _WORDS),
    st.builds(lambda a, b: f"  at {a}.{b}(File.java:{len(a)})", _WORDS, _WORDS),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), max_size=40),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_LINE, min_size=0, max_size=300), st.sampled_from(["", "which job failed?", "slow query 42"]))
def test_properties_reconstruct_deterministic_never_longer(lines: list[str], question: str) -> None:
    text = "\n".join(lines)
    comp = compress(text, question, CFG)
    assert reconstruct(comp) == text
    assert len(comp.text) <= len(text)
    again = compress(text, question, CFG)
    assert again.text == comp.text and again.omissions == comp.omissions
    for omission in comp.omissions:
        assert omission.kind == "logs"


# --- bench cases -----------------------------------------------------------------------------

CASES = sorted(BENCH_CASES.glob("logs_*.json")) if BENCH_CASES.is_dir() else []


def _tool_texts(case: dict[str, Any]) -> list[str]:
    out = []
    for msg in case["messages"]:
        if msg.get("role") == "tool":
            out.append(msg["content"])
        elif isinstance(msg.get("content"), list):
            out.extend(b["content"] for b in msg["content"] if b.get("type") == "tool_result")
    return out


@pytest.mark.skipif(not CASES, reason="../shared/bench not beside the checkout")
def test_bench_log_cases_keep_every_needle_and_save_85_percent() -> None:
    enc = encoding_for_model("gpt-4o")
    before = after = 0
    for path in CASES:
        case = json.loads(Path(path).read_text(encoding="utf-8"))
        for text in _tool_texts(case):
            comp = compress(text, case["question"], CFG)
            assert reconstruct(comp) == text, case["id"]
            before += len(enc.encode_ordinary(text))
            after += len(enc.encode_ordinary(comp.text))
            lost = [n for n in case["needles"] if n in text and n not in comp.text]
            assert not lost, f"{case['id']} lost {lost}"
    assert after <= 0.15 * before
