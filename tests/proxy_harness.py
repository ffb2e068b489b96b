"""Start ``headroom proxy`` as a real uvicorn process on 127.0.0.1 for the proxy tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))  # fake_upstream

NEEDLE = "2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
QUESTION = "Did any worker lose its heartbeat?"


def make_log(lines: int = 3000, seed: int = 0) -> str:
    return "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i + seed} "
                     f"to worker-{i % 5}" for i in range(lines)) + "\n" + NEEDLE


LOG = make_log()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Proxy:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc = proc
        self.url = url
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def healthy(self, headers: dict[str, str] | None = None) -> bool:
        try:
            return httpx.get(self.url + "/health", headers=headers, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def run_proxy(upstream: str, *args: str, store: str | None = None, env: dict[str, str] | None = None,
              health_headers: dict[str, str] | None = None) -> Iterator[Proxy]:
    """A proxy process in front of ``upstream``; waits for ``/health`` and stops it after."""
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="headroom-proxy-"))
    log = tmp / "proxy.log"
    cmd = [sys.executable, "-m", "headroom.cli", "proxy", "--port", str(port), "--upstream", upstream,
           "--store", store or str(tmp / "ccr.sqlite3"), *args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env={**os.environ, **(env or {})})
    proxy = Proxy(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while not proxy.healthy(health_headers):
            if proc.poll() is not None:
                raise RuntimeError(f"the proxy exited ({proc.returncode}):\n{proxy.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the proxy did not answer /health within 30 s:\n{proxy.output()}")
            time.sleep(0.05)
        yield proxy
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def anthropic_messages(log: str = LOG) -> list[dict[str, object]]:
    return [{"role": "user", "content": QUESTION},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "bash",
                                               "input": {"cmd": "cat app.log"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": log}]}]


def openai_messages(log: str = LOG) -> list[dict[str, object]]:
    return [{"role": "system", "content": "You are an SRE."},
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": log}]


def responses_input(log: str = LOG) -> list[dict[str, object]]:
    return [{"role": "user", "content": QUESTION},
            {"type": "function_call", "call_id": "call_1", "name": "bash", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": log}]


ANTHROPIC_TOOLS = [{"name": "bash", "description": "run a command", "input_schema": {"type": "object"}}]
OPENAI_TOOLS = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
RESPONSES_TOOLS = [{"type": "function", "name": "bash", "parameters": {"type": "object"}}]


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
