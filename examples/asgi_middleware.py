"""CompressionMiddleware in front of a small LLM gateway, end to end on 127.0.0.1.

The gateway is a Starlette app that forwards ``/v1/chat/completions`` to an upstream
provider (here the fake one from ``fake_upstream.py``). With the middleware added, the
gateway -- and so the provider -- receives the compressed request; the client sends the
original and reads the savings from the response headers.

    python examples/asgi_middleware.py        # needs headroom[proxy] (starlette, uvicorn, httpx)
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import FakeUpstream

from headroom.ccr import MemoryStore
from headroom.middleware import CompressionMiddleware

SESSION = Path(__file__).resolve().parent / "agent_session.json"


def gateway(upstream_url: str) -> Starlette:
    async def forward(request: Request) -> Response:
        async with httpx.AsyncClient(base_url=upstream_url, timeout=60) as client:
            reply = await client.post(request.url.path, content=await request.body(),
                                      headers={"content-type": "application/json"})
        return Response(reply.content, reply.status_code, media_type=reply.headers.get("content-type"))

    app = Starlette(routes=[Route("/v1/chat/completions", forward, methods=["POST"])])
    # The default store is a SQLite file any process can retrieve from; memory keeps the demo clean.
    app.add_middleware(CompressionMiddleware, store=MemoryStore())
    return app


def serve_in_thread(app: Any) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def main() -> None:
    session = json.loads(SESSION.read_text())
    request = {"model": session["model"], "messages": session["messages"]}
    with FakeUpstream() as upstream:
        url, server, thread = serve_in_thread(gateway(upstream.url))
        try:
            response = httpx.post(url + "/v1/chat/completions", json=request, timeout=60)
            response.raise_for_status()
        finally:
            server.should_exit = True
            thread.join(10)
        received = upstream.requests[-1].body
    sent_bytes = len(json.dumps(request).encode())
    received_bytes = len(json.dumps(received).encode())
    print(f"client sent    {sent_bytes:>9,} bytes, {len(request['messages'])} messages")
    print(f"provider got   {received_bytes:>9,} bytes, {len(received['messages'])} messages")
    print(f"tokens before  {int(response.headers['x-headroom-tokens-before']):>9,}")
    print(f"tokens after   {int(response.headers['x-headroom-tokens-after']):>9,}")
    print(f"tokens saved   {int(response.headers['x-headroom-tokens-saved']):>9,}")
    print("model answered:", response.json()["choices"][0]["message"]["content"])


if __name__ == "__main__":
    main()
