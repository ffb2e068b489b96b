"""The retrieval loop: let the model get back what compression left out.

An app that compresses its own requests offers ``headroom_retrieve`` next to its own
tools (``result.tools``) and answers the model's calls to it with
``headroom.ccr.answer_retrieval_calls`` before calling the model again -- the same loop
it already runs for its own tools. Shown for OpenAI Chat, Anthropic Messages and OpenAI
Responses against the fake provider in ``fake_upstream.py``; only the standard library.

    python examples/retrieval_loop.py
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_upstream import FakeUpstream

from headroom import compress
from headroom.ccr import MemoryStore, answer_retrieval_calls

MODEL = "gpt-4o"
QUESTION = "Did any worker lose its heartbeat?"
LOG = "\n".join(f"2024-06-01 08:{i // 60 % 60:02d}:{i % 60:02d} INFO dispatcher sent batch {i} to worker-{i % 5}"
                for i in range(3000)) + "\n2024-06-01 09:00:00 ERROR worker-3 lost heartbeat; batch 2999 requeued"
BASH = {"name": "bash", "description": "Run a shell command.",
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}

# Per format: the conversation so far, the app's own tool definitions, the endpoint, and
# how a reply becomes the assistant turn to append.
CONVERSATIONS: dict[str, list[dict[str, Any]]] = {
    "openai": [{"role": "user", "content": QUESTION},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
               {"role": "tool", "tool_call_id": "c1", "content": LOG}],
    "anthropic": [{"role": "user", "content": QUESTION},
                  {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {}}]},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": LOG}]}],
    "responses": [{"role": "user", "content": QUESTION},
                  {"type": "function_call", "call_id": "c1", "name": "bash", "arguments": "{}"},
                  {"type": "function_call_output", "call_id": "c1", "output": LOG}],
}
APP_TOOLS: dict[str, list[dict[str, Any]]] = {
    "openai": [{"type": "function", "function": BASH}],
    "anthropic": [{"name": "bash", "description": BASH["description"], "input_schema": BASH["parameters"]}],
    "responses": [{"type": "function", **BASH}],
}


def call_model(base_url: str, fmt: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
    path, key = {"openai": ("/v1/chat/completions", "messages"), "anthropic": ("/v1/messages", "messages"),
                 "responses": ("/v1/responses", "input")}[fmt]
    body = {"model": MODEL, key: messages, "tools": tools, "max_tokens": 1024}
    request = urllib.request.Request(base_url + path, json.dumps(body).encode(),
                                     {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)


def assistant_turn(fmt: str, reply: Any) -> list[dict[str, Any]]:
    if fmt == "openai":
        return [reply["choices"][0]["message"]]
    if fmt == "anthropic":
        return [{"role": "assistant", "content": reply["content"]}]
    return list(reply["output"])


def final_text(fmt: str, reply: Any) -> str:
    if fmt == "openai":
        return str(reply["choices"][0]["message"]["content"])
    if fmt == "anthropic":
        return "".join(b.get("text", "") for b in reply["content"])
    return "".join(c.get("text", "") for item in reply["output"] for c in item.get("content", ()))


def run(base_url: str, fmt: str) -> str:
    store = MemoryStore()  # the default store is a SQLite file shared by every process
    messages = list(CONVERSATIONS[fmt])  # the app's own, uncompressed history
    for _ in range(5):
        result = compress(messages, MODEL, store=store)
        print(f"  [{fmt}] sent {result.tokens_after:,} of {result.tokens_before:,} tokens, refs {result.refs}")
        reply = call_model(base_url, fmt, result.messages, APP_TOOLS[fmt] + result.tools)
        answers = answer_retrieval_calls(reply, fmt=fmt, store=store)
        if not answers:  # no headroom_retrieve call (the app would run its own tools here)
            return final_text(fmt, reply)
        print(f"  [{fmt}] model called headroom_retrieve; answered with "
              f"{len(json.dumps(answers)):,} bytes of original content")
        messages += assistant_turn(fmt, reply) + answers
    raise RuntimeError("the model kept calling tools")


def main() -> None:
    with FakeUpstream() as upstream:
        for fmt in CONVERSATIONS:
            print(f"[{fmt}] final answer: {run(upstream.url, fmt)}")


if __name__ == "__main__":
    main()
