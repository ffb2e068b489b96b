"""Token-budget fitting (IntelligentContext): make an over-long request fit, or say why not.

Only runs when the compressed request is still over budget (by default the model's context
window minus an output reserve), so it never touches a request that fits: that keeps
ordinary requests prefix-stable. When it runs, it is deterministic but *not*
prefix-stable — what it removes depends on the newest question — which is the price of
a request that would otherwise be rejected.

Older tool outputs are taken least relevant to the current question and oldest first;
each is cut harder (its compressor at a quarter of the usual ``keep_scale``) and, if the
request still does not fit, dropped whole before the next one is touched. A dropped
output is replaced by a marker whose ref retrieves the original; the tool call and its
result message both stay, so no pair is ever split. The system prompt, tool definitions,
the last user turn and everything after it are never touched.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import count, omit
from headroom.formats.base import Unit, get_path, set_path

if TYPE_CHECKING:
    from headroom.ccr.store import Store
    from headroom.config import Config
    from headroom.result import UnitRecord

__all__ = ["BudgetError", "BudgetReport", "fit_budget", "last_user_turn", "resolve_budget"]

#: Outputs smaller than this are not worth a marker (one costs about 30 tokens).
MIN_DROP_TOKENS = 60
#: How much the shrink pass keeps, relative to the normal ``keep_scale``.
SHRINK_SCALE = 0.25
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{2,}")
_STOP = frozenset("the and for are was were with what which where when why how did does this that from have has not "
                  "you your our can could would should there their them into about any all but get got its it's "
                  "please tell show find give".split())


class BudgetError(ValueError):
    """The request cannot fit the token budget without touching what must not be dropped."""


@dataclass(frozen=True)
class BudgetReport:
    """``result.budget`` when fitting ran: the budget, the request's tokens before and after
    fitting (messages + system + tools), and the message indexes shrunk and dropped."""

    budget: int
    tokens_before: int
    tokens_after: int
    shrunk: tuple[int, ...] = ()
    dropped: tuple[int, ...] = ()


def resolve_budget(cfg: Config, model: str | None) -> int | None:
    """The budget to enforce: ``cfg.token_budget``, or the model's default, or ``None``."""
    if cfg.token_budget == "off":
        return None
    if cfg.token_budget is not None:
        if isinstance(cfg.token_budget, bool) or not isinstance(cfg.token_budget, int) or cfg.token_budget < 0:
            raise ValueError(f"token_budget must be a non-negative int, None or 'off', got {cfg.token_budget!r}")
        return cfg.token_budget
    from headroom.models import default_budget

    return default_budget(model, cfg.output_reserve)


def last_user_turn(messages: list[Any], fmt: str) -> int:
    """Index of the last genuine user turn (not an Anthropic tool-result message); ``len``
    when there is none."""
    for i in range(len(messages) - 1, -1, -1):
        msg = messages[i]
        if not isinstance(msg, dict) or msg.get("role") != "user":
            continue
        if fmt == "responses" and msg.get("type", "message") != "message":
            continue
        content = msg.get("content")
        if fmt == "anthropic" and isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
            continue
        return i
    return len(messages)


def _terms(text: str) -> set[str]:
    return {w.lower().strip(".-") for w in _WORD_RE.findall(text[:200_000])} - _STOP


@dataclass
class _Candidate:
    unit: Unit
    original: str
    tokens: int
    order: int


