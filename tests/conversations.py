"""Builders for test conversations in every provider format, and hypothesis strategies.

Tool outputs are made from realistic pieces (log lines, JSON rows, grep hits, prose) so
the compressors have real work to do; sizes straddle the small-unit floor.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

from headroom.ccr.markers import MARKER_RE, Marker
from headroom.compressors.base import Compressed

FORMATS = ("openai", "anthropic", "responses", "bedrock")

_LEVELS = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
_WORDS = ["block", "replica", "session", "request", "worker", "cache", "shard", "lease", "token", "queue"]


@st.composite
def log_output(draw: st.DrawFn) -> str:
    n = draw(st.integers(min_value=5, max_value=400))
    seed = draw(st.integers(min_value=0, max_value=10_000))
    lines = []
    for i in range(n):
        k = (seed + i * 7) % 97
        level = _LEVELS[k % len(_LEVELS)] if k % 11 else "INFO"
        word = _WORDS[(seed + i) % len(_WORDS)] if k % 5 == 0 else _WORDS[seed % len(_WORDS)]
        lines.append(f"2024-03-0{1 + i % 9} 12:{i % 60:02d}:{k % 60:02d},{k:03d} {level} svc.{word}: "
                     f"processed {word} {seed + i} in {k} ms from 10.0.{k % 8}.{i % 250}")
    return "\n".join(lines)


@st.composite
def json_output(draw: st.DrawFn) -> str:
    n = draw(st.integers(min_value=1, max_value=150))
    seed = draw(st.integers(min_value=0, max_value=10_000))
    rows = [{"id": seed + i, "name": f"{_WORDS[(seed + i) % 10]}-{i}", "status": "error" if i % 37 == 5 else "ok",
             "score": round(((seed * 31 + i * 17) % 1000) / 7, 2), "tags": [_WORDS[i % 10]]} for i in range(n)]
    indent = draw(st.sampled_from([None, 2]))
    return json.dumps({"items": rows, "total": n}, indent=indent)


@st.composite
def repeated_output(draw: st.DrawFn) -> str:
    line = draw(st.sampled_from(["Downloading package metadata ...", "warning: unused variable `x`", "."]))
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=30))):
        parts.extend([line] * draw(st.integers(min_value=1, max_value=40)))
        parts.append(draw(st.sampled_from(["done", "", "  ", "retrying"])))
    return "\n".join(parts)


@st.composite
def prose_output(draw: st.DrawFn) -> str:
    paragraphs = []
    for p in range(draw(st.integers(min_value=1, max_value=40))):
        sentences = [f"The {_WORDS[(p + s) % 10]} service handles {p * 10 + s} requests per second in region {s}."
                     for s in range(draw(st.integers(min_value=1, max_value=6)))]
        paragraphs.append(" ".join(sentences))
    return "\n\n\n".join(paragraphs)


tool_output = st.one_of(log_output(), json_output(), repeated_output(), prose_output(),
                        st.text(min_size=0, max_size=300))


def build(fmt: str, question: str, rounds: list[list[str]], names: list[str] | None = None,
          followups: dict[int, str] | None = None) -> list[dict[str, Any]]:
    """A conversation: (system), user question, then per round one assistant tool-call message
    and the results (Anthropic and Bedrock: one user message of result blocks per round). Before
    round ``r`` in ``followups``, the assistant answers and the user asks ``followups[r]``."""
    msgs: list[dict[str, Any]] = []
    if fmt == "openai":
        msgs.append({"role": "system", "content": "You are a careful assistant."})
    if fmt == "responses":
        msgs.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": question}]})
    elif fmt == "bedrock":
        msgs.append({"role": "user", "content": [{"text": question}]})
    else:
        msgs.append({"role": "user", "content": question})
    n = 0
    for r, outputs in enumerate(rounds):
        if r and followups and r in followups:
            if fmt == "responses":
                msgs.append({"type": "message", "role": "assistant",
                             "content": [{"type": "output_text", "text": "Done."}]})
                msgs.append({"type": "message", "role": "user",
                             "content": [{"type": "input_text", "text": followups[r]}]})
            elif fmt == "bedrock":
                msgs.append({"role": "assistant", "content": [{"text": "Done."}]})
                msgs.append({"role": "user", "content": [{"text": followups[r]}]})
            else:
                msgs.append({"role": "assistant", "content": "Done." if fmt == "openai"
                             else [{"type": "text", "text": "Done."}]})
                msgs.append({"role": "user", "content": followups[r]})
        calls: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        for out in outputs:
            n += 1
            pool = names or ["bash", "read_file", "http_get"]
            name = pool[(n - 1) % len(pool)]
            args = {"cmd": f"step {n}"}
            if fmt == "openai":
                calls.append({"id": f"call_{n}", "type": "function",
                              "function": {"name": name, "arguments": json.dumps(args)}})
                results.append({"role": "tool", "tool_call_id": f"call_{n}", "content": out})
            elif fmt == "anthropic":
                calls.append({"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": args})
                results.append({"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": out})
            elif fmt == "bedrock":
                calls.append({"toolUse": {"toolUseId": f"tooluse_{n}", "name": name, "input": args}})
                result: dict[str, Any] = {"toolUseId": f"tooluse_{n}", "content": [{"text": out}],
                                          "status": "success"}
                results.append({"toolResult": result})
            else:
                msgs.append({"type": "function_call", "call_id": f"fc_{n}", "name": name,
                             "arguments": json.dumps(args)})
                msgs.append({"type": "function_call_output", "call_id": f"fc_{n}", "output": out})
        if fmt == "openai":
            msgs.append({"role": "assistant", "content": None, "tool_calls": calls})
            msgs.extend(results)
        elif fmt == "anthropic":
            msgs.append({"role": "assistant", "content": [{"type": "text", "text": f"Round {r}."}, *calls]})
            msgs.append({"role": "user", "content": results})
        elif fmt == "bedrock":
            msgs.append({"role": "assistant", "content": [{"text": f"Round {r}."}, *calls]})
            msgs.append({"role": "user", "content": results})
    return msgs


@st.composite
def conversation(draw: st.DrawFn, fmt: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    fmt = fmt or draw(st.sampled_from(FORMATS))
    rounds = draw(st.lists(st.lists(tool_output, min_size=1, max_size=3), min_size=1, max_size=3))
    questions = st.sampled_from(["Which worker failed and why?", "What is the score of item 42?",
                                 "Summarise this.", "", "Which request took 42 ms?", "Show the shard errors."])
    followups = draw(st.dictionaries(st.integers(1, 2), questions, max_size=2))
    return fmt, build(fmt, draw(questions), rounds, followups=followups)


def tool_texts(fmt: str, messages: list[dict[str, Any]]) -> list[str]:
    """Every tool output string, in order."""
    out: list[str] = []
    for m in messages:
        if fmt == "openai" and m.get("role") == "tool":
            out.append(m["content"])
        elif fmt == "anthropic" and isinstance(m.get("content"), list):
            out.extend(b["content"] for b in m["content"] if b.get("type") == "tool_result")
        elif fmt == "responses" and m.get("type") == "function_call_output":
            out.append(m["output"])
        elif fmt == "bedrock" and isinstance(m.get("content"), list):
            out.extend(p["text"] for b in m["content"] if "toolResult" in b for p in b["toolResult"]["content"])
    return out


def skeleton(fmt: str, messages: list[dict[str, Any]]) -> list[Any]:
    """Everything but the tool output strings: must be byte-identical after compression."""
    out: list[Any] = []
    for m in messages:
        m = dict(m)
        if fmt == "openai" and m.get("role") == "tool":
            m["content"] = "<tool output>"
        elif fmt == "anthropic" and isinstance(m.get("content"), list):
            m["content"] = [{**b, "content": "<tool output>"} if b.get("type") == "tool_result" else b
                            for b in m["content"]]
        elif fmt == "responses" and m.get("type") == "function_call_output":
            m["output"] = "<tool output>"
        elif fmt == "bedrock" and isinstance(m.get("content"), list):
            m["content"] = [{"toolResult": {**b["toolResult"], "content": [{"text": "<tool output>"}
                                                                          for _ in b["toolResult"]["content"]]}}
                            if "toolResult" in b else b for b in m["content"]]
        out.append(m)
    return out


def reconstruct_lines(comp: Compressed) -> str:
    """Kept lines plus the originals of line markers (and lossless repeat folds), in order."""
    originals = {o.ref: o.original for o in comp.omissions}
    out: list[str] = []
    for line in comp.text.split("\n"):
        m = MARKER_RE.fullmatch(line)
        mark = Marker.from_match(m) if m else None
        repeat = re.fullmatch(r"previous line ×([\d,]+) more", mark.summary) if mark and not mark.ref else None
        if mark and mark.ref:
            out.append(originals[mark.ref])
        elif repeat:
            out.extend([out[-1]] * int(repeat.group(1).replace(",", "")))
        else:
            out.append(line)
    return "\n".join(out)
