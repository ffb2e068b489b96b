"""Optional LLMLingua-2 backend for prose (``pip install 'headroom[ml]'``), selected only by
config (``options={"text": {"backend": "llmlingua", "model": ...}}``), never by default.

* **Identifiers never break.** LLMLingua rebuilds its output from model tokens, which turns
  ``config_path`` into ``config _ path``. Here the model only *labels* words; the output is
  rebuilt from the paragraph's own whitespace-separated tokens, kept verbatim or dropped
  whole. Tokens with digits, ``_``, ``.``, ``/``, ``::``, capitals inside (camelCase,
  acronyms), flags, quoted strings and the question's words are always kept.
* **Nothing is lost silently.** Each condensed paragraph ends with one marker whose ref
  returns the whole original paragraph. Headings, code, tables and short pieces stay verbatim.
* **Deterministic.** The checkpoint is used as it is (no random extra embedding rows, no
  reseeding: see :func:`_load`), in eval mode under ``torch.no_grad``, on CPU by default;
  torch's global RNG is forked around it, so callers' random sequences never shift. The
  first result for an input is memoised: a later turn repeats its bytes even if it would
  have missed the deadline.
* **Never slower than the deadline, never a silent 0%.** The model runs in one worker
  thread; a call waits ``deadline_s`` and otherwise returns the extractive result. A
  model that cannot load (llmlingua missing, bad path, not in the Hugging Face cache,
  wrong name) is reported once on the ``headroom`` logger, with the fix, and the
  extractive backend is used. Models load from a local path or the Hugging Face cache
  only (``local_files_only``): nothing is ever downloaded. torch, transformers and
  llmlingua are imported by the worker, on first use (``import headroom`` stays light).

Options (``config.options["text"]``, or ``["markdown"]`` falling back to ``"text"``):
``model`` (required), ``rate`` (0.5: share of a paragraph's tokens the model keeps;
times ``keep_scale``), ``deadline_s`` (5.0), ``device`` (``"cpu"``), ``min_omit_chars``
(160: a paragraph is condensed only when that saves at least this many characters).
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.util
import logging
import re
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from itertools import accumulate
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import count, omit
from headroom.compressors.base import Compressed, Omission
from headroom.compressors.lossless import fold_lines
from headroom.compressors.query import Query
from headroom.compressors.text.blocks import ITEM, PARA, parse_blocks

if TYPE_CHECKING:
    from headroom.config import Config

__all__ = ["MODEL_NAMES", "compress"]

log = logging.getLogger("headroom")

#: llmlingua picks its word splitting by these substrings of the model's path or name.
MODEL_NAMES = ("bert-base-multilingual-cased", "xlm-roberta-large")
#: Paragraphs with fewer words are left whole (too short to pay for a marker).
MIN_WORDS = 12
#: Multi-line paragraphs whose lines average fewer characters are listings, left whole.
WRAPPED_LINE = 40
#: Results remembered per process (keyed by input and config) so repeats give the same bytes:
#: at most this many, holding at most this many characters (output plus originals).
MEMO_SIZE, MEMO_CHARS = 256, 32_000_000

_SEP_WORD, _SEP_LABEL = "\x1e", "\x1f"  # never inside a model word (tokenizers split on whitespace)
_TOKEN = re.compile(r"\S+")
_EDGE = "\"'`“”‘’()[]{}<>.,;:!?*"
_IDENT = re.compile(r"\d|_|/|\\|::|->|\w\.\w|[a-z][A-Z]|[A-Z].*[A-Z]|[@#$%&=+|~^]|^--?[A-Za-z]")
_QUOTED = re.compile(r"`[^`\n]+`|\"[^\"\n]{1,160}\"|“[^”\n]{1,160}”|(?<!\w)'[^'\n]{1,160}'(?!\w)")
_WORD = re.compile(r"\w+")

_LOCK = threading.Lock()
_MODELS: dict[tuple[str, str], Any] = {}  # (model ref, device) -> loaded llmlingua PromptCompressor
_FAILED: dict[tuple[str, str], str] = {}  # (model ref, device) -> why it cannot load
_WARNED: set[str] = set()
_MEMO: OrderedDict[str, Compressed] = OrderedDict()
_EXECUTOR: list[ThreadPoolExecutor] = []


class _LoadError(RuntimeError):
    """The configured model cannot be used (already reported once)."""


def compress(text: str, question: str, config: Config, kind: str = "text") -> Compressed:
    """The ``"llmlingua"`` prose backend: condense paragraphs with the model, or fall back."""
    from headroom.compressors.text.prose import extractive

    if config.lossless_only:
        return Compressed(fold_lines(text), "fold")
    ref, device = str(_option(config, kind, "model", "") or ""), str(_option(config, kind, "device", "cpu"))
    rate = float(_option(config, kind, "rate", 0.5))
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"options[{kind!r}]['rate'] must be in (0, 1], got {rate!r}")
    problem = _problem(ref)
    key = hashlib.sha256(repr((kind, question, text, config)).encode("utf-8", "surrogatepass")).hexdigest()
    with _LOCK:
        problem = problem or _FAILED.get((ref, device))
        hit = _MEMO.get(key)
    if problem:
        _warn_once(problem)
        return extractive(text, question, config, kind)
    if hit is None:
        try:
            hit = _condense(text, question, config, kind, ref, device, min(1.0, rate * config.keep_scale))
        except _LoadError:  # reported once by the loader
            return extractive(text, question, config, kind)
        except FutureTimeout:
            hit = None
        except Exception as exc:  # a model/library failure must not cost the compression
            _warn_once(f"headroom: the llmlingua text backend failed ({type(exc).__name__}: {exc}); the extractive "
                       "backend is used", key=type(exc).__name__)
            return extractive(text, question, config, kind)
        hit = hit or extractive(text, question, config, kind)
        with _LOCK:
            _MEMO[key] = hit
            while len(_MEMO) > 1 and (len(_MEMO) > MEMO_SIZE or sum(map(_size, _MEMO.values())) > MEMO_CHARS):
                _MEMO.popitem(last=False)
    return Compressed(hit.text, hit.strategy, list(hit.omissions))


def _condense(text: str, question: str, config: Config, kind: str, ref: str, device: str,
              rate: float) -> Compressed | None:
    """The model's result; None when it has nothing to condense; FutureTimeout past the deadline."""
    folded = fold_lines(text)
    blocks = parse_blocks(folded, indented_code=kind == "markdown")
    targets = [(b.start, b.end, b.kind == ITEM) for b in blocks
               if b.kind in (PARA, ITEM) and _prose(folded[b.start:b.end])]
    if not targets or rate >= 1.0:
        return None
    joined, offsets = _join(folded, targets)
    words = _run(ref, device, joined, rate, float(_option(config, kind, "deadline_s", 5.0)))
    return _render(folded, targets, offsets, joined, words, question, int(_option(config, kind, "min_omit_chars", 160)),
                   kind, config)


