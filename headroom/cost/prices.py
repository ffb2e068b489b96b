"""Per-model prices (USD per million tokens) and prompt-cache rules, extendable.

Source: the providers' published pricing pages — Anthropic's model pricing table
(platform.claude.com/docs/en/docs/about-claude/pricing, the edition listing Claude Opus
4.6 and Sonnet 4.6) and OpenAI's API pricing page for the models below — recorded on
2026-11-24. Prices change: check them before relying on a figure, and add or correct
models with :func:`register_price`. Long-context surcharges (e.g. Sonnet above 200k input
tokens), batch discounts and regional endpoints are not modelled.

Cache rules: Anthropic writes cost 1.25× input for the 5-minute TTL and 2× for 1 hour,
reads 0.1×; a prefix shorter than the model's minimum (1,024 to 4,096 tokens) is never
cached. OpenAI caches automatically from 1,024 tokens in 128-token steps, charges nothing
extra to write and bills reads at the model's cached-input price.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from headroom.models import lookup, normalise

__all__ = ["PRICES_SOURCE", "Price", "price_for", "provider_for", "register_price"]

Provider = Literal["anthropic", "openai"]
PRICES_SOURCE = "provider pricing pages, recorded 2026-11-24 (see headroom/cost/prices.py)"


@dataclass(frozen=True)
class Price:
    """USD per million tokens; ``min_cache_tokens``: the shortest prefix the provider caches."""

    provider: Provider
    input: float
    output: float
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float
    min_cache_tokens: int = 1024

    def write_price(self, ttl: str) -> float:
        return self.cache_write_1h if ttl == "1h" else self.cache_write_5m


def _anthropic(inp: float, out: float, min_cache: int = 1024) -> Price:
    return Price("anthropic", inp, out, round(inp * 0.1, 6), round(inp * 1.25, 6), round(inp * 2, 6), min_cache)


def _openai(inp: float, cached: float, out: float) -> Price:
    return Price("openai", inp, out, cached, inp, inp, 1024)


_TABLE: dict[str, Price] = {
    # Anthropic: input, output (cache prices follow the 1.25× / 2× / 0.1× rule)
    "claude-opus-4-6": _anthropic(5, 25, 4096),
    "claude-opus-4-5": _anthropic(5, 25, 4096),
    "claude-opus-4-1": _anthropic(15, 75),
    "claude-opus-4": _anthropic(15, 75),
    "claude-sonnet-4-6": _anthropic(3, 15),
    "claude-sonnet-4-5": _anthropic(3, 15),
    "claude-sonnet-4": _anthropic(3, 15),
    "claude-3-7-sonnet": _anthropic(3, 15),
    "claude-haiku-4-5": _anthropic(1, 5, 4096),
    "claude-3-5-haiku": _anthropic(0.8, 4, 2048),
    "claude-3-opus": _anthropic(15, 75),
    "claude-3-haiku": Price("anthropic", 0.25, 1.25, 0.03, 0.30, 0.50, 2048),
    # OpenAI: input, cached input, output
    "gpt-4o": _openai(2.50, 1.25, 10.00),
    "gpt-4o-mini": _openai(0.15, 0.075, 0.60),
    "gpt-4.1": _openai(2.00, 0.50, 8.00),
    "gpt-4.1-mini": _openai(0.40, 0.10, 1.60),
    "gpt-4.1-nano": _openai(0.10, 0.025, 0.40),
    "gpt-5": _openai(1.25, 0.125, 10.00),
    "gpt-5-mini": _openai(0.25, 0.025, 2.00),
    "gpt-5-nano": _openai(0.05, 0.005, 0.40),
    "o3": _openai(2.00, 0.50, 8.00),
    "o4-mini": _openai(1.10, 0.275, 4.40),
}
_LOCK = threading.Lock()


def price_for(model: str, provider: str | None = None) -> Price:
    """The price of ``model`` (longest matching prefix). Raises ``KeyError`` naming the fix."""
    key = lookup(_TABLE, model)
    if key is None:
        raise KeyError(f"no price for model {model!r}; add it with headroom.cost.register_price() "
                       f"(known: {', '.join(sorted(_TABLE))})")
    price = _TABLE[key]
    if provider is not None and provider != price.provider:
        raise KeyError(f"model {model!r} is priced for {price.provider}, not {provider}")
    return price


def provider_for(model: str) -> Provider | None:
    key = lookup(_TABLE, model)
    return None if key is None else _TABLE[key].provider


def register_price(prefix: str, provider: Provider, input: float, output: float, *, cache_read: float | None = None,
                   cache_write_5m: float | None = None, cache_write_1h: float | None = None,
                   min_cache_tokens: int = 1024) -> Price:
    """Add or replace a model's price (USD per million tokens). Cache prices default to the
    provider's rule: Anthropic 0.1× / 1.25× / 2× input; OpenAI reads 0.5× (set yours) and
    writes at the input price."""
    if provider not in ("anthropic", "openai"):
        raise ValueError(f"provider must be 'anthropic' or 'openai', got {provider!r}")
    base = _anthropic(input, output, min_cache_tokens) if provider == "anthropic" else _openai(
        input, input * 0.5, output)
    price = Price(provider, input, output, base.cache_read if cache_read is None else cache_read,
                  base.cache_write_5m if cache_write_5m is None else cache_write_5m,
                  base.cache_write_1h if cache_write_1h is None else cache_write_1h, min_cache_tokens)
    with _LOCK:
        _TABLE[normalise(prefix)] = price
    return price
