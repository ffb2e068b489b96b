"""One set of defaults for every entry point (library, CLI, middleware, callbacks, proxy)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

Format = Literal["auto", "openai", "anthropic", "responses", "bedrock"]
CacheAlign = Literal["off", "report", "on"]


@dataclass(frozen=True)
class Config:
    """Options for :func:`headroom.compress`. Frozen: derive variants with :meth:`with_`."""

    #: Provider format of ``messages``; ``"auto"`` detects it from the message shapes.
    format: Format = "auto"
    #: Units smaller than this many tokens are left alone (compression would not pay).
    min_unit_tokens: int = 300
    #: Also compress large pasted text in user messages (off: user words are the question).
    compress_user_messages: bool = False
    #: With ``compress_user_messages``, user text below this many tokens is left alone.
    min_user_message_tokens: int = 1000
    #: Tool names (``fnmatch`` globs) whose outputs are never compressed.
    exclude_tools: tuple[str, ...] = ()
    #: Only lossless transforms (minify, tables, folding); nothing is dropped, no refs.
    lossless_only: bool = False
    #: Scales how much lossy compressors keep: 2.0 keeps about twice as much, 0.5 half.
    keep_scale: float = 1.0
    #: Store originals of dropped content and put retrieval refs in markers.
    ccr: bool = True
    #: Per-compressor options by kind, e.g. ``{"json": {"max_rows": 40}}``.
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Prompt-cache alignment of the system prompt and tools: ``"report"`` lists what would
    #: break the provider's cache in ``result.cache``; ``"on"`` also fixes it; ``"off"``.
    cache_align: CacheAlign = "report"
    #: Most input tokens the request may have; ``None``: the model's context window minus
    #: its output reserve (unknown models: no limit); ``"off"``: never enforce. Enforced
    #: only when exceeded, by shrinking then dropping older tool outputs.
    token_budget: int | Literal["off"] | None = None
    #: Tokens kept free for the answer under the default budget (``None``: the model table's).
    output_reserve: int | None = None
    #: After a tool output cut hard, add a line restating the question it was fetched for.
    query_echo: bool = False
    #: Share of a tool output's tokens a lossy cut must remove before the echo line is added.
    query_echo_min_saved: float = 0.5
    #: Downscale base64 images the provider would pay too many tokens for, text kept legible
    #: (needs Pillow, the ``[image]`` extra; without it images pass untouched).
    images: bool = True

    def with_(self, **changes: Any) -> Config:
        return replace(self, **changes)

    def option(self, kind: str, name: str, default: Any) -> Any:
        return self.options.get(kind, {}).get(name, default)

    def __hash__(self) -> int:  # options is a dict; hash what identifies the config
        return hash((self.format, self.min_unit_tokens, self.lossless_only, self.keep_scale, self.cache_align,
                     self.token_budget, self.query_echo, self.images))


DEFAULT_CONFIG = Config()
