"""Replay successive requests through a model of Anthropic's and OpenAI's prompt caches.

A request is cut into the segments the provider caches in order — tool definitions, the
system prompt, then every message (Anthropic: every content block) — and a running hash
over their exact JSON bytes stands for "byte-identical prefix".

* **Anthropic**: entries are written at cache breakpoints: the request's own
  ``cache_control`` blocks plus the automatic breakpoint on the last block (top-level
  ``cache_control``, what multi-turn agents use), which sits before a trailing Headroom
  cache-alignment note, as :func:`headroom.cache_align.align_request` places it. A
  breakpoint reads the longest entry at it or up to 20 blocks before it. Writes cost the
  5-minute or 1-hour write price, reads the read price; entries live ``ttl`` from last use.
* **OpenAI**: every request of 1,024+ tokens is cached for free; a later request reads
  the longest common token prefix with any live entry, from 1,024 tokens in 128-token steps.

Token counts use :mod:`headroom.tokens` (exact for OpenAI, an o200k estimate for Claude).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from headroom.cache_align import NOTE_PREFIX, body_format, request_tools
from headroom.cost.prices import Price, price_for
from headroom.formats import module_for
from headroom.tokens import encoding_for_model

__all__ = ["SimReport", "TurnCost", "segments", "simulate"]

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0, "24h": 86400.0}
LOOKBACK = 20
OPENAI_STEP = 128


@dataclass(frozen=True)
class Segment:
    label: str
    key: str
    text: str
    breakpoint: bool = False
    note: bool = False


@dataclass(frozen=True)
class TurnCost:
    """One request: tokens in (``cache_read + cache_write + uncached``), output, dollars, and
    where it first differs from the previous request's prefix (``None``: it extends it)."""

    turn: int
    input_tokens: int
    cache_read: int
    cache_write: int
    uncached: int
    output_tokens: int
    dollars: float
    broke_at: str | None = None


@dataclass
class SimReport:
    model: str
    provider: str
    ttl: str
    price: Price
    turns: list[TurnCost] = field(default_factory=list)

    def total(self, name: str) -> float:
        return float(sum(getattr(t, name) for t in self.turns))

    @property
    def dollars(self) -> float:
        return sum(t.dollars for t in self.turns)