def _option(config: Config, kind: str, name: str, default: Any) -> Any:
    return config.option(kind, name, config.option("text", name, default))


def _warn_once(message: str, key: str | None = None) -> None:
    with _LOCK:
        if (key or message) in _WARNED:
            return
        _WARNED.add(key or message)
    log.warning(message)


def _problem(ref: str) -> str | None:
    """Why ``ref`` cannot be used, with the fix, or None; cheap checks only (no import)."""
    head = "headroom: text backend 'llmlingua' is configured but"
    tail = "; the extractive backend is used instead"
    if not ref:
        return (f"{head} options['text']['model'] is not set: give the local path or cached Hugging Face name of an "
                f"LLMLingua-2 model (e.g. microsoft/llmlingua-2-xlm-roberta-large-meetingbank){tail}")
    if not _ml_installed():
        return f"{head} llmlingua/torch/transformers are not installed: pip install 'headroom[ml]'{tail}"
    if not any(n in ref for n in MODEL_NAMES):
        return (f"{head} model {ref!r} is not an LLMLingua-2 model llmlingua can use: its path or name must contain "
                f"{' or '.join(map(repr, MODEL_NAMES))} (llmlingua picks its word splitting by name); rename the "
                f"directory{tail}")
    if _is_path(ref) and not Path(ref).expanduser().is_dir():
        return (f"{head} there is no model directory at {ref!r}: give the path of a downloaded LLMLingua-2 model, "
                f"or the name of one in the Hugging Face cache{tail}")
    return None


@cache
def _ml_installed() -> bool:
    return all(importlib.util.find_spec(m) for m in ("llmlingua", "torch", "transformers"))


def _size(result: Compressed) -> int:
    return len(result.text) + sum(len(o.original) for o in result.omissions)


def _prose(para: str) -> bool:
    """Worth condensing: enough words, and running text (one line, or wrapped lines), not a
    listing of short lines whose line structure carries meaning."""
    lines = para.count("\n") + 1
    return len(para.split()) >= MIN_WORDS and (lines == 1 or len(para) / lines >= WRAPPED_LINE)


def _is_path(ref: str) -> bool:
    """A path rather than a Hugging Face ``owner/name`` (an existing directory always is)."""
    return ref.startswith(("/", ".", "~", "\\")) or ref.count("/") != 1 or Path(ref).is_dir()