def fit_budget(original: list[Any], out: list[Any], module: ModuleType, records: list[UnitRecord], *,
               budget: int, total: int, overhead: int, cfg: Config, store: Store | None,
               count_tokens: Callable[[str], int]) -> tuple[list[Any], list[UnitRecord], BudgetReport]:
    """Shrink, then drop, older tool outputs until ``total`` fits ``budget``.

    ``total`` is the request's current tokens (messages + ``overhead``: system prompt,
    tool definitions, anything else sent). Raises :class:`BudgetError` when even dropping
    every older tool output does not fit.
    """
    from headroom.pipeline import _store_omissions, run_compressor
    from headroom.result import UnitRecord
    from headroom.router import detect

    fmt: str = module.NAME
    start_total = total
    protected = last_user_turn(out, fmt)
    question = " ".join(module.visible_texts(out[protected])) if protected < len(out) else ""
    q_terms = _terms(question)
    cands: list[_Candidate] = []
    for unit in module.units(out, user_text=False):
        if unit.source != "tool" or unit.index >= protected:
            continue
        tokens = count_tokens(unit.text)
        if tokens >= MIN_DROP_TOKENS:
            cands.append(_Candidate(unit, get_path(original[unit.index], unit.path), tokens, len(cands)))
    last = max(len(cands) - 1, 1)

    def score(c: _Candidate) -> float:
        relevance = len(q_terms & _terms(c.original)) / len(q_terms) if q_terms else 0.0
        return 0.7 * relevance + 0.3 * (c.order / last)

    cands.sort(key=lambda c: (round(score(c), 6), c.order))
    by_key = {(r.index, r.path): i for i, r in enumerate(records)}
    records = list(records)
    shrunk: list[int] = []
    dropped: list[int] = []

    def apply(c: _Candidate, text: str, kind: str, strategy: str, refs: tuple[str, ...], started: float) -> None:
        nonlocal total
        new_tokens = count_tokens(text)
        total += new_tokens - c.tokens
        c.tokens = new_tokens
        out[c.unit.index] = set_path(out[c.unit.index], c.unit.path, text)
        ms = (time.perf_counter() - started) * 1000
        pos = by_key.get((c.unit.index, c.unit.path))
        if pos is None:
            rec = UnitRecord(c.unit.index, c.unit.path, "tool", c.unit.tool_name, kind, strategy,
                             count_tokens(c.original), new_tokens, ms, refs)
            by_key[(c.unit.index, c.unit.path)] = len(records)
            records.append(rec)
        else:
            old = records[pos]
            records[pos] = replace(old, kind=kind if old.kind == "-" else old.kind, strategy=strategy,
                                   tokens_after=new_tokens, ms=old.ms + ms, refs=refs, error=None)

    def shrink(c: _Candidate) -> None:
        started = time.perf_counter()
        try:
            detection = detect(c.original)
            comp = run_compressor(detection, c.original, c.unit.question,
                                  cfg.with_(keep_scale=cfg.keep_scale * SHRINK_SCALE))
            if count_tokens(comp.text) >= c.tokens:
                return
            text, refs = _store_omissions(comp, store)
        except Exception:  # a shrink that fails is skipped; dropping still works
            return
        apply(c, text, detection.label, f"budget-shrink:{comp.strategy}", refs, started)
        shrunk.append(c.unit.index)

    def drop(c: _Candidate) -> None:
        from headroom.compressors.base import Compressed

        started = time.perf_counter()
        lines = c.original.count("\n") + 1
        summary = (f"{c.unit.tool_name or 'tool'} output omitted to fit the token budget: "
                   f"{count(count_tokens(c.original))} tokens, {count(lines)} lines")
        text, omissions = omit(summary, c.original, "text", cfg)
        if count_tokens(text) >= c.tokens:
            return
        text, refs = _store_omissions(Compressed(text, "budget-drop", omissions), store)
        apply(c, text, "-", "budget-drop", refs, started)
        dropped.append(c.unit.index)

    for c in cands if not cfg.lossless_only else ():
        if total <= budget:
            break
        shrink(c)  # a harder cut may be enough for the last output needed...
        if total > budget:
            drop(c)  # ...otherwise the whole output goes, before the next one is touched
    if total > budget:
        tail = sum(count_tokens(t) for msg in out[protected:] for t in module.visible_texts(msg))
        why = ("lossless_only is set, so no tool output may be shrunk or dropped; "
               if cfg.lossless_only else "after shrinking and dropping every older tool output, ")
        raise BudgetError(
            f"headroom: the request needs {count(total)} tokens but the token budget is {count(budget)}: {why}"
            f"what is left cannot be dropped: system prompt and tool definitions {count(overhead)} tokens, "
            f"the last user turn and what follows it {count(tail)}, other earlier messages (assistant turns, "
            f"tool calls, user turns, markers) {count(total - overhead - tail)}")
    return out, records, BudgetReport(budget, start_total, total, tuple(sorted(set(shrunk))),
                                      tuple(sorted(set(dropped))))
