"""LiteLLM callback: compress what LiteLLM sends, on every path, without ever failing a call.

LiteLLM has no single "before send" hook, so :class:`HeadroomCallback` implements the one
each path calls *and lets change the request* (read from LiteLLM's source, proved by
``tests/test_litellm_callback.py``):

* ``async_pre_call_hook`` -- the LiteLLM proxy (``ProxyLogging.pre_call_hook``), before routing.
* ``async_pre_call_deployment_hook`` -- async SDK calls (``acompletion``, ``aresponses``,
  ``anthropic_messages``: ``litellm.utils.client``'s ``wrapper_async``) and sync
  ``litellm.responses`` (``BaseLLMHTTPHandler._run_sync_responses_pre_call_deployment_hook``).
* ``log_pre_api_call`` -- sync ``litellm.completion`` calls no request-changing hook; the last
  callback before the HTTP call gets the provider body (``additional_args.complete_input_dict``),
  the very dict that is sent, so its ``messages`` are replaced in place.

A call compressed by an earlier hook is not compressed again by a later one (same
``litellm_call_id``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from litellm.integrations.custom_logger import CustomLogger

from headroom.ccr.store import Store
from headroom.config import DEFAULT_CONFIG, Config
from headroom.hooks import Hooks
from headroom.request import compress_request
from headroom.stats import CallRecord, Stats

if TYPE_CHECKING:
    from headroom.memory import Memory
    from headroom.memory.conversation import MemoryTools

__all__ = ["CallRecord", "HeadroomCallback"]

log = logging.getLogger("headroom")

_CHAT = frozenset({"completion", "acompletion"})
_ANTHROPIC = frozenset({"anthropic_messages", "aanthropic_messages"})
_RESPONSES = frozenset({"responses", "aresponses"})
_MEMO = 4096  # call ids remembered as already compressed


class HeadroomCallback(CustomLogger):  # type: ignore[misc]  # (Any when mypy runs without litellm)
    """``litellm.callbacks = [HeadroomCallback()]`` (SDK) or ``callbacks:`` in the proxy config.

    ``config``, ``store`` and ``hooks`` go to :func:`headroom.compress`. With ``memory`` (a
    :class:`headroom.memory.Memory`), ``recall`` memories are recalled into each new user turn,
    the same ones again in that turn on later requests (:mod:`headroom.memory.conversation`); a
    callback cannot answer tool calls, so an app that offers the memory tools answers them with
    ``answer_retrieval_calls(reply, memory=...)``. Requests whose text
    exceeds ``thread_threshold_chars`` are compressed in a worker thread from the async hooks.
    Stats: ``stats`` (:class:`headroom.stats.Stats`: tokens before/after/saved, units,
    errors; ``calls``, the last ``max_records`` records), also as ``total_tokens_saved``/``calls``.
    A subclass that overrides nothing keeps working; the proxy only calls an
    ``async_pre_call_hook`` defined on the class itself, so a subclass must re-declare it.
    """

    def __init__(self, config: Config | None = None, *, store: Store | None = None, hooks: Hooks | None = None,
                 max_records: int = 1000, thread_threshold_chars: int = 256 * 1024, memory: Memory | None = None,
                 recall: int = 3, scope_ids: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.config = config or DEFAULT_CONFIG
        self.memory: MemoryTools | None = None
        if memory is not None:
            from headroom.memory.conversation import MemoryTools
            self.memory = MemoryTools(memory, recall=recall, scope_ids=scope_ids)
        self.store = store
        self.hooks = hooks
        self.thread_threshold_chars = thread_threshold_chars
        self.stats = Stats(max_records)
        self._lock = threading.Lock()
        self._handled: OrderedDict[str, None] = OrderedDict()

    @property
    def max_records(self) -> int:
        return self.stats.max_records

    @max_records.setter
    def max_records(self, value: int) -> None:
        self.stats.max_records = value

    @property
    def calls(self) -> list[CallRecord]:
        return self.stats.calls

    @property
    def total_tokens_saved(self) -> int:
        return self.stats.tokens_saved

    # -- the hooks LiteLLM calls ------------------------------------------------------

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict[str, Any],
                                  call_type: Any) -> dict[str, Any] | None:
        """Proxy: return the compressed request (``None`` keeps ``data`` as it is)."""
        return await self._acompress(data, call_type, "async_pre_call_hook")

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, Any], call_type: Any) -> dict[str, Any] | None:
        """SDK async calls and sync ``responses``: return the kwargs to call the deployment with."""
        if self._seen(kwargs.get("litellm_call_id")):
            return None
        return await self._acompress(kwargs, call_type, "async_pre_call_deployment_hook")

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        """Sync ``completion``: rewrite the provider body LiteLLM is about to send."""
        try:
            call_type = _name(kwargs.get("call_type"))
            body = (kwargs.get("additional_args") or {}).get("complete_input_dict")
            if (call_type not in _CHAT or not isinstance(body, dict) or not isinstance(body.get("messages"), list)
                    or self._seen(kwargs.get("litellm_call_id"))):
                return
            new = self._compress(body, "messages", "auto", call_type, "log_pre_api_call")
            if new is not None:  # the very dict LiteLLM sends: change it in place
                body.update({k: v for k, v in new.items() if body.get(k) is not v})
        except Exception as exc:  # never raise into LiteLLM
            log.warning("headroom: LiteLLM log_pre_api_call failed; sent unchanged: %s: %s", type(exc).__name__, exc)

    # -- translation ----------------------------------------------------------------

    async def _acompress(self, request: dict[str, Any], call_type: Any, hook: str) -> dict[str, Any] | None:
        try:
            name = _name(call_type)
            key, fmt = _shape(request, name)
            if key is None:
                return None
            self._mark(request.get("litellm_call_id"))
            if _text_size(request[key], self.thread_threshold_chars) >= self.thread_threshold_chars:
                return await asyncio.to_thread(self._compress, request, key, fmt, name, hook)
            return self._compress(request, key, fmt, name, hook)
        except Exception as exc:  # never raise into LiteLLM
            log.warning("headroom: LiteLLM %s failed; sent unchanged: %s: %s", hook, type(exc).__name__, exc)
            return None

    def _compress(self, request: dict[str, Any], key: str, fmt: str, call_type: str,
                  hook: str) -> dict[str, Any] | None:
        """A copy of ``request`` with ``request[key]`` compressed, or ``None`` to send it as it is."""
        started = time.perf_counter()
        model = request.get("model") if isinstance(request.get("model"), str) else None
        recalled = self._recall(request, key, fmt)
        if recalled is not None:
            request = recalled
        try:
            new, result = compress_request(request, key, fmt, config=self.config, hooks=self.hooks,
                                           store=self.store)
        except Exception as exc:  # fail open: the call goes out uncompressed
            log.warning("headroom: compressing a LiteLLM %s request failed; sent unchanged: %s: %s",
                        call_type, type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            self.stats.record(CallRecord(model, call_type, hook, 0, 0, _ms(started), f"{type(exc).__name__}: {exc}"))
            return recalled
        self.stats.record(CallRecord.of(result, model, call_type, hook, _ms(started)))
        return new if new is not None else recalled

    def _recall(self, request: dict[str, Any], key: str, fmt: str) -> dict[str, Any] | None:
        """A copy of ``request`` with recalled memories, or ``None`` when there are none."""
        if self.memory is None or not self.memory.recall:
            return None
        try:
            messages = self.memory.inject(request[key], fmt)
        except Exception as exc:  # recall is an extra: the request goes out without it
            log.warning("headroom: recalling memories failed; sent without: %s: %s", type(exc).__name__, exc)
            return None
        return {**request, key: messages} if messages != request[key] else None

    # -- bookkeeping ----------------------------------------------------------------

    def _mark(self, call_id: Any) -> None:
        if isinstance(call_id, str) and call_id:
            with self._lock:
                self._handled[call_id] = None
                while len(self._handled) > _MEMO:
                    self._handled.popitem(last=False)

    def _seen(self, call_id: Any) -> bool:
        with self._lock:
            return isinstance(call_id, str) and call_id in self._handled


def _name(call_type: Any) -> str:
    """``CallTypes.acompletion`` or ``"acompletion"`` -> ``"acompletion"``."""
    return str(getattr(call_type, "value", call_type) or "")


def _shape(request: dict[str, Any], call_type: str) -> tuple[str | None, str]:
    """(the key holding the conversation, its format) for a LiteLLM request of ``call_type``."""
    if call_type in _RESPONSES:
        return ("input", "responses") if isinstance(request.get("input"), list) else (None, "auto")
    if (call_type in _CHAT or call_type in _ANTHROPIC) and isinstance(request.get("messages"), list):
        return "messages", "anthropic" if call_type in _ANTHROPIC else "openai"
    return None, "auto"


def _text_size(value: Any, limit: int) -> int:
    """Characters of text in ``value``, counted until ``limit`` is reached."""
    total = 0
    stack = [value]
    while stack and total < limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return total


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
