"""CacheAligner: find (and, when enabled, fix) what keeps a provider's prompt cache from hitting.

Prompt caches hit only on a byte-identical prefix (tools → system → messages). A timestamp,
date, UUID, request id or counter rendered into the system prompt or a tool definition,
tools serialised in a different order or key order, or whitespace churn moves the first
changed byte to the very start of the prompt, so every request pays for the whole prompt.

Fixing is deterministic and stateless. Volatile values are replaced by placeholders
(``⟨v1⟩``) and their current values go into one short note sent as a separate, *last*
message of the request (before a final assistant prefill): the first bytes that differ
from the previous request are then at the end, after everything the provider cached.
The note is never added to an earlier message, so a longer conversation keeps every
earlier byte (its own note comes after its own end). Tools are serialised in a canonical
order (by name) with sorted keys. A prefix with nothing volatile is returned unchanged,
object for object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AlignResult", "Alignment", "CacheReport", "Finding", "align", "align_request", "body_format",
           "diff_requests", "find_volatile", "note_message", "request_tools", "with_tools"]

PLACEHOLDER = "⟨v{}⟩"
NOTE_PREFIX = "[current values of the ⟨v⟩ placeholders above, kept out of the cached prompt prefix:"
_PLACEHOLDER_RE = re.compile(r"⟨v(\d+)⟩")
_MONTH = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|" \
         r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s"
# In priority order: an earlier pattern's match wins over a later overlapping one. A group
# named ``v`` marks the volatile part when the match also holds a stable label.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(rx)) for kind, rx in [
    ("timestamp", r"\b\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                  r"(?:\s?(?:Z|UTC|GMT)\b|[+-]\d{2}:?\d{2})?"),
    ("timestamp", rf"(?:{_DAY})?\d{{1,2}} {_MONTH} \d{{4}} \d{{2}}:\d{{2}}(?::\d{{2}})?(?: [+-]\d{{4}}| GMT| UTC)?"),
    ("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("request-id", r"\b(?:req|request|msg|run|sess|session|trace|span|chatcmpl|resp|conv|thread)[-_]"
                   r"(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{8,}\b"),
    ("request-id", r"(?i:\b(?:request|trace|session|correlation|conversation|run|span)[ _-]?id\b\s*[:=]?\s*)"
                   r"(?P<v>[\w.-]*\d[\w.-]*)"),
    ("date", rf"(?:{_DAY})?\b{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b"),
    ("date", rf"(?:{_DAY})?\b\d{{1,2}} {_MONTH}\.?,? \d{{4}}\b"),
    ("date", r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{4}/\d{2}/\d{2}\b"),
    ("time", r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b|\b\d{1,2}:\d{2}\s?[AaPp]\.?[Mm]\b\.?"),
    ("epoch", r"\b1[5-9]\d{8}(?:\d{3})?\b"),
    ("hex-id", r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{16,}\b"),
    ("counter", r"(?i:\b(?:turn|iteration)\s*(?:#|no\.?|number)?\s*[:#=]?\s*)(?P<v>\d+)\b(?!\s*(?:times|more))"),
    ("counter", r"(?i:\b(?:attempt|retry|request|message|step|call)\s*(?:#|no\.|number|:|=)\s*[:=]?\s*)"
                r"(?P<v>\d+)\b"),
    ("counter", r"(?i:\b(?:count|counter|remaining|elapsed|uptime|tokens used|calls so far)\s*[:=]\s*)"
                r"(?P<v>\d+(?:\.\d+)?)"),
]]
#: Formats whose system prompt is a request field, not a message; a final assistant
#: message is a prefill there.
_SYSTEM_FIELD = frozenset({"anthropic", "bedrock"})
_WS_RE = re.compile(r"\r|[ \t]+(?=\n)|[ \t]+\Z|\n[ \t]*\n[ \t]*\n")


@dataclass(frozen=True)
class Finding:
    """One thing that breaks the cached prefix: where it is, what it is, the offending text."""

    location: str
    kind: str
    value: str
    fixed: bool = False


@dataclass(frozen=True)
class CacheReport:
    """``result.cache``: what was found in the system prompt and tool definitions."""

    findings: tuple[Finding, ...] = ()
    mode: str = "report"
    note: str | None = None

    @property
    def stable(self) -> bool:
        """True when nothing left in the prefix changes between requests."""
        return all(f.fixed for f in self.findings)


@dataclass
class Alignment:
    messages: list[Any]
    system: Any
    tools: list[Any] | None
    report: CacheReport
    note_role: str = "user"


@dataclass
class AlignResult:
    body: dict[str, Any]
    report: CacheReport = field(default_factory=CacheReport)


def find_volatile(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every volatile value in ``text``, in order, not overlapping."""
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span("v") if "v" in pattern.groupindex else m.span()
            if end > start and not any(s < end and start < e for s, e, _ in spans):
                spans.append((start, end, kind))
    return sorted(spans)


