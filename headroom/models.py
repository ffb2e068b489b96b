"""Model table: context windows and output reserves, for the default token budget.

The default budget of :func:`headroom.compress` is ``context_window - output_reserve``:
the input that still leaves room for the answer. Unknown models get no default budget
(nothing is enforced). Add or correct models with :func:`register_model`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ModelInfo", "default_budget", "lookup", "model_info", "register_model"]

#: An output reserve never larger than this by default: most requests ask for far less
#: than a model's maximum output, and reserving it all would drop content needlessly.
RESERVE_CAP = 32_000


@dataclass(frozen=True)
class ModelInfo:
    """``context_window`` = input + output tokens the model accepts; ``output_reserve`` =
    tokens kept free for the answer when fitting a budget."""

    context_window: int
    max_output: int
    output_reserve: int

    @property
    def input_budget(self) -> int:
        return self.context_window - self.output_reserve


def _info(window: int, max_output: int, reserve: int | None = None) -> ModelInfo:
    return ModelInfo(window, max_output, min(max_output, RESERVE_CAP) if reserve is None else reserve)


# Longest matching prefix wins; a model name is lowercased and stripped of a provider
# path ("openai/gpt-4o", "anthropic.claude-..."), and of Bedrock/Vertex decorations.
_TABLE: dict[str, ModelInfo] = {
    # OpenAI
    "gpt-3.5-turbo": _info(16_385, 4_096),
    "gpt-4": _info(8_192, 8_192, 2_048),
    "gpt-4-32k": _info(32_768, 8_192, 4_096),
    "gpt-4-turbo": _info(128_000, 4_096),
    "gpt-4o": _info(128_000, 16_384),
    "gpt-4o-mini": _info(128_000, 16_384),
    "chatgpt-4o": _info(128_000, 16_384),
    "gpt-4.1": _info(1_047_576, 32_768),
    "gpt-4.5": _info(128_000, 16_384),
    "gpt-5": _info(400_000, 128_000, 128_000),  # the API caps input at 272k
    "o1": _info(200_000, 100_000),
    "o1-mini": _info(128_000, 65_536),
    "o3": _info(200_000, 100_000),
    "o3-mini": _info(200_000, 100_000),
    "o4-mini": _info(200_000, 100_000),
    # Anthropic (200k standard window; the 1M beta window is opt-in per request)
    "claude-3-haiku": _info(200_000, 4_096),
    "claude-3-opus": _info(200_000, 4_096),
    "claude-3-5-haiku": _info(200_000, 8_192),
    "claude-3-5-sonnet": _info(200_000, 8_192),
    "claude-3-7-sonnet": _info(200_000, 64_000),
    "claude-sonnet-4": _info(200_000, 64_000),
    "claude-opus-4": _info(200_000, 32_000),
    "claude-opus-4-5": _info(200_000, 64_000),
    "claude-opus-4-6": _info(200_000, 128_000),
    "claude-haiku-4": _info(200_000, 64_000),
    # Google
    "gemini-1.5-pro": _info(2_097_152, 8_192),
    "gemini-1.5-flash": _info(1_048_576, 8_192),
    "gemini-2.0-flash": _info(1_048_576, 8_192),
    "gemini-2.5": _info(1_048_576, 65_536),
}
_LOCK = threading.Lock()


def normalise(model: str) -> str:
    """``openai/gpt-4o`` → ``gpt-4o``; ``anthropic.claude-sonnet-4-5-v1:0`` → ``claude-sonnet-4-5-v1:0``."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    for vendor in ("anthropic.", "us.anthropic.", "eu.anthropic.", "apac.anthropic."):
        if name.startswith(vendor):
            name = name[len(vendor):]
    return name


def lookup(table: Mapping[str, object], model: str | None) -> str | None:
    """The key of ``table`` that is the longest prefix of the normalised ``model``."""
    if not model:
        return None
    name = normalise(model)
    best: str | None = None
    for key in list(table):
        if name.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return best


def model_info(model: str | None) -> ModelInfo | None:
    key = lookup(_TABLE, model)
    return None if key is None else _TABLE[key]


def register_model(prefix: str, context_window: int, max_output: int, output_reserve: int | None = None) -> None:
    """Add or replace a model (every name starting with ``prefix``, case-insensitive)."""
    if context_window <= 0 or max_output <= 0:
        raise ValueError("context_window and max_output must be positive")
    with _LOCK:
        _TABLE[normalise(prefix)] = _info(context_window, max_output, output_reserve)


def default_budget(model: str | None, output_reserve: int | None = None) -> int | None:
    """``context_window - output_reserve`` for a known model, else ``None`` (no budget)."""
    info = model_info(model)
    if info is None:
        return None
    reserve = info.output_reserve if output_reserve is None else output_reserve
    return max(0, info.context_window - reserve)
