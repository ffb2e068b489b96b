"""Token-budget fitting (IntelligentContext): make an over-long request fit, or say why not.

Only runs when the compressed request is still over budget (by default the model's context
window minus an output reserve), so a request that fits is never touched. Candidates are
the tool outputs before the last user turn *and* those of every round of the current turn
but the newest, so a single-question agent loop (one user turn, then dozens of rounds)
fits too. Each is first shrunk (its compressor at a quarter of the usual ``keep_scale``)
and, if the request still does not fit, replaced whole by a marker whose ref retrieves
the original, before the next one is touched. Never touched: the system prompt, tool
definitions, user turns, the newest round (its calls and results), and everything but
a tool output's text, so calls and results stay paired with their ids.

Cache-friendly by construction: fitting replays the conversation's checkpoints
(:mod:`headroom.rounds`: after each user turn and each complete round) oldest first, as
if each had been a request of its own. A checkpoint over budget is cut down to
:data:`LOW_WATER` of the budget, least relevant to its question and oldest first;
the checkpoints after it add their rounds uncut until one is over budget again. So a cut
depends only on the messages up to the checkpoint that made it and on the budget, never
on what came later: in a loop that grows one round per request, a request repeats the
previous one's messages byte for byte until the next cut, an output once dropped keeps
the same marker in every later request, a shrunk one keeps its bytes or is later
dropped, and an output never cut is the plain compression's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import accumulate
from types import ModuleType
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import count, omit
from headroom.compressors.query import Query, inflected_positions
from headroom.formats.base import Unit, get_path, set_path
from headroom.rounds import Kind, checkpoints, last_user_turn, message_kind, round_start

if TYPE_CHECKING:
    from headroom.ccr.store import Store
    from headroom.config import Config
    from headroom.result import UnitRecord

__all__ = ["BudgetError", "BudgetReport", "fit_budget", "last_user_turn", "resolve_budget"]

#: Outputs smaller than this are not worth a marker (one costs about 30 tokens).
MIN_DROP_TOKENS = 60
#: How much the shrink pass keeps, relative to the normal ``keep_scale``.
SHRINK_SCALE = 0.25
#: Once over budget, cut down to this share of it, so the next requests of a growing
#: conversation fit with the same cuts (and the provider's cached prefix) until it is
#: full again, instead of re-cutting a little in every request.
LOW_WATER = 0.75
#: Weight of relevance to the question against age when choosing what to cut first.
RELEVANCE_WEIGHT = 0.7
_SHRUNK, _DROPPED = 1, 2


class BudgetError(ValueError):
    """The request cannot fit the token budget without touching what must not be dropped."""


@dataclass(frozen=True)
class BudgetReport:
    """``result.budget`` when fitting ran: the budget, the request's tokens before and after
    fitting (messages + system + tools), and the indexes of the messages whose tool output
    ends up shrunk and dropped."""

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


@dataclass
class _Candidate:
    unit: Unit
    original: str
    tokens: int
    order: int
    level: int = 0  # 0 as compressed, _SHRUNK, _DROPPED
    tried: bool = False  # a shrink was attempted (it is not run twice)
    relevance: dict[str, float] = field(default_factory=dict)  # by question

    def relevant(self, query: Query) -> float:
        """Share of the question's words (or their inflections) that occur in the original."""
        score = self.relevance.get(query.text)
        if score is None:
            hits = inflected_positions(self.original, query.words)
            score = self.relevance[query.text] = sum(1 for w in query.words if hits.get(w)) / len(query.words)
        return score