class _Fixer:
    """Collects findings; in fix mode replaces values by numbered placeholders."""

    def __init__(self, fix: bool, first: int) -> None:
        self.fix = fix
        self.findings: list[Finding] = []
        self.values: dict[str, str] = {}
        self._next = first

    def text(self, text: str, location: str, whitespace: bool = True) -> str:
        spans = find_volatile(text)
        out: list[str] = []
        pos = 0
        for start, end, kind in spans:
            value = text[start:end]
            self.findings.append(Finding(location, kind, value, self.fix))
            if self.fix:
                if value not in self.values:
                    self.values[value] = PLACEHOLDER.format(self._next)
                    self._next += 1
                out.append(text[pos:start] + self.values[value])
                pos = end
        new = "".join(out) + text[pos:] if self.fix and spans else text
        if whitespace and _WS_RE.search(new):
            self.findings.append(Finding(location, "whitespace", _ws_summary(new), self.fix))
            if self.fix:
                new = _normalise_ws(new)
        return new

    def note(self) -> str | None:
        if not self.values:
            return None
        pairs = "; ".join(f"{ph} = {value}" for value, ph in self.values.items())
        return f"{NOTE_PREFIX} {pairs}]"


def _ws_summary(text: str) -> str:
    parts = []
    if "\r" in text:
        parts.append("CR line endings")
    if re.search(r"[ \t]+(?=\n)|[ \t]+\Z", text):
        parts.append("trailing spaces")
    if re.search(r"\n[ \t]*\n[ \t]*\n", text):
        parts.append("runs of blank lines")
    return ", ".join(parts)


def _normalise_ws(text: str) -> str:
    """CR/CRLF → LF, no trailing spaces, at most one blank line in a row."""
    text = "\n".join(line.rstrip(" \t") for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text)


def _content(content: Any, location: str, fixer: _Fixer) -> Any:
    """A system content (string, or text blocks/parts) with its texts fixed."""
    if isinstance(content, str):
        return fixer.text(content, location)
    if not isinstance(content, list):
        return content
    out: list[Any] = []
    for j, part in enumerate(content):
        text = part.get("text") if isinstance(part, dict) else None
        if isinstance(text, str):
            new = fixer.text(text, f"{location}[{j}].text")
            part = part if new is text else {**part, "text": new}
        out.append(part)
    return out if any(a is not b for a, b in zip(out, content)) else content


def _strings(value: Any, location: str, fixer: _Fixer) -> Any:
    """``value`` with every string inside fixed (tool definitions: descriptions, enums)."""
    if isinstance(value, str):
        return fixer.text(value, location, whitespace=False)
    if isinstance(value, dict):
        new = {k: _strings(v, f"{location}.{k}", fixer) for k, v in value.items()}
        return value if all(new[k] is value[k] for k in value) else new
    if isinstance(value, list):
        items = [_strings(v, f"{location}[{i}]", fixer) for i, v in enumerate(value)]
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


def tool_name(tool: Any) -> str:
    if isinstance(tool, dict):
        fn = tool.get("function", tool.get("toolSpec"))  # OpenAI Chat, Bedrock
        name = fn.get("name") if isinstance(fn, dict) else tool.get("name")
        if isinstance(name, str):
            return name
    return ""


def _dump(value: Any, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, default=str)


def _sort_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sort_keys(v) for v in value]
    return value


def _canonical_tools(tools: list[Any], fixer: _Fixer) -> list[Any]:
    """Tools sorted by name with sorted keys. A ``cache_control`` breakpoint on the last
    tool moves to the new last tool, and a Bedrock ``cachePoint`` entry last in the list
    stays last; breakpoints elsewhere keep the order as it is."""
    canon = [_sort_keys(t) for t in tools]
    if any(_dump(c) != _dump(t) for c, t in zip(canon, tools)):
        fixer.findings.append(Finding("tools", "key-order", "keys not in sorted order", fixer.fix))
    points = [i for i, t in enumerate(canon) if isinstance(t, dict) and "cachePoint" in t]
    tail = canon[-1:] if points == [len(canon) - 1] else []
    if tail:
        canon = canon[:-1]
    marks = [i for i, t in enumerate(canon) if isinstance(t, dict) and "cache_control" in t]
    if (marks and marks != [len(canon) - 1]) or (points and not tail):
        canon += tail
        return tools if _dump(canon) == _dump(tools) else canon
    mark = canon[marks[0]]["cache_control"] if marks else None
    bare = [{k: v for k, v in t.items() if k != "cache_control"} if isinstance(t, dict) else t for t in canon]
    order = sorted(range(len(bare)), key=lambda i: (tool_name(bare[i]), _dump(bare[i], sort_keys=True)))
    if order != list(range(len(bare))):
        fixer.findings.append(Finding("tools", "tool-order", ", ".join(tool_name(t) for t in tools), fixer.fix))
    out = [bare[i] for i in order]
    if mark is not None:
        out[-1] = {**out[-1], "cache_control": mark}
    out += tail
    return tools if _dump(out) == _dump(tools) else out


