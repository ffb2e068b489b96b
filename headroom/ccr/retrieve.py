"""Answering ``headroom_retrieve``: the original behind a ref, optionally only what matches a query.

A query lets the model ask for the few rows it needs instead of pulling back everything
that compression dropped. Query syntax, all parts must match:

* ``field=value``, ``field!=value``, ``field>N``, ``field<N``, ``field>=N``, ``field<=N``
  test fields of JSON rows (dotted paths such as ``user.id`` or ``items.0.name``; ``=``
  is case-insensitive and takes ``*`` wildcards; ``>``/``<`` compare numbers, else text);
* any other word is a case-insensitive term that must occur in the row or line.

In plain-text lines, ``key=value`` pairs (logfmt) serve as fields; a condition on a key
the line lacks is searched for literally, so ``status=500`` still finds ``status=500``.

JSON arrays answer the matching elements as a compact JSON array (a JSON object answers
itself with its largest array filtered); anything else -- JSON Lines, logs, text --
answers its matching lines.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from headroom.ccr.markers import MARKER_RE
from headroom.ccr.store import Store
from headroom.ccr.tool import TOOL_NAME

if TYPE_CHECKING:
    from headroom.memory import Memory

__all__ = ["answer_call", "answer_retrieval_calls", "clean_ref", "filter_text", "retrieve"]

_COND_RE = re.compile(r"^([A-Za-z_$@][\w.$@-]*?)(!=|>=|<=|==|=|>|<)(.*)$", re.S)
_KV_RE = re.compile(r'(?<![\w.-])([A-Za-z_][\w.-]*)=("[^"]*"|[^\s,;]+)')
_REF_RE = re.compile(r"[0-9a-f]{12,64}")
_NO_MATCH = "[no {unit} of ref {ref} match {query!r}; call headroom_retrieve without a query for all of it]"


def retrieve(ref: str, query: str | None = None, *, store: Store | None = None) -> str:
    """The original content behind ``ref``; with ``query``, only its matching rows or lines.

    Raises :class:`KeyError` when the ref is unknown or has expired.
    """
    if store is None:
        from headroom.ccr import default_store
        store = default_store()
    ref = clean_ref(ref)
    entry = store.get(ref)
    if entry is None:
        raise KeyError(f"no stored content for ref {ref!r}: it is unknown or has expired "
                       "(refs come from '[… headroom_retrieve ref=…]' markers and are kept for a limited time)")
    if query is None or not query.strip() or entry.kind == "image":  # an image has no lines to filter
        return entry.original
    return filter_text(entry.original, query)


def clean_ref(ref: str) -> str:
    """Accept what models actually send: ``ref=3f9a…``, quotes, or a whole marker."""
    text = str(ref).strip().strip("'\"`").lower()
    found = MARKER_RE.search(text)
    if found and found.group(2):
        return found.group(2)
    if text.startswith("ref="):
        text = text[4:]
    match = _REF_RE.fullmatch(text) or _REF_RE.search(text)
    return match.group(0) if match else text


# -- queries -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cond:
    path: tuple[str, ...]
    op: str
    value: str
    raw: str  # the whole token, used as a plain term where a line has no fields


def _parse(query: str) -> tuple[list[_Cond], list[str]]:
    try:
        tokens = shlex.split(query)
    except ValueError:  # unbalanced quotes: take the words as they are
        tokens = query.split()
    conds: list[_Cond] = []
    terms: list[str] = []
    for token in tokens:
        if token in ("AND", "&&", ","):
            continue
        match = _COND_RE.match(token)
        if match and match.group(3):
            op = "=" if match.group(2) == "==" else match.group(2)
            conds.append(_Cond(tuple(match.group(1).split(".")), op, match.group(3), token.lower()))
        else:
            terms.append(token.lower())
    return conds, terms


def _lookup(row: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for key in path:
        if isinstance(row, dict) and key in row:
            row = row[key]
        elif isinstance(row, list) and key.lstrip("-").isdigit() and -len(row) <= int(key) < len(row):
            row = row[int(key)]
        else:
            return False, None
    return True, row


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(actual: Any, op: str, wanted: str) -> bool:
    if isinstance(actual, list) and op in ("=", "!="):
        hit = any(_compare(item, "=", wanted) for item in actual)
        return hit if op == "=" else not hit
    if op in ("=", "!="):
        a_num, w_num = _number(actual), _number(wanted)
        if a_num is not None and w_num is not None and not isinstance(actual, str):
            equal = a_num == w_num
        else:
            text, want = _scalar_text(actual).lower(), wanted.lower()
            equal = fnmatchcase(text, want) if "*" in want else text == want
        return equal if op == "=" else not equal
    a_num, w_num = _number(actual), _number(wanted)
    left: Any = a_num if a_num is not None and w_num is not None else _scalar_text(actual)
    right: Any = w_num if a_num is not None and w_num is not None else wanted
    return bool({">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op])


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield _scalar_text(value).lower()


def _row_matches(row: Any, conds: list[_Cond], terms: list[str]) -> bool:
    for cond in conds:
        found, actual = _lookup(row, cond.path)
        if not found:
            if cond.op != "!=":
                return False
        elif not _compare(actual, cond.op, cond.value):
            return False
    if terms:
        leaves = list(_leaves(row))
        return all(any(term in leaf for leaf in leaves) for term in terms)
    return True


def _line_matches(line: str, conds: list[_Cond], terms: list[str]) -> bool:
    stripped = line.strip()
    if conds and stripped[:1] in ("{", "["):
        try:
            row = json.loads(stripped)
        except ValueError:
            row = None
        if isinstance(row, dict):
            return _row_matches(row, conds, terms)
    low = line.lower()
    if not all(term in low for term in terms):
        return False
    if not conds:
        return True
    pairs = {key: value.strip('"') for key, value in _KV_RE.findall(line)}  # logfmt: status=500 user="a b"
    for cond in conds:
        value = pairs.get(".".join(cond.path))
        if not (cond.raw in low if value is None else _compare(value, cond.op, cond.value)):
            return False
    return True


def _largest_list(doc: dict[str, Any]) -> str | None:
    lists = [(len(v), k) for k, v in doc.items() if isinstance(v, list) and v]
    return max(lists)[1] if lists else None


def filter_text(original: str, query: str) -> str:
    """The part of ``original`` that matches ``query`` (see the module docstring)."""
    conds, terms = _parse(query)
    stripped = original.lstrip()
    if stripped[:1] in ("[", "{"):
        try:
            doc = json.loads(original)
        except ValueError:
            doc = None
        if isinstance(doc, list):
            rows = [row for row in doc if _row_matches(row, conds, terms)]
            return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        if isinstance(doc, dict) and (key := _largest_list(doc)) is not None:
            filtered = dict(doc)
            filtered[key] = [row for row in doc[key] if _row_matches(row, conds, terms)]
            return json.dumps(filtered, ensure_ascii=False, separators=(",", ":"))
    return "\n".join(line for line in original.splitlines() if _line_matches(line, conds, terms))


# -- tool calls ----------------------------------------------------------------------


def _plain(obj: Any) -> Any:
    """SDK response objects (pydantic models) as plain dicts."""
    dump = getattr(obj, "model_dump", None)
    return dump() if callable(dump) else obj


def _has_tool_use(blocks: Any) -> bool:
    """Bedrock Converse blocks: keyed by kind (``{"toolUse": ...}``), no ``type``."""
    return isinstance(blocks, list) and any(isinstance(b, dict) and "toolUse" in b for b in blocks)


def _detect(response: Any) -> str:
    if isinstance(response, list):
        if _has_tool_use(response):
            return "bedrock"
        types = {item.get("type") for item in response if isinstance(item, dict)}
        return "anthropic" if "tool_use" in types and "function_call" not in types else "responses"
    if not isinstance(response, dict):
        raise TypeError(f"expected a response dict or a list of output items, got {type(response).__name__}")
    if "choices" in response or "tool_calls" in response or "function_call" in response:
        return "openai"
    output = response.get("output")
    if isinstance(output, dict) and isinstance(output.get("message"), dict):
        return "bedrock"
    if isinstance(output, list) or response.get("type") == "function_call":
        return "responses"
    if _has_tool_use(response.get("content")):
        return "bedrock"
    if isinstance(response.get("content"), list):
        return "anthropic"
    return "openai"


def _calls(response: Any, fmt: str, names: frozenset[str]) -> Iterator[tuple[str, str, Any]]:
    """(call id, tool name, raw arguments) of every call in ``response`` of a tool in ``names``."""
    if fmt == "openai":
        message = response
        if isinstance(response, dict) and isinstance(response.get("choices"), list) and response["choices"]:
            message = _plain(response["choices"][0]).get("message") or {}
        for call in _plain(message).get("tool_calls") or ():
            call = _plain(call)
            fn = _plain(call.get("function") or {})
            if fn.get("name") in names:
                yield str(call.get("id")), str(fn["name"]), fn.get("arguments")
    elif fmt == "anthropic":
        blocks = response if isinstance(response, list) else response.get("content") or ()
        for block in map(_plain, blocks):
            if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("name") in names:
                yield str(block.get("id")), str(block["name"]), block.get("input")
    elif fmt == "responses":
        items = response.get("output") or () if isinstance(response, dict) and "output" in response else response
        for item in map(_plain, items if isinstance(items, list) else [items]):
            if isinstance(item, dict) and item.get("type") == "function_call" and item.get("name") in names:
                yield str(item.get("call_id")), str(item["name"]), item.get("arguments")
    elif fmt == "bedrock":
        message = response
        if isinstance(response, dict) and isinstance(response.get("output"), dict):
            message = _plain(response["output"].get("message") or {})
        blocks = message if isinstance(message, list) else message.get("content") or ()
        for block in map(_plain, blocks):
            use = _plain(block.get("toolUse")) if isinstance(block, dict) else None
            if isinstance(use, dict) and use.get("name") in names:
                yield str(use.get("toolUseId")), str(use["name"]), use.get("input")
    else:
        raise ValueError(f"unknown format {fmt!r}; expected 'auto', 'openai', 'anthropic', 'responses' or 'bedrock'")


def answer_call(arguments: Any, store: Store | None = None) -> tuple[str, bool]:
    """(tool result text, is_error) for one ``headroom_retrieve`` call's arguments (a dict
    or its JSON text); unknown refs and bad arguments give an error text a model can act on."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return f"headroom_retrieve: arguments are not valid JSON: {arguments[:200]!r}", True
    if not isinstance(arguments, dict) or not isinstance(arguments.get("ref"), str) or not arguments["ref"]:
        return "headroom_retrieve: pass the marker's ref, e.g. {\"ref\": \"3f9a1c0b7d2e\"}", True
    ref, query = arguments["ref"], arguments.get("query")
    query = query if isinstance(query, str) and query.strip() else None
    try:
        text = retrieve(ref, query, store=store)
    except KeyError as exc:
        return f"headroom_retrieve: {exc.args[0]}", True
    if query is not None and text in ("", "[]"):
        unit = "rows" if text == "[]" else "lines"
        return _NO_MATCH.format(unit=unit, ref=clean_ref(ref), query=query), False
    return text, False