def fit_budget(original: list[Any], out: list[Any], module: ModuleType, records: list[UnitRecord], *,
               budget: int, total: int, overhead: int, cfg: Config, store: Store | None,
               count_tokens: Callable[[str], int], images: int = 0) -> tuple[list[Any], list[UnitRecord], BudgetReport]:
    """Shrink, then drop, tool outputs before the newest round until ``total`` fits ``budget``.

    ``total`` is the request's current tokens (messages + ``overhead``: system prompt,
    tool definitions, anything else sent); ``images`` of them are the images' tokens, a
    fixed cost here (the image pass has already decided their size). Raises :class:`BudgetError` when even dropping
    every tool output before the newest round does not fit.
    """
    from headroom.pipeline import _store_omissions, run_compressor
    from headroom.result import UnitRecord
    from headroom.router import detect

    fmt: str = module.NAME
    kinds: list[Kind] = [message_kind(m, fmt) for m in out]
    sizes = [sum(count_tokens(t) for t in module.visible_texts(m)) if isinstance(m, dict) else 0 for m in out]
    prefix = list(accumulate(sizes, initial=0))
    cands: list[_Candidate] = []
    for unit in module.units(out, user_text=False):
        tokens = count_tokens(unit.text) if unit.source == "tool" else 0
        if tokens >= MIN_DROP_TOKENS:
            cands.append(_Candidate(unit, get_path(original[unit.index], unit.path), tokens, len(cands)))
    by_key = {(r.index, r.path): i for i, r in enumerate(records)}
    records = list(records)
    saved = 0  # tokens the cuts so far removed

    def tokens_at(end: int) -> int:
        """The request's tokens had it ended at ``end``, with the cuts made so far."""
        return total - (prefix[-1] - prefix[end]) - saved

    def apply(c: _Candidate, text: str, kind: str, strategy: str, refs: tuple[str, ...], started: float) -> None:
        nonlocal saved
        new_tokens = count_tokens(text)
        saved += c.tokens - new_tokens
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
        c.tried = True
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
        c.level = _SHRUNK

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
        c.level = _DROPPED

    def cut(end: int) -> None:
        """Cut the outputs before the newest round of ``messages[:end]`` down to the low-water mark."""
        start = round_start(kinds, end)
        older = [c for c in cands if c.unit.index < start]
        turn = last_user_turn(out[:end], fmt)
        query = Query.parse(" ".join(module.visible_texts(out[turn])) if turn < end else "")
        last = max(len(older) - 1, 1)

        def score(c: _Candidate) -> float:  # low: least relevant and oldest, cut first
            relevance = c.relevant(query) if query.words else 0.0
            return RELEVANCE_WEIGHT * relevance + (1 - RELEVANCE_WEIGHT) * (c.order / last)

        target = int(budget * LOW_WATER)
        for c in sorted((c for c in older if c.level < _DROPPED), key=lambda c: (round(score(c), 6), c.order)):
            if tokens_at(end) <= target:
                break
            if c.level == 0 and not c.tried and tokens_at(end) - c.tokens <= target:
                shrink(c)  # a harder cut may be enough for the last output needed...
            if tokens_at(end) > target:
                drop(c)  # ...otherwise the whole output goes, before the next one is touched

    if not cfg.lossless_only:
        for end in checkpoints(kinds):
            if tokens_at(end) > budget:
                cut(end)
    final = tokens_at(len(out))
    if final > budget:
        raise BudgetError(_why(final, budget, overhead, images, kinds, sizes, prefix, cfg.lossless_only))
    shrunk, dropped = ({c.unit.index for c in cands if c.level == level} for level in (_SHRUNK, _DROPPED))
    return out, records, BudgetReport(budget, total, final, tuple(sorted(shrunk)), tuple(sorted(dropped)))


def _why(final: int, budget: int, overhead: int, images: int, kinds: list[Kind], sizes: list[int],
         prefix: list[int], lossless_only: bool) -> str:
    """The :class:`BudgetError` message: what is left, part by part, with its tokens."""
    start = round_start(kinds, len(kinds))
    system = overhead + sum(s for s, k in zip(sizes, kinds) if k == "system")
    users = sum(s for s, k in zip(sizes, kinds) if k == "user")
    newest = prefix[-1] - prefix[start]
    why = ("lossless_only is set, so no tool output may be shrunk or dropped; " if lossless_only
           else "after shrinking and dropping every tool output before the newest round, ")
    return (f"headroom: the request needs {count(final)} tokens but the token budget is {count(budget)}: {why}"
            f"what is left cannot be dropped: system prompt and tool definitions {count(system)} tokens, "
            f"user turns {count(users)}, the newest round (its tool calls and results) {count(newest)}, "
            + (f"images {count(images)} (after downscaling), " if images else "")
            + f"and the rest {count(final - system - users - newest - images)} (assistant messages, older tool calls, "
            f"outputs too small to drop, markers of dropped outputs)")