def _system_messages(messages: list[Any]) -> Iterator[int]:
    """Indexes of the leading system/developer messages (OpenAI Chat, Responses input)."""
    for i, msg in enumerate(messages):
        if not (isinstance(msg, dict) and msg.get("role") in ("system", "developer")
                and msg.get("type", "message") == "message"):
            return
        yield i


def _first_placeholder(*values: Any) -> int:
    found = [int(n) for v in values for n in _PLACEHOLDER_RE.findall(_dump(v))]
    return max(found, default=0) + 1


def align(messages: list[Any], fmt: str, system: Any = None, tools: list[Any] | None = None,
          mode: str = "report") -> Alignment:
    """Report (``mode="report"``) or fix (``"on"``) the volatile parts of the cached prefix.

    Returns the messages/system/tools to send; the note (if any) is in ``report.note`` and
    goes last, as :func:`note_message`. ``"off"`` returns everything as it is.
    """
    if mode == "off":
        return Alignment(messages, system, tools, CacheReport(mode="off"))
    fix = mode == "on"
    leading = list(_system_messages(messages)) if fmt not in _SYSTEM_FIELD else []
    start = _first_placeholder(system, tools, [messages[i] for i in leading]) if fix else 1
    fixer = _Fixer(fix, start)
    new_system = _content(system, "system", fixer) if system is not None else None
    out = messages
    role = "user"
    for i in leading:
        msg = messages[i]
        role = str(msg.get("role"))
        content = _content(msg.get("content"), f"messages[{i}].content", fixer)
        if content is not msg.get("content"):
            out = list(out) if out is messages else out
            out[i] = {**msg, "content": content}
    new_tools = tools
    if tools:
        new_tools = [_strings(t, f"tools[{i}]", fixer) for i, t in enumerate(tools)]
        if fix:
            new_tools = _canonical_tools(new_tools, fixer)
        if all(a is b for a, b in zip(new_tools, tools)):
            new_tools = tools
    report = CacheReport(tuple(fixer.findings), mode, fixer.note())
    if not fix:
        return Alignment(messages, system, tools, report, role)
    return Alignment(out, new_system, new_tools, report, role)


def note_message(fmt: str, note: str, role: str) -> dict[str, Any]:
    """The note as one message of ``fmt``, sent after everything else. A ``user`` message
    with string content is valid in OpenAI Chat, Anthropic and Responses, so it is the
    default role; OpenAI and Responses requests with a system/developer message get that
    role instead. Bedrock content is always a list of blocks."""
    if fmt == "responses":
        return {"type": "message", "role": role, "content": [{"type": "input_text", "text": note}]}
    if fmt == "bedrock":
        return {"role": "user", "content": [{"text": note}]}
    return {"role": "user" if fmt == "anthropic" else role, "content": note}


def insert_note(messages: list[Any], fmt: str, note: str, role: str, *, prefill: bool | None = None) -> list[Any]:
    """``messages`` with the note appended — before a final assistant message when that is a
    prefill the model continues (``prefill``; default: Anthropic, Bedrock), which must stay last.

    Bedrock rejects two user messages in a row, so there the note is a text block appended
    to the user message it would follow (a new dict; earlier bytes are unchanged, so the
    cached prefix still ends where the note begins)."""
    msg = note_message(fmt, note, role)
    last = messages[-1] if messages else None
    prefill = fmt in _SYSTEM_FIELD if prefill is None else prefill
    head: list[Any] = list(messages)
    tail: list[Any] = []
    if prefill and isinstance(last, dict) and last.get("role") == "assistant":
        head, tail = head[:-1], [last]
    before = head[-1] if head else None
    if fmt == "bedrock" and isinstance(before, dict) and before.get("role") == "user" \
            and isinstance(before.get("content"), list):
        return [*head[:-1], {**before, "content": [*before["content"], *msg["content"]]}, *tail]
    return [*head, msg, *tail]


