"""The adapter examples run as scripts: exit 0 and print what they promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str) -> str:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=240,
                          env=env, cwd=EXAMPLES.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def number(label: str, out: str) -> int:
    match = re.search(rf"{label}\s+([\d,]+)", out)
    assert match, out
    return int(match.group(1).replace(",", ""))


def test_asgi_middleware_example() -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    out = run("asgi_middleware.py")
    assert number("tokens before", out) > 3 * number("tokens after", out) > 0
    assert number("tokens saved", out) == number("tokens before", out) - number("tokens after", out)
    assert number("provider got", out) < number("client sent", out)
    assert "model answered:" in out


def test_litellm_callback_example() -> None:
    pytest.importorskip("litellm")
    out = run("litellm_callback.py")
    assert "completion  answered:" in out and "acompletion answered:" in out
    assert "via log_pre_api_call" in out and "via async_pre_call_deployment_hook" in out
    assert number("total tokens saved:", out) > 0 and "error:" not in out


def test_retrieval_loop_example() -> None:
    out = run("retrieval_loop.py")
    for fmt in ("openai", "anthropic", "responses"):
        assert f"[{fmt}] model called headroom_retrieve" in out
        assert f"[{fmt}] final answer: Found: 2024-06-01 09:00:00 ERROR worker-3" in out
        assert "(after headroom_retrieve)" in out
