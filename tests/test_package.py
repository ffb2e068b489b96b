"""Packaging promises: a light import, the CLI, the README's commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("litellm", "torch", "transformers", "starlette", "fastapi", "redis", "tree_sitter", "trafilatura",
         "langchain_core", "agno", "strands")


def test_import_is_light() -> None:
    code = ("import sys, headroom, headroom.adapters, headroom.adapters.loop; "
            "print(' '.join(sorted(m for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    loaded = {m.split(".")[0] for m in out}
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "headroom.cli", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ}, check=False)


def test_cli_version() -> None:
    out = _cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("headroom ")


def test_cli_compresses_a_messages_file(tmp_path: Path) -> None:
    log = "\n".join(f"10:00:{i % 60:02d} INFO job {i} ok" for i in range(500)) + "\n10:09:00 ERROR job 9 died"
    msgs = [{"role": "user", "content": "Which job died?"},
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c", "type": "function", "function": {"name": "sh", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": log}]
    path = tmp_path / "req.json"
    path.write_text(json.dumps({"model": "gpt-4o", "messages": msgs}))
    out = _cli("compress", str(path))
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["model"] == "gpt-4o" and len(body["messages"]) == 3
    assert "job 9 died" in body["messages"][2]["content"]
    assert len(body["messages"][2]["content"]) < len(log)
    assert "total" in out.stderr and "[2]" in out.stderr  # the per-unit table


def test_cli_raw_tool_output_from_stdin() -> None:
    text = "\n".join(["building wheel ..."] * 400) + "\ndone"
    out = _cli("compress", "-", "-q", stdin=text)
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip("\n").endswith("done") and len(out.stdout) < len(text)
    assert out.stderr == ""


def test_example_session_ships() -> None:
    data = json.loads((ROOT / "examples" / "agent_session.json").read_text())
    assert data["messages"]
