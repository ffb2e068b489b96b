"""Multi-turn sessions (successive requests of one conversation) and the with/without comparison.

A session file is JSON, either explicit::

    {"model": "gpt-4o", "requests": [{"messages": [...], "tools": [...]}, ...],
     "times": [0, 12.5, ...], "outputs": [310, 95, ...]}

or compact, one conversation and how many of its messages each request sent::

    {"model": "gpt-4o", "tools": [...], "messages": [...], "requests": [2, 5, 8],
     "times": [...], "system_per_request": ["...", ...]}

In the compact form each request's output tokens are the assistant messages that the
next request adds (the last request's are those after it). ``system_per_request``
replaces the system prompt per request (an app that renders the time into it).
``"base": "other.json"`` starts from another session file and overrides its fields.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headroom.ccr.store import MemoryStore
from headroom.ccr.tool import tool_definition
from headroom.config import Config
from headroom.cost.simulator import SimReport, simulate
from headroom.tokens import count_tokens

__all__ = ["Arm", "Session", "compare", "headroom_arm", "load_session"]

Arm = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Session:
    requests: list[dict[str, Any]]
    model: str | None = None
    provider: str | None = None
    times: list[float] | None = None
    outputs: list[int] | None = None
    source: str = ""


def load_session(path: str | Path) -> Session:
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a session is a JSON object with 'requests'")
    if "base" in data:
        base = json.loads((path.parent / str(data["base"])).read_text(encoding="utf-8"))
        data = {**base, **{k: v for k, v in data.items() if k != "base"}}
    return session_from_dict(data)


def session_from_dict(data: dict[str, Any]) -> Session:
    requests = data.get("requests")
    if not isinstance(requests, list) or not requests:
        raise ValueError("a session needs a non-empty 'requests' list (request bodies, or message counts)")
    model = data.get("model")
    if all(isinstance(r, dict) for r in requests):
        bodies = [dict(r) for r in requests]
        outputs = data.get("outputs")
    elif all(isinstance(r, int) for r in requests):
        bodies, outputs = _expand(data, requests, model)
    else:
        raise ValueError("'requests' must be all request bodies or all message counts")
    times = data.get("times")
    if times is not None and len(times) != len(bodies):
        raise ValueError(f"'times' has {len(times)} entries for {len(bodies)} requests")
    return Session(bodies, model, data.get("provider"), times, outputs, str(data.get("source", "")))


def _expand(data: dict[str, Any], counts: list[int], model: str | None) -> tuple[list[dict[str, Any]], list[int]]:
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise ValueError("a compact session needs the conversation's 'messages'")
    if counts != sorted(counts) or counts[-1] > len(messages):
        raise ValueError("'requests' must be increasing message counts within 'messages'")
    per_system = data.get("system_per_request")
    bodies, outputs = [], []
    for k, n in enumerate(counts):
        body: dict[str, Any] = {"messages": list(messages[:n])}
        for key in ("tools", "system"):
            if key in data:
                body[key] = data[key]
        if per_system is not None:
            if "system" in body or not messages or messages[0].get("role") not in ("system", "developer"):
                body["system"] = per_system[k]
            else:
                body["messages"][0] = {**messages[0], "content": per_system[k]}
        bodies.append(body)
        end = counts[k + 1] if k + 1 < len(counts) else len(messages)
        replies = [m for m in messages[n:end] if isinstance(m, dict) and m.get("role") == "assistant"]
        outputs.append(count_tokens(replies, model) if replies else 0)
    return bodies, outputs


def headroom_arm(model: str | None, config: Config | None = None, *, retrieve_tool: str = "always") -> Arm:
    """Compress each request as an integration would: ``compress`` with the request's
    ``system``/``tools``, the aligned versions sent back. ``retrieve_tool="always"`` sends
    ``headroom_retrieve`` on every request (stable tools); ``"when-refs"`` only once a
    marker carries a ref (the tool list then changes once, a full cache miss)."""
    from headroom.pipeline import compress

    cfg = config or Config()
    store = MemoryStore()

    def arm(body: dict[str, Any]) -> dict[str, Any]:
        key = "input" if isinstance(body.get("input"), list) else "messages"
        sys_key = "instructions" if key == "input" else "system"
        result = compress(body[key], model, system=body.get(sys_key), tools=body.get("tools"), config=cfg,
                          store=store)
        out = dict(body)
        out[key] = result.messages
        if sys_key in body:
            out[sys_key] = result.system
        tools = list(result.request_tools or [])
        if retrieve_tool == "always" and cfg.ccr:
            tools.append(tool_definition(result.format))
        else:
            tools.extend(result.tools)
        if tools:
            out["tools"] = tools
        return out

    return arm


def compare(session: Session, model: str | None = None, *, provider: str | None = None, ttl: str = "5m",
            arms: dict[str, Arm | None] | None = None) -> dict[str, SimReport]:
    """Simulate the session once per arm (``None``: the requests as they are). Default arms:
    no compression, Headroom's defaults, and Headroom with ``cache_align="on"``."""
    model = model or session.model
    if not model:
        raise ValueError("no model: pass one, or set 'model' in the session")
    if arms is None:
        arms = {"no compression": None, "headroom": headroom_arm(model),
                "headroom + cache_align": headroom_arm(model, Config(cache_align="on"))}
    provider = provider or session.provider
    out: dict[str, SimReport] = {}
    for label, arm in arms.items():
        bodies: Sequence[dict[str, Any]] = session.requests if arm is None else [arm(b) for b in session.requests]
        out[label] = simulate(bodies, model, provider=provider, ttl=ttl, times=session.times, outputs=session.outputs)
    return out
