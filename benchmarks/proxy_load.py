"""Load through ``headroom proxy``: N concurrent streaming requests, direct vs through the proxy.

Starts a fake OpenAI-compatible provider (a pure-ASGI streaming app under uvicorn, in its
own process, so the provider is not what saturates) and a real proxy process on
127.0.0.1, then sends the same N concurrent streamed Chat Completions requests straight to
the provider and through the proxy, a few waves each, and reports the latency the proxy
adds (time to the first byte and to the end of the stream, p50/p99) and any errors. The
requests are small, so nothing is compressed and the figures are the proxy's own cost;
compression time is measured apart, on requests carrying a large tool output, from the
proxy's ``/stats``.

    python benchmarks/proxy_load.py [--concurrency 200] [--waves 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "examples")]
from proxy_harness import (  # noqa: E402
    LOG,
    QUESTION,
    free_port,
    run_proxy,
)

#: The fake provider sends one SSE event per this many ms, as a model writes its answer.
PACE_MS = "20"
#: Events per streamed answer (plus the final ``[DONE]``).
EVENTS = 8


async def fake_provider(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Chat Completions streamed: ``EVENTS`` chunks ``x-fake-event-ms`` apart, then ``[DONE]``."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    pace = int(headers.get(b"x-fake-event-ms", b"0")) / 1000
    if scope["path"].endswith("/chat/completions") and json.loads(body or b"{}").get("stream"):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for i in range(EVENTS):
            if i and pace:
                await asyncio.sleep(pace)
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o",
                     "choices": [{"index": 0, "delta": {"content": f"word{i} "}, "finish_reason": None}]}
            await send({"type": "http.response.body", "body": f"data: {json.dumps(chunk)}\n\n".encode(),
                        "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
        return
    reply = {"id": "c", "object": "chat.completion", "created": 0, "model": "gpt-4o", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(reply).encode()})


@contextmanager
def provider_process() -> Iterator[str]:
    """The fake provider under uvicorn in a child process; yields its base URL."""
    port = free_port()
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import uvicorn, proxy_load; "
            f"uvicorn.run(proxy_load.fake_provider, host='127.0.0.1', port={port}, log_level='warning', "
            "backlog=4096)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(url + "/v1/chat/completions", json={}, timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the fake provider did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
SMALL = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "Say hello."}]}
BIG = {"model": "gpt-4o", "messages": [
    {"role": "user", "content": QUESTION},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": LOG}]}


async def one(url: str, body: bytes) -> tuple[float, float] | str:
    """(seconds to the first byte of the reply, to its end) of one streamed request, or the
    error. A bare asyncio HTTP/1.1 client: the load generator must cost less than what it
    measures (httpx's pool slows down by itself at a few hundred concurrent streams)."""
    host, port = url.removeprefix("http://").split(":")
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
                     b"authorization: Bearer k\r\nx-fake-event-ms: %s\r\nconnection: close\r\n"
                     b"content-length: %d\r\n\r\n%s" % (host.encode(), PACE_MS.encode(), len(body), body))
        await writer.drain()
        head = await reader.read(65536)
        first = time.perf_counter() - started
        data = head + await reader.read()  # to the end: the server closes after the stream
        writer.close()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    if not data.startswith(b"HTTP/1.1 200"):
        return data.split(b"\r\n", 1)[0].decode(errors="replace")
    if b"[DONE]" not in data:
        return "stream ended early"
    return first, time.perf_counter() - started


async def waves(url: str, concurrency: int, count: int) -> list[tuple[float, float] | str]:
    """``count`` waves of ``concurrency`` simultaneous streamed requests."""
    body = json.dumps(SMALL).encode()
    out: list[tuple[float, float] | str] = []
    for _ in range(count):
        out += await asyncio.gather(*(one(url, body) for _ in range(concurrency)))
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(url: str, concurrency: int, count: int) -> tuple[list[float], list[float], list[str]]:
    firsts: list[float] = []
    ends: list[float] = []
    errors: list[str] = []
    for outcome in asyncio.run(waves(url, concurrency, count)):
        if isinstance(outcome, str):
            errors.append(outcome)
        else:
            firsts.append(outcome[0])
            ends.append(outcome[1])
    return firsts, ends, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--waves", type=int, default=3)
    args = parser.parse_args(argv)
    with provider_process() as provider, run_proxy(provider, "--log-level", "warning") as proxy:
        direct = run(provider, args.concurrency, args.waves)
        through = run(proxy.url, args.concurrency, args.waves)
        for _ in range(5):  # compression, measured apart
            httpx.post(proxy.url + "/v1/chat/completions", json=BIG, timeout=60).raise_for_status()
        stats = httpx.get(proxy.url + "/stats", timeout=10).json()
    print(f"{args.concurrency} concurrent streaming requests x {args.waves} waves, fake provider on 127.0.0.1 "
          f"({EVENTS} SSE events, one per {PACE_MS} ms), nothing to compress")
    print(f"{'':14}{'first byte p50':>16}{'p99':>8}{'end p50':>10}{'p99':>8}{'errors':>8}")
    for label, (firsts, ends, errors) in (("direct", direct), ("proxy", through)):
        print(f"{label:14}{pct(firsts, .5):14.1f}ms{pct(firsts, .99):6.1f}ms{pct(ends, .5):8.1f}ms"
              f"{pct(ends, .99):6.1f}ms{len(errors):8d}")
    added_p50 = pct(through[1], .5) - pct(direct[1], .5)
    added_p99 = pct(through[1], .99) - pct(direct[1], .99)
    compress_ms = [c["ms"] for c in stats["calls"] if c["tokens_before"] > c["tokens_after"]]
    errors = len(direct[2]) + len(through[2])
    for message in sorted(set(direct[2] + through[2]))[:5]:
        print(f"  error: {message}")
    print(f"compression (3,000-line log, {len(compress_ms)} requests): "
          f"median {statistics.median(compress_ms):.1f} ms" if compress_ms else "compression: no request compressed")
    print(json.dumps({"added_p50_ms": round(added_p50, 1), "added_p99_ms": round(added_p99, 1),
                      "errors": errors}))
    print(f"summary: concurrency={args.concurrency} waves={args.waves} added_p50_ms={added_p50:.1f} "
          f"added_p99_ms={added_p99:.1f} errors={errors} "
          f"compress_median_ms={statistics.median(compress_ms) if compress_ms else 0:.1f}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