def _executor() -> ThreadPoolExecutor:
    with _LOCK:
        if not _EXECUTOR:  # one worker: model calls are serialised (tokenizers are not thread-safe)
            _EXECUTOR.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="headroom-lingua"))
        return _EXECUTOR[0]


def _run(ref: str, device: str, joined: str, rate: float, deadline: float) -> list[tuple[str, int]]:
    """The model's (word, keep) labels for ``joined``, within ``deadline`` seconds or FutureTimeout."""
    if deadline <= 0:
        raise FutureTimeout()
    try:
        future: Future[list[tuple[str, int]]] = _executor().submit(_label, ref, joined, rate, device)
    except RuntimeError as exc:  # interpreter shutting down
        raise FutureTimeout() from exc
    try:
        return future.result(timeout=deadline)
    except FutureTimeout:
        future.cancel()  # not started yet: never run it; running: it finishes, result unused
        with _LOCK:
            loaded = (ref, device) in _MODELS
        if loaded:
            _warn_once(f"headroom: the llmlingua text backend missed its deadline ({deadline:g}s); the extractive "
                       "result was sent. Raise options['text']['deadline_s'] or use a smaller model")
        else:
            log.debug("headroom: llmlingua model %r still loading; extractive result sent", ref)
        raise


def _label(ref: str, joined: str, rate: float, device: str) -> list[tuple[str, int]]:
    """Worker thread: run LLMLingua-2 over ``joined`` and return its per-word labels.

    Loading (weight init) and llmlingua's DataLoader draw from torch's global RNG; the
    caller's sequence is forked around both, so using the backend never shifts it."""
    import torch

    with torch.random.fork_rng(devices=[]):
        model = _model(ref, device)
        res = model.compress_prompt_llmlingua2([joined], rate=rate, force_tokens=[], force_reserve_digit=True,
                                               return_word_label=True, word_sep=_SEP_WORD, label_sep=_SEP_LABEL)
    out: list[tuple[str, int]] = []
    for item in str(res["fn_labeled_original_prompt"]).split(_SEP_WORD):
        word, _, label = item.rpartition(_SEP_LABEL)
        if word:
            out.append((word, int(label)))
    return out


def _model(ref: str, device: str) -> Any:
    """The loaded model for ``ref`` (cached per process); a failure is reported once and remembered."""
    key = (ref, device)
    if key in _MODELS:
        return _MODELS[key]
    try:
        model = _load(ref, device)
    except Exception as exc:
        msg = (f"headroom: text backend 'llmlingua' could not load model {ref!r} ({type(exc).__name__}: {exc}); "
               "check the path (or that the name is in the Hugging Face cache: headroom never downloads) and that "
               "headroom[ml] is installed; the extractive backend is used instead")
        with _LOCK:
            _FAILED[key] = msg
        _warn_once(msg)
        raise _LoadError(msg) from exc
    with _LOCK:
        _MODELS[key] = model
    return model


def _load(ref: str, device: str) -> Any:
    """A PromptCompressor for ``ref``, set up by hand: its ``__init__`` would download
    tiktoken's cl100k file (ours ships in the package), and ``init_llmlingua2`` reseeds
    Python's, NumPy's and torch's RNGs, sets ``PYTHONHASHSEED`` process-wide and adds 100
    ``[NEWi]`` tokens with random embeddings, used only for ``force_tokens`` (we pass none)."""
    from llmlingua import PromptCompressor

    from headroom.tokens import _encoding

    path = _resolve(ref)
    comp = PromptCompressor.__new__(PromptCompressor)
    comp.model_name = path
    comp.use_llmlingua2 = True
    comp.retrieval_model = comp.retrieval_model_name = None
    comp.open_api_config = {}
    comp.cache_bos_num, comp.prefix_bos_num = 10, 100
    enc = _encoding("cl100k_base")  # encode_ordinary: "<|endoftext|>" in a tool output must not raise
    comp.oai_tokenizer = SimpleNamespace(encode=lambda text, **_: enc.encode_ordinary(text))
    comp.load_model(path, device, {"trust_remote_code": False, "local_files_only": True})
    comp.model.eval()
    comp.max_batch_size, comp.max_seq_len, comp.max_force_token = 50, 512, 0
    comp.special_tokens = {v for v in comp.tokenizer.special_tokens_map.values() if isinstance(v, str)}
    comp.added_tokens = []
    return comp


def _resolve(ref: str) -> str:
    """A local directory for ``ref``: the path itself, or its Hugging Face cache snapshot."""
    if _is_path(ref):
        return str(Path(ref).expanduser())
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(ref, "config.json")
    if not isinstance(hit, str):
        raise FileNotFoundError(f"{ref!r} is not in the Hugging Face cache (download it once with "
                                f"`huggingface-cli download {ref}`, or give a local path)")
    return str(Path(hit).parent)