def align_request(body: dict[str, Any], *, fmt: str = "auto", mode: str = "on") -> AlignResult:
    """Align a whole request body (Anthropic Messages, OpenAI Chat, Responses or Bedrock
    Converse, whose tools are ``toolConfig.tools``).

    ``fmt="auto"``: see :func:`body_format`. For Anthropic's automatic caching (a top-level
    ``cache_control``) the breakpoint would land on the note, which changes every request,
    so it is moved onto the last block before the note.
    """
    key = "input" if isinstance(body.get("input"), list) else "messages"
    messages = list(body.get(key) or [])
    if fmt == "auto":
        fmt = body_format(body)
    sys_key = "instructions" if fmt == "responses" else "system"
    tools = request_tools(body)
    result = align(messages, fmt, body.get(sys_key), tools, mode)
    out = dict(body)
    out[key] = result.messages
    if result.system is not None:
        out[sys_key] = result.system
    if result.tools is not None and result.tools is not tools:
        out.update(with_tools(body, result.tools))
    note = result.report.note
    if note is not None and result.messages:
        if fmt == "anthropic" and "cache_control" in out:
            out[key] = _mark_last_block(result.messages, out.pop("cache_control"))
        out[key] = insert_note(out[key], fmt, note, result.note_role)
    return AlignResult(out, result.report)


def body_format(body: dict[str, Any]) -> str:
    """The format of a request body: ``input`` is Responses, ``toolConfig`` or Converse blocks
    Bedrock, a ``system`` field Anthropic, else what the messages' shapes say."""
    from headroom.formats import detect_format

    if isinstance(body.get("input"), list):
        return "responses"
    detected = detect_format(list(body.get("messages") or []))
    if detected == "bedrock" or isinstance(body.get("toolConfig"), dict):
        return "bedrock"
    return "anthropic" if "system" in body else detected


def request_tools(body: dict[str, Any]) -> list[Any] | None:
    """The tool definitions of a request body: ``tools``, or Bedrock's ``toolConfig.tools``."""
    tools = body.get("tools")
    config = body.get("toolConfig")
    if tools is None and isinstance(config, dict):
        tools = config.get("tools")
    return tools if isinstance(tools, list) else None


def with_tools(body: dict[str, Any], tools: list[Any]) -> dict[str, Any]:
    """The body fields that carry ``tools`` (``{"tools": ...}`` or a new ``toolConfig``)."""
    config = body.get("toolConfig")
    if "tools" not in body and isinstance(config, dict) and isinstance(config.get("tools"), list):
        return {"toolConfig": {**config, "tools": tools}}
    return {"tools": tools}


def _mark_last_block(messages: list[Any], mark: Any) -> list[Any]:
    last = messages[-1]
    content = last.get("content")
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
    if not blocks:
        return messages
    blocks[-1] = {**blocks[-1], "cache_control": mark}
    return [*messages[:-1], {**last, "content": blocks}]


def diff_requests(previous: dict[str, Any], current: dict[str, Any]) -> list[Finding]:
    """What changed in the part of ``current`` that ``previous`` could have cached.

    Compares two successive request bodies: tool order and key order, the system prompt
    (naming the kinds of volatile values that differ), and the earlier messages (a
    rewritten history is what a prefix-unstable compressor produces).
    """
    out: list[Finding] = []
    pt, ct = request_tools(previous) or [], request_tools(current) or []
    if [tool_name(t) for t in pt] != [tool_name(t) for t in ct]:
        if sorted(map(tool_name, pt)) == sorted(map(tool_name, ct)):
            out.append(Finding("tools", "tool-order", ", ".join(tool_name(t) for t in ct)))
        else:
            out.append(Finding("tools", "tools-changed", ", ".join(tool_name(t) for t in ct)))
    elif _dump(pt) != _dump(ct):
        same = _dump(pt, sort_keys=True) == _dump(ct, sort_keys=True)
        out.append(Finding("tools", "key-order" if same else "tools-changed", ""))
    for key in ("system", "instructions"):
        if _dump(previous.get(key)) != _dump(current.get(key)):
            out.extend(_text_change(key, previous.get(key), current.get(key)))
    key = "input" if "input" in current else "messages"
    before, now = previous.get(key) or [], current.get(key) or []
    for i, (a, b) in enumerate(zip(before, now)):
        if _dump(a) != _dump(b):
            if isinstance(a, dict) and a.get("role") in ("system", "developer") and i == 0:
                out.extend(_text_change(f"{key}[0]", a.get("content"), b.get("content") if isinstance(b, dict)
                                        else None))
            else:
                out.append(Finding(f"{key}[{i}]", "history-rewritten", "an earlier message changed"))
            break
    return out


def _text_change(location: str, a: Any, b: Any) -> list[Finding]:
    """The volatile values of ``b`` that ``a`` did not have (or one plain change)."""
    ta, tb = _dump(a), _dump(b)
    seen = {ta[s:e] for s, e, _ in find_volatile(ta)}
    changed = [Finding(location, k, tb[s:e]) for s, e, k in find_volatile(tb) if tb[s:e] not in seen]
    return changed or [Finding(location, "text-changed", "")]
