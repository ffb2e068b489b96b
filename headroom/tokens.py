"""Offline token counting.

OpenAI models get their exact tiktoken encoding. Other families (Claude, Gemini, Llama,
Mistral, ...) have no public offline tokenizer, so they are *estimated* with o200k_base,
which lands within a few percent of their real counts on English text and code.

The BPE files ship inside the package (``headroom/_bpe``), so counting never touches the
network: tiktoken's own loader would download them on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

import tiktoken

__all__ = ["count_text", "count_tokens", "encoding_for_model", "encoding_name_for_model", "token_counter"]

_BPE_DIR = Path(__file__).parent / "_bpe"
_LOCK = threading.Lock()

# Prefixes of OpenAI models that still use cl100k_base; everything else OpenAI (gpt-4o,
# gpt-4.1, gpt-5, o-series) and every non-OpenAI family uses o200k_base.
_CL100K_PREFIXES = ("gpt-4-", "gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada")
_O200K_OPENAI_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")


#: Bytes in the longest token of either bundled encoding: a text of ``n`` bytes has at
#: least ``n / MAX_TOKEN_BYTES`` tokens.
MAX_TOKEN_BYTES = 128


def encoding_name_for_model(model: str | None) -> str:
    """The encoding used to count ``model``'s tokens (exact for OpenAI, estimate otherwise)."""
    name = (model or "").lower().rsplit("/", 1)[-1]
    if name.startswith(_O200K_OPENAI_PREFIXES):
        return "o200k_base"
    if name.startswith(_CL100K_PREFIXES):
        return "cl100k_base"
    return "o200k_base"


def _load_ranks(path: Path) -> dict[bytes, int]:
    from binascii import a2b_base64

    fields = path.read_bytes().split()  # "token rank" per line: tokens and ranks alternate
    return dict(zip(map(a2b_base64, fields[::2]), map(int, fields[1::2])))


@cache
def _encoding(name: str) -> tiktoken.Encoding:
    """Build ``name`` from the bundled BPE file, with tiktoken's own regex and specials."""
    import tiktoken_ext.openai_public as public

    ranks = _load_ranks(_BPE_DIR / f"{name}.tiktoken")
    with _LOCK:  # the constructor calls its module-level loader: point it at our file
        original = public.load_tiktoken_bpe
        public.load_tiktoken_bpe = lambda *_a, **_k: ranks
        try:
            params = public.ENCODING_CONSTRUCTORS[name]()
        finally:
            public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**params)


def encoding_for_model(model: str | None) -> tiktoken.Encoding:
    return _encoding(encoding_name_for_model(model))


def token_counter(model: str | None) -> Callable[[str], int]:
    """``len(encode_ordinary(text))`` for ``model``'s encoding, without building the list.

    tiktoken's buffer encoder returns the tokens as one packed array: no Python int per
    token, and less time holding the GIL after the (GIL-free) encoding, which matters
    when a worker thread is compressing beside the count. Falls back to ``encode_ordinary``
    where a tiktoken version lacks it or it answers differently."""
    return _counter(encoding_name_for_model(model))


@cache
def _counter(name: str) -> Callable[[str], int]:
    enc = _encoding(name)
    packed = getattr(getattr(enc, "_core_bpe", None), "encode_to_tiktoken_buffer", None)
    no_specials: set[str] = set()  # special-token strings are counted as ordinary text
    probe = "headroom <|endoftext|> probe"
    try:  # a private name: make sure it still means what it meant
        usable = packed is not None and memoryview(packed(probe, no_specials)).nbytes // 4 == len(
            enc.encode_ordinary(probe))
    except Exception:
        usable = False
    if packed is None or not usable:
        return lambda text: len(enc.encode_ordinary(text))

    def count(text: str) -> int:
        try:
            return memoryview(packed(text, no_specials)).nbytes // 4
        except UnicodeEncodeError:  # lone surrogates: as encode_ordinary does
            return len(enc.encode_ordinary(text))

    return count


def count_text(text: str, model: str | None = None) -> int:
    """Tokens in ``text``; special-token strings count as ordinary text."""
    if not text:
        return 0
    return token_counter(model)(text)


def count_tokens(value: str | Iterable[Any], model: str | None = None) -> int:
    """Tokens in a string, or in all the text a model sees in a list of messages.

    For messages this counts what ``compress`` counts: message contents, text blocks, tool
    results, tool-call names and arguments, thinking text, and base64 images at the
    provider's price after its own resize (:mod:`headroom.compressors.image.tokens`; the
    model's family picks the arithmetic). URL images, whose size is unknown without
    fetching them, and role and framing overhead are not included.
    """
    if isinstance(value, str):
        return count_text(value, model)
    from headroom.formats import module_for
    from headroom.images import image_tokens_in

    messages = list(value)
    module = module_for("auto", messages)
    count = token_counter(model)
    texts = sum(count(t) for m in messages if isinstance(m, dict) for t in module.visible_texts(m) if t)
    return texts + image_tokens_in(module, messages, model)