def answer_retrieval_calls(response: Any, *, fmt: str = "auto", store: Store | None = None,
                           memory: Memory | None = None) -> list[dict[str, Any]]:
    """Tool-result messages answering every ``headroom_retrieve`` call in a model reply.

    ``response`` is an OpenAI chat completion or its assistant message, an Anthropic
    message (or its content blocks), a Responses response (or its output items), or a
    Bedrock Converse response (or its ``output.message``, or that message's content).
    Append the result to the conversation and call the model again. Other tools' calls
    are left to the app; with Anthropic and Bedrock, put your own ``tool_result`` /
    ``toolResult`` blocks into the same user message as these (Bedrock rejects two user
    messages in a row). Unknown or expired refs answer an error result. With ``memory``
    (a :class:`headroom.memory.Memory`), ``memory_save``/``memory_search``/``memory_forget``
    calls are answered too -- how a LiteLLM callback user answers them.
    """
    response = _plain(response)
    if isinstance(response, list):
        response = [_plain(item) for item in response]
    if fmt == "auto":
        fmt = _detect(response)
    from headroom.ccr.results import Answered, answer, tool_results

    names = frozenset({TOOL_NAME})
    if memory is not None:
        from headroom.memory import MEMORY_TOOL_NAMES, answer_memory_call
        names |= MEMORY_TOOL_NAMES
    answers = []
    for call_id, name, arguments in _calls(response, fmt, names):
        if name == TOOL_NAME or memory is None:
            answers.append((call_id, answer(arguments, store)))
        else:
            answers.append((call_id, Answered(*answer_memory_call(name, arguments, memory))))
    return tool_results(fmt, answers)
