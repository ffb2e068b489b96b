"""Compress a whole request body: its conversation plus the ``system=`` and ``tools=`` fields
cache alignment checks. Shared by the adapters that see raw bodies (ASGI middleware,
LiteLLM callback, proxy), so each reports -- and with ``cache_align="on"`` fixes -- what
would break the provider's prompt cache, the same way.
"""

from __future__ import annotations

from typing import Any

from headroom.cache_align import body_format, request_tools, with_tools
from headroom.ccr.store import Store
from headroom.config import DEFAULT_CONFIG, Config
from headroom.hooks import Hooks
from headroom.pipeline import compress
from headroom.result import CompressResult

__all__ = ["compress_request", "system_key"]


def system_key(fmt: str) -> str | None:
    """The body field holding the system prompt: Anthropic and Bedrock ``system``, Responses
    ``instructions``; OpenAI Chat keeps it in the messages."""
    return {"anthropic": "system", "bedrock": "system", "responses": "instructions"}.get(fmt)


def compress_request(request: dict[str, Any], key: str, fmt: str, *, config: Config | None = None,
                     hooks: Hooks | None = None, store: Store | None = None) -> tuple[dict[str, Any] | None,
                                                                                     CompressResult]:
    """(a copy of ``request`` to send instead, or ``None`` to send it as it is; the result).

    ``request[key]`` is the conversation in format ``fmt`` (``"auto"`` detects it). The
    copy carries the compressed messages, and the system prompt and tools that cache
    alignment fixed; it is made only when tokens were saved or alignment changed something.
    """
    cfg = config or DEFAULT_CONFIG
    if fmt == "auto" and key == "messages" and body_format(request) == "bedrock":
        fmt = "bedrock"  # its system= and toolConfig are read below
    if cfg.format == "auto" and fmt != "auto":
        cfg = cfg.with_(format=fmt)
    model = request.get("model") if isinstance(request.get("model"), str) else None
    sys_key = system_key(fmt)
    system = request.get(sys_key) if sys_key else None
    tools = request_tools(request)  # ``tools``, or Bedrock's ``toolConfig.tools``
    result = compress(request[key], model, system=system, tools=tools, config=cfg, hooks=hooks, store=store)
    aligned = sys_key is not None and system is not None and _changed(result.system, system)
    retooled = tools is not None and _changed(result.request_tools, tools)
    if result.tokens_saved <= 0 and not aligned and not retooled and result.messages == request[key]:
        return None, result
    new = dict(request)
    new[key] = result.messages
    if aligned and sys_key is not None:
        new[sys_key] = result.system
    if retooled and result.request_tools is not None:
        new.update(with_tools(request, result.request_tools))
    return new, result


def _changed(new: Any, old: Any) -> bool:
    return new is not old and new != old
