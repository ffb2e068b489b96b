"""Shared test set-up: keep every test's CCR store in a temporary directory and never let
litellm reach for the network at import."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))  # tests/conversations.py
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["HEADROOM_CCR_PATH"] = str(Path(tempfile.mkdtemp(prefix="headroom-test-")) / "ccr.sqlite3")
os.environ["HEADROOM_MEMORY_PATH"] = str(Path(os.environ["HEADROOM_CCR_PATH"]).parent / "memory.sqlite3")

#: The shared benchmark's cases, when ../shared/bench sits beside the checkout.
BENCH_CASES = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "cases"


# -- a real Redis for the RedisStore tests ----------------------------------------------------
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway ``redis-server`` on a free local port (tests skip only when it is not installed)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with status {proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not answer PING within 15 s")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
