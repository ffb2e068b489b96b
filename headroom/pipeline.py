"""``compress()``: find the compressible units, route each to its compressor, keep the
protocol intact and never let a unit grow or an internal error reach the caller."""

from __future__ import annotations

import fnmatch
import json
import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from headroom.budget import BudgetError, fit_budget, resolve_budget
from headroom.cache_align import Alignment, CacheReport, align, insert_note
from headroom.ccr.markers import has_marker
from headroom.ccr.store import Store, put_many
from headroom.ccr.tool import TOOL_NAME, tool_definition
from headroom.compressors import compressor_for
from headroom.compressors.base import Compressed, settle
from headroom.compressors.numbered import renumber, split_numbered
from headroom.config import DEFAULT_CONFIG, Config
from headroom.counter import Counter
from headroom.formats import module_for, set_path
from headroom.formats.base import Unit
from headroom.hooks import CompressEvent, HookContext, Hooks
from headroom.images import apply_images, plan_images
from headroom.kinds import Detection
from headroom.query_echo import echo_line, should_echo
from headroom.result import CompressResult, UnitRecord
from headroom.router import detect
from headroom.warmup import warm_up
from headroom.workers import run_beside

__all__ = ["compress", "run_compressor"]

log = logging.getLogger("headroom")
T = TypeVar("T")

#: Units at least this long (characters) are compressed on a worker thread while this
#: one counts them: the count (0.3 ms and up) covers the worker's wake-up (0.1-0.2 ms
#: with the worker kept off this thread's CPU).
OFFLOAD_CHARS = 6_144


def compress(
    messages: Sequence[Any],
    model: str | None = None,
    *,
    system: Any = None,
    tools: list[Any] | None = None,
    config: Config | None = None,
    hooks: Hooks | None = None,
    store: Store | None = None,
    **options: Any,
) -> CompressResult:
    """Compress the tool outputs in ``messages``; return the same format with fewer tokens.

    ``system`` (Anthropic and Bedrock ``system=``, Responses ``instructions=``) and ``tools``
    (the request's tool definitions; Bedrock: ``toolConfig["tools"]``) are optional: pass
    them so cache alignment can check them and the token budget can count them; the
    versions to send come back as ``result.system`` and ``result.request_tools``.
    ``options`` override single :class:`Config` fields
    (``compress(m, "gpt-4o", lossless_only=True)``). The caller's
    objects are never mutated. Raises ``TypeError`` or ``ValueError`` naming the offending
    message for malformed input, :class:`headroom.budget.BudgetError` when the request
    cannot fit the token budget; never raises for content it fails to compress (that unit
    is sent as it was).
    """
    started = time.perf_counter()
    cfg = (config or DEFAULT_CONFIG).with_(**options) if options else (config or DEFAULT_CONFIG)
    if not isinstance(messages, (list, tuple)):
        raise TypeError(f"messages must be a list of message dicts, got {type(messages).__name__}")
    if tools is not None and not isinstance(tools, (list, tuple)):
        raise TypeError(f"tools must be a list of tool definitions, got {type(tools).__name__}")
    msgs = list(messages)
    module = module_for(cfg.format, msgs)
    fmt: str = module.NAME
    module.validate(msgs)
    if hooks is not None:
        msgs = list(hooks.pre_compress(msgs, HookContext(model, fmt, cfg)))
        module.validate(msgs)

    counter = Counter(model)
    out = list(msgs)
    records: list[UnitRecord] = []
    for unit in module.units(msgs, user_text=cfg.compress_user_messages):
        record, new_text = _compress_unit(unit, cfg, hooks, store, counter)
        if record is None:
            continue
        records.append(record)
        if new_text is not None:
            out[unit.index] = set_path(out[unit.index], unit.path, new_text)

    before = sum(counter.count(t) for t in _visible(module, msgs))
    aligned = _align(out, fmt, system, tools, cfg)
    delta = 0  # tokens alignment added to or removed from the messages (system messages, the note)
    if aligned.messages is not out:
        delta = sum(_tokens(counter, module, new) - _tokens(counter, module, old)
                    for new, old in zip(aligned.messages, out) if new is not old)
        out = aligned.messages
    note = aligned.report.note if cfg.cache_align == "on" else None
    note_tokens = counter.count(note) if note else 0

    images = plan_images(module, msgs, model, cfg, store, counter)  # images count in provider image tokens
    image_after = sum(p.record.tokens_after for p in images)
    before += sum(p.record.tokens_before for p in images)

    budget = resolve_budget(cfg, model)
    budget_report = None
    after = before - sum(r.tokens_saved for r in records if r.changed) - sum(p.record.tokens_saved for p in images) \
        + delta
    if budget is not None and after + note_tokens > budget - _overhead_bound(aligned.system, aligned.tools, cfg.ccr):
        overhead = note_tokens + _overhead(counter, aligned.system, aligned.tools, fmt, cfg.ccr)
        if after + overhead > budget:
            try:  # the images are a fixed cost to the text fitter
                out, records, budget_report = fit_budget(
                    msgs, out, module, records, budget=budget, total=after + overhead, overhead=overhead, cfg=cfg,
                    store=store, count_tokens=counter.count, images=image_after)
            except BudgetError:
                raise
            except Exception as exc:  # fail open: the request goes out as compressed, over budget
                log.warning("headroom: token-budget fitting failed; sent over budget: %s: %s", type(exc).__name__,
                            exc, exc_info=log.isEnabledFor(logging.DEBUG))
            after = before - sum(r.tokens_saved for r in records if r.changed) \
                - sum(p.record.tokens_saved for p in images) + delta
    out, image_records = apply_images(out, msgs, images)
    records.extend(image_records)
    after += sum(r.tokens_after - p.record.tokens_after for r, p in zip(image_records, images))  # moved ones
    if note:
        # OpenAI Chat has no system= argument: plain messages with one are Anthropic's
        prefill = fmt in ("anthropic", "bedrock") or system is not None
        out = insert_note(out, fmt, note, aligned.note_role, prefill=prefill)
        after += note_tokens
    refs = list(dict.fromkeys(ref for r in records for ref in r.refs))
    result = CompressResult(out, before, after, fmt, model, records, refs, [tool_definition(fmt)] if refs else [],
                            system=aligned.system, request_tools=aligned.tools,
                            cache=aligned.report if cfg.cache_align != "off" else None, budget=budget_report)
    if hooks is not None:
        hooks.post_compress(CompressEvent(model, result, (time.perf_counter() - started) * 1000))
    warm_up()  # once per process, on a background thread, after the first call's own work
    return result