def _join(folded: str, targets: list[tuple[int, int, bool]]) -> tuple[str, list[int]]:
    """The target paragraphs as one model input (so the model sees full 512-token windows),
    and where each starts in it."""
    offsets = list(accumulate((e - s + 2 for s, e, _ in targets[:-1]), initial=0))
    return "\n\n".join(folded[s:e] for s, e, _ in targets), offsets


def _align(joined: str, spans: list[tuple[int, int]], words: list[tuple[str, int]]) -> list[list[tuple[bool, int]]]:
    """Per whitespace token of ``joined``: the (alphanumeric?, label) of the model words in it.

    Words arrive in text order; one not found near the cursor (``[UNK]``, a normalised
    character) is skipped, which leaves its token unlabelled (and so kept)."""
    out: list[list[tuple[bool, int]]] = [[] for _ in spans]
    starts = [s for s, _ in spans]
    pos = 0
    for word, label in words:
        k = max(0, bisect.bisect_right(starts, pos) - 1)
        limit = spans[min(k + 2, len(spans) - 1)][1]
        at = joined.find(word, pos, limit)
        if at < 0:
            continue
        out[bisect.bisect_right(starts, at) - 1].append((any(c.isalnum() for c in word), label))
        pos = at + len(word)
    return out


def _render(folded: str, targets: list[tuple[int, int, bool]], offsets: list[int], joined: str,
            words: list[tuple[str, int]], question: str, min_omit: int, kind: str,
            config: Config) -> Compressed | None:
    """``folded`` with each condensed paragraph rebuilt from its kept tokens plus a marker
    whose ref returns the paragraph; None when no paragraph was worth condensing."""
    spans = [m.span() for m in _TOKEN.finditer(joined)]  # not empty: targets have MIN_WORDS words
    labels = _align(joined, spans, words)
    starts = [s for s, _ in spans]
    query = Query.parse(question)
    asked = set(query.words)
    phrases = [p for p in (*query.phrases, *query.identifiers) if p]
    out: list[str] = []
    omissions: list[Omission] = []
    cursor = 0
    for (s, e, item), base in zip(targets, offsets):
        lo, hi = bisect.bisect_left(starts, base), bisect.bisect_left(starts, base + e - s)
        para = folded[s:e]
        guarded = _guarded(para, phrases)
        kept, total = [], hi - lo
        for n, t in enumerate(range(lo, hi)):
            ts, te = spans[t][0] - base, spans[t][1] - base
            token = para[ts:te]
            if ((n == 0 and item) or _protected(token, asked) or any(gs < te and ts < ge for gs, ge in guarded)
                    or _model_keeps(labels[t])):
                kept.append(token)
        if len(kept) == total:
            continue
        first, last = spans[lo][0] - base, spans[hi - 1][1] - base
        original = para[first:last]
        summary = f"{count(total - len(kept))} of {count(total)} words omitted from this paragraph"
        short = " ".join(kept)
        if len(original) - len(short) < min_omit:  # as in the extractive backend: too little for a marker
            continue
        mark, om = omit(summary, original, kind, config)
        condensed = f"{short} {mark}" if short else mark
        out.append(folded[cursor:s + first])
        out.append(condensed)
        omissions.extend(om)
        cursor = s + last
    if cursor == 0:
        return None
    out.append(folded[cursor:])
    return Compressed("".join(out), "llmlingua", omissions)


def _model_keeps(labels: list[tuple[bool, int]]) -> bool:
    """A token stays when the model keeps one of its words (its alphanumeric words, when it
    has any: a kept comma does not keep the word before it); unlabelled tokens stay."""
    chosen = [lab for alnum, lab in labels if alnum] or [lab for _, lab in labels]
    return not chosen or any(chosen)


def _protected(token: str, asked: set[str]) -> bool:
    """Identifier-like tokens and the question's words are never dropped."""
    core = token.strip(_EDGE)
    if not core:
        return False
    return bool(_IDENT.search(core)) or any(w.lower() in asked for w in _WORD.findall(core))


def _guarded(para: str, phrases: list[str]) -> list[tuple[int, int]]:
    """Spans that stay whole: quoted strings, and the question's phrases and identifiers."""
    spans = [m.span() for m in _QUOTED.finditer(para)]
    for p in phrases:
        spans.extend((m.start(), m.end()) for m in re.finditer(re.escape(p), para))
    return spans


def _reset() -> None:
    """Forget loaded models, failures, warnings and memoised results (tests)."""
    with _LOCK:
        for state in (_MODELS, _FAILED, _WARNED, _MEMO):
            state.clear()
    _ml_installed.cache_clear()