def _key(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


def segments(body: dict[str, Any], fmt: str = "auto") -> list[Segment]:
    """The cached-order segments of a request body (tools, system, messages/blocks)."""
    out: list[Segment] = []
    for i, tool in enumerate(request_tools(body) or []):
        out.append(Segment(f"tools[{i}]", _key(tool), json.dumps(tool, ensure_ascii=False), _mark(tool)))
    key = "input" if isinstance(body.get("input"), list) else "messages"
    messages = list(body.get(key) or [])
    if fmt == "auto":
        fmt = body_format(body)
    module = module_for(fmt, messages)
    system = body.get("instructions" if fmt == "responses" else "system")
    blocks = [system] if isinstance(system, str) else list(system or [])
    for j, block in enumerate(blocks):
        text = block if isinstance(block, str) else str(block.get("text", "")) if isinstance(block, dict) else ""
        out.append(Segment(f"system[{j}]" if len(blocks) > 1 else "system", _key(block), text, _mark(block)))
    for i, msg in enumerate(messages):
        content = msg.get("content") if isinstance(msg, dict) else None
        if fmt in ("anthropic", "bedrock") and isinstance(content, list) and content:
            meta = {k: v for k, v in msg.items() if k != "content"}
            for j, block in enumerate(content):
                text = " ".join(module.visible_texts({**meta, "content": [block]}))
                out.append(Segment(f"{key}[{i}].content[{j}]", _key([meta, j, block]), text, _mark(block),
                                   text.startswith(NOTE_PREFIX)))
        else:
            text = " ".join(module.visible_texts(msg)) if isinstance(msg, dict) else ""
            mark = isinstance(content, list) and any(isinstance(p, dict) and "cache_control" in p for p in content)
            out.append(Segment(f"{key}[{i}]", _key(msg), text, mark, text.startswith(NOTE_PREFIX)))
    return out


def _mark(part: Any) -> bool:
    """A cache breakpoint: Anthropic's ``cache_control`` on the part, or a Bedrock ``cachePoint``."""
    return isinstance(part, dict) and ("cache_control" in part or "cachePoint" in part)


class _Tokens:
    """Token ids per segment, memoised by content key (successive requests share most)."""

    def __init__(self, model: str) -> None:
        self._encode = encoding_for_model(model).encode_ordinary
        self._memo: dict[str, list[int]] = {}

    def __call__(self, seg: Segment) -> list[int]:
        ids = self._memo.get(seg.key)
        if ids is None:
            ids = self._encode(seg.text) or [0]  # every segment costs at least a token of framing
            self._memo[seg.key] = ids
        return ids


def _prefix_hashes(segs: list[Segment]) -> list[str]:
    out, h = [], ""
    for seg in segs:
        h = hashlib.sha256((h + seg.key).encode()).hexdigest()
        out.append(h)
    return out


def _broke_at(prev: list[Segment] | None, cur: list[Segment]) -> str | None:
    if prev is None:
        return None
    prev = [s for s in prev if not s.note]
    for a, b in zip(prev, cur):
        if a.key != b.key:
            return b.label
    return None if len(cur) >= len(prev) else cur[-1].label if cur else "start"


def simulate(requests: Sequence[dict[str, Any]], model: str, *, provider: str | None = None, ttl: str = "5m",
             times: Sequence[float] | None = None, outputs: Sequence[int] | None = None,
             fmt: str = "auto") -> SimReport:
    """Cost of sending ``requests`` in order (``times``: seconds since the first; default
    30 s apart; ``outputs``: output tokens per request, default 0)."""
    if ttl not in TTL_SECONDS:
        raise ValueError(f"ttl must be one of {sorted(TTL_SECONDS)}, got {ttl!r}")
    price = price_for(model)
    provider = provider or price.provider
    if provider != price.provider:
        price = _as_provider(price, provider)
    report = SimReport(model, provider, ttl, price)
    tokens = _Tokens(model)
    life = TTL_SECONDS[ttl]
    anthropic_entries: dict[str, float] = {}  # prefix hash -> expiry
    openai_entries: list[tuple[list[Segment], float]] = []  # (segments, expiry)
    prev: list[Segment] | None = None
    for n, body in enumerate(requests):
        now = float(times[n]) if times is not None else 30.0 * n
        segs = segments(body, fmt)
        sizes = [len(tokens(s)) for s in segs]
        cum = list(itertools.accumulate(sizes))
        total = cum[-1] if cum else 0
        if provider == "anthropic":
            read, write = _anthropic_turn(segs, cum, price, anthropic_entries, now, life)
        else:
            read, write = _openai_turn(segs, tokens, total, price, openai_entries, now, life)
        out = int(outputs[n]) if outputs is not None else 0
        uncached = total - read - write
        dollars = (uncached * price.input + read * price.cache_read + write * price.write_price(ttl)
                   + out * price.output) / 1e6
        report.turns.append(TurnCost(n + 1, total, read, write, uncached, out, dollars, _broke_at(prev, segs)))
        prev = segs
    return report


def _as_provider(price: Price, provider: str) -> Price:
    """A model priced for one provider, simulated under the other's cache rules (what-if)."""
    if provider == "anthropic":
        return Price("anthropic", price.input, price.output, price.input * 0.1, price.input * 1.25, price.input * 2)
    if provider == "openai":
        return Price("openai", price.input, price.output, price.input * 0.5, price.input, price.input)
    raise ValueError(f"provider must be 'anthropic' or 'openai', got {provider!r}")


def _anthropic_turn(segs: list[Segment], cum: list[int], price: Price, entries: dict[str, float], now: float,
                    life: float) -> tuple[int, int]:
    hashes = _prefix_hashes(segs)
    for h in [h for h, exp in entries.items() if exp < now]:
        del entries[h]
    marks = {i for i, s in enumerate(segs) if s.breakpoint}
    last = max((i for i, s in enumerate(segs) if not s.note), default=-1)
    if last >= 0:
        marks.add(last)
    read = 0
    for b in sorted(marks):
        for j in range(b, max(-1, b - LOOKBACK), -1):
            if hashes[j] in entries:
                read = max(read, cum[j])
                entries[hashes[j]] = now + life
                break
    written = read
    for b in sorted(marks):
        if cum[b] >= price.min_cache_tokens:
            entries[hashes[b]] = now + life
            written = max(written, cum[b])
    return read, written - read


def _openai_turn(segs: list[Segment], tokens: _Tokens, total: int, price: Price,
                 entries: list[tuple[list[Segment], float]], now: float, life: float) -> tuple[int, int]:
    entries[:] = [(s, exp) for s, exp in entries if exp >= now]
    best, best_i = 0, -1
    for i, (old, _) in enumerate(entries):
        common = _common_tokens(old, segs, tokens)
        if common > best:
            best, best_i = common, i
    read = 0
    if best >= price.min_cache_tokens:
        read = price.min_cache_tokens + (best - price.min_cache_tokens) // OPENAI_STEP * OPENAI_STEP
        entries[best_i] = (entries[best_i][0], now + life)
    if total >= price.min_cache_tokens:
        entries.append((segs, now + life))
    return min(read, total), 0


def _common_tokens(a: list[Segment], b: list[Segment], tokens: _Tokens) -> int:
    n = 0
    for x, y in zip(a, b):
        if x.key == y.key:
            n += len(tokens(x))
            continue
        tx, ty = tokens(x), tokens(y)
        k = 0
        while k < min(len(tx), len(ty)) and tx[k] == ty[k]:
            k += 1
        return n + k
    return n