def _align(out: list[Any], fmt: str, system: Any, tools: Sequence[Any] | None, cfg: Config) -> Alignment:
    """Cache alignment, failing open: an internal error leaves the request as it is."""
    tool_list = list(tools) if tools is not None else None
    try:
        return align(out, fmt, system, tool_list, cfg.cache_align)
    except Exception as exc:
        log.warning("headroom: cache alignment failed; request left as it was: %s: %s", type(exc).__name__, exc,
                    exc_info=log.isEnabledFor(logging.DEBUG))
        return Alignment(out, system, tool_list, CacheReport(mode=cfg.cache_align))


def _tokens(counter: Counter, module: Any, message: Any) -> int:
    return sum(counter.count(t) for t in module.visible_texts(message)) if isinstance(message, dict) else 0


def _overhead_bound(system: Any, tools: list[Any] | None, ccr: bool) -> int:
    """An upper bound on :func:`_overhead` without tokenizing (a token is at least one byte)."""
    bound = 400 if ccr else 0  # the headroom_retrieve definition is about 80 tokens
    if system is None and not tools:
        return bound
    return bound + len(json.dumps([system, tools], ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _overhead(counter: Counter, system: Any, tools: list[Any] | None, fmt: str, ccr: bool) -> int:
    """Tokens sent besides the messages: the system prompt, tool definitions and the
    ``headroom_retrieve`` tool that dropping content would add."""
    total = 0
    if isinstance(system, str):
        total += counter.count(system)
    elif isinstance(system, list):
        total += sum(counter.count(b["text"]) for b in system if isinstance(b, dict) and isinstance(b.get("text"), str))
    for tool in [*(tools or []), *([tool_definition(fmt)] if ccr else [])]:
        total += counter.count(json.dumps(tool, ensure_ascii=False))
    return total


def _visible(module: Any, msgs: list[Any]) -> Any:
    for msg in msgs:
        yield from module.visible_texts(msg)


def _excluded(name: str | None, patterns: tuple[str, ...]) -> bool:
    return name is not None and any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _compress_unit(unit: Unit, cfg: Config, hooks: Hooks | None, store: Store | None,
                   counter: Counter) -> tuple[UnitRecord | None, str | None]:
    """(record, new text or None). No record for units below the size floor.

    A prefix of the unit decides the size floor; a large unit is compressed on a worker
    thread while this one counts it (:func:`headroom.workers.run_beside`)."""
    floor = cfg.min_user_message_tokens if unit.source == "user" else cfg.min_unit_tokens
    if len(unit.text.encode("utf-8", "surrogatepass")) < floor:  # a token is at least one byte
        return None, None
    if not counter.at_least(unit.text, floor):
        return None, None
    started = time.perf_counter()

    def record(kind: str, strategy: str, after: int | None = None, refs: tuple[str, ...] = (),
               error: str | None = None) -> UnitRecord:
        n = counter.count(unit.text)
        ms = (time.perf_counter() - started) * 1000
        return UnitRecord(unit.index, unit.path, unit.source, unit.tool_name, kind, strategy, n,
                          n if after is None else after, ms, refs, error)

    if unit.tool_name == TOOL_NAME:
        return record("-", "skipped:retrieval-result"), None
    if _excluded(unit.tool_name, cfg.exclude_tools):
        return record("-", "skipped:excluded-tool"), None
    if has_marker(unit.text):
        return record("-", "skipped:already-compressed"), None
    kind = "-"
    routed: list[Detection] = []  # filled by the job, which may run on a worker thread
    try:
        unit_cfg = cfg
        if hooks is not None:  # the policy hook runs here, on the caller's thread, before the job
            routed.append(detect(unit.text))
            policy = hooks.unit_policy(unit, routed[0].kind.value)
            if policy is not None and policy.skip:
                return record(routed[0].label, "skipped:policy"), None
            if policy is not None and policy.keep_scale != 1.0:
                unit_cfg = cfg.with_(keep_scale=cfg.keep_scale * policy.keep_scale)

        def job() -> Compressed:
            if not routed:
                routed.append(detect(unit.text))
            return _draft(routed[0], unit.text, unit.question, unit_cfg)

        comp, n = _overlapped(job, partial(counter.count, unit.text), len(unit.text))
        kind = routed[0].label
        if comp.text == unit.text:
            return record(kind, "unchanged"), None
        # the compressor's check and the store run while the output is counted (an
        # output that turns out no smaller leaves its stored originals unused)
        (comp, text, refs), after = _overlapped(partial(_finish, comp, unit.text, cfg, store),
                                                partial(counter.count, comp.text), len(comp.text))
        if comp.text == unit.text:
            return record(kind, "unchanged"), None
        if text is not comp.text:
            after = counter.count(text)
        if after >= n:
            return record(kind, "unchanged"), None
    except Exception as exc:  # fail open: this unit goes out as it was
        kind = routed[0].label if routed else kind
        log.warning("headroom: compressing messages[%d] (%s) failed; sent unchanged: %s: %s",
                    unit.index, kind, type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
        return record(kind, "error", error=f"{type(exc).__name__}: {exc}"), None
    if cfg.query_echo and unit.source == "tool" and unit.question.strip() and should_echo(
            text, n, after, refs, cfg.query_echo_min_saved):
        echoed = f"{text}\n{echo_line(unit.question)}"
        echoed_after = counter.count(echoed)
        if echoed_after < n:
            text, after = echoed, echoed_after
    return record(kind, comp.strategy, after, refs), text


def _finish(comp: Compressed, original: str, cfg: Config, store: Store | None
            ) -> tuple[Compressed, str, tuple[str, ...]]:
    """The compressor's check, then the omissions stored: (result, text to send, refs)."""
    comp = settle(comp, original)
    if cfg.lossless_only and comp.omissions:
        raise RuntimeError(f"{comp.strategy} dropped content although lossless_only is set")
    if comp.text == original:
        return comp, original, ()
    text, refs = _store_omissions(comp, store)
    return comp, text, refs


def _overlapped(job: Callable[[], T], count: Callable[[], int], size: int) -> tuple[T, int]:
    """``(job(), count())``: a large text's count (GIL-free) runs here while ``job`` runs
    on a worker thread; a small one's is too short to cover a worker's wake-up."""
    if size >= OFFLOAD_CHARS:
        return run_beside(job, count)
    return job(), count()


def run_compressor(detection: Detection, text: str, question: str, cfg: Config) -> Compressed:
    """Run the compressor for ``detection``; numbered file reads keep their line numbers.

    The router's language reaches the code compressor as ``options["code"]["language"]``
    (unless the caller set one), so it does not detect again."""
    return settle(_draft(detection, text, question, cfg), text)


def _draft(detection: Detection, text: str, question: str, cfg: Config) -> Compressed:
    """:func:`run_compressor` with the compressor's check (if any) still to run."""
    compressor = compressor_for(detection.kind)
    code_options = cfg.options.get("code", {})
    if detection.language and "language" not in code_options:
        cfg = cfg.with_(options={**cfg.options, "code": {**code_options, "language": detection.language}})
    if detection.numbered:
        split = split_numbered(text)
        if split is not None:
            prefixes, body = split
            comp = compressor("\n".join(body), question, cfg)
            return Compressed(renumber(prefixes, body, comp.text), comp.strategy, comp.omissions, comp.check)
    return compressor(text, question, cfg)


def _store_omissions(comp: Compressed, store: Store | None) -> tuple[str, tuple[str, ...]]:
    """Put every omitted original in the store; fix up any ref the store had to lengthen."""
    if not comp.omissions:
        return comp.text, ()
    if store is None:
        from headroom.ccr import default_store

        store = default_store()
    text = comp.text
    refs: list[str] = []
    stored = put_many(store, [(o.original, o.kind) for o in comp.omissions])
    for omission, ref in zip(comp.omissions, stored):
        if ref != omission.ref:
            text = text.replace(f"ref={omission.ref}]", f"ref={ref}]")
        if ref not in refs:
            refs.append(ref)
    return text, tuple(refs)
