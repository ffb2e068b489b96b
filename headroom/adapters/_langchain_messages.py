"""LangChain messages <-> the OpenAI Chat dicts the engine compresses, and the tool-call
surgery the retrieval loop needs on LangChain replies and stream chunks.

Compression only rewrites text, so a message whose dict came back with new text keeps
everything else LangChain knows about it (ids, artifacts, metadata): only its content
is swapped. Messages the engine added or reshaped are converted back whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ToolMessage,
    convert_to_messages,
    convert_to_openai_messages,
    message_chunk_to_message,
)
from langchain_core.messages.ai import UsageMetadata, add_ai_message_chunks, add_usage
from langchain_core.messages.tool import tool_call_chunk

from headroom.adapters.loop import Answer, ToolCall

__all__ = ["answer_messages", "as_chunk", "from_openai", "merge_chunks", "only_calls", "release_chunks",
           "replace_usage", "strict_tool", "to_openai", "tool_calls", "total_usage", "with_tool_deltas"]

#: Content blocks that are tool calls (Anthropic, Responses, LangChain v1 shapes).
_CALL_BLOCKS = frozenset({"tool_use", "tool_call", "tool_call_chunk", "function_call", "server_tool_call"})


def to_openai(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The conversation as OpenAI Chat dicts (what :meth:`RetrievalLoop.prepare` reads)."""
    return list(convert_to_openai_messages(list(messages)))


def from_openai(originals: Sequence[BaseMessage], sent: list[dict[str, Any]],
                compressed: list[Any]) -> list[BaseMessage]:
    """LangChain messages for ``compressed``: the originals where nothing changed, the
    originals with new content where only content did, else converted from the dict."""
    aligned = len(sent) == len(originals)  # convert_to_openai_messages split nothing
    out: list[BaseMessage] = []
    for i, new in enumerate(compressed):
        if aligned and i < len(sent):
            patched = _patched(originals[i], sent[i], new)
            if patched is not None:
                out.append(patched)
                continue
        out.extend(convert_to_messages([new]))
    return out


def _patched(msg: BaseMessage, old: dict[str, Any], new: Any) -> BaseMessage | None:
    if new is old:
        return msg
    if not isinstance(new, dict) or {k: v for k, v in new.items() if k != "content"} != {
            k: v for k, v in old.items() if k != "content"}:
        return None
    content = _content(msg.content, new.get("content"))
    return None if content is None else msg.model_copy(update={"content": content})


def _content(original: str | list[str | dict[str, Any]], new: Any) -> str | list[str | dict[str, Any]] | None:
    """``new`` in the shape of ``original``; None when the two do not line up."""
    if isinstance(new, str):
        if isinstance(original, str) or all(isinstance(b, str) or b.get("type") == "text" for b in original):
            return new  # text blocks were joined into one string on the way out
        return None
    if isinstance(original, list) and isinstance(new, list) and len(original) == len(new):
        out: list[str | dict[str, Any]] = []
        for block, part in zip(original, new):
            text = part.get("text") if isinstance(part, dict) else None
            if isinstance(block, str) and isinstance(text, str):
                out.append(text)
            elif isinstance(block, dict) and block.get("type") == "text" and isinstance(text, str):
                out.append({**block, "text": text})
            else:
                out.append(block)
        return out
    return None


def strict_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI tool definition as strict mode takes it (``strict`` tools and structured
    output demand it): every property required, the optional ones nullable, no extras."""
    fn = dict(tool["function"])
    params = dict(fn.get("parameters") or {})
    props = dict(params.get("properties") or {})
    required = set(params.get("required") or ())
    for name, schema in props.items():
        if name not in required and isinstance(schema, dict) and isinstance(schema.get("type"), str):
            props[name] = {**schema, "type": [schema["type"], "null"]}
    fn["parameters"] = {**params, "properties": props, "required": list(props), "additionalProperties": False}
    return {**tool, "function": {**fn, "strict": True}}


def tool_calls(reply: AIMessage) -> list[ToolCall]:
    """The loop's view of a reply's tool calls."""
    return [ToolCall(str(c.get("id") or ""), c["name"], c.get("args", {})) for c in reply.tool_calls]


def only_calls(reply: AIMessage, keep: Callable[[str], bool]) -> AIMessage:
    """``reply`` with only the tool calls whose id ``keep`` accepts, in every place a
    provider may have put them (``tool_calls``, raw ``additional_kwargs``, content blocks)."""
    extra = dict(reply.additional_kwargs)
    if isinstance(extra.get("tool_calls"), list):
        extra["tool_calls"] = [c for c in extra["tool_calls"] if keep(str(c.get("id") or ""))]
        if not extra["tool_calls"]:
            del extra["tool_calls"]
    content = reply.content
    if isinstance(content, list):
        content = [b for b in content if not (isinstance(b, dict) and b.get("type") in _CALL_BLOCKS
                                             and not keep(str(b.get("id") or b.get("call_id") or "")))]
    return reply.model_copy(update={
        "tool_calls": [c for c in reply.tool_calls if keep(str(c.get("id") or ""))],
        "invalid_tool_calls": [c for c in reply.invalid_tool_calls if keep(str(c.get("id") or ""))],
        "additional_kwargs": extra, "content": content})


def answer_messages(answers: Sequence[Answer]) -> list[BaseMessage]:
    return [ToolMessage(a.text, tool_call_id=a.call_id, name=a.name, status="error" if a.is_error else "success")
            for a in answers]


def total_usage(replies: Sequence[AIMessage]) -> UsageMetadata | None:
    """The usage of every round, so the caller's message accounts for what it cost."""
    usage: UsageMetadata | None = None
    for reply in replies:
        if reply.usage_metadata:
            usage = reply.usage_metadata if usage is None else add_usage(usage, reply.usage_metadata)
    return usage


def replace_usage(reply: AIMessage, usage: UsageMetadata | None) -> AIMessage:
    return reply if usage is None or usage == reply.usage_metadata else reply.model_copy(
        update={"usage_metadata": usage})


# -- stream chunks ---------------------------------------------------------------------------

def with_tool_deltas(chunk: AIMessageChunk) -> bool:
    """Whether ``chunk`` carries (part of) a tool call."""
    if chunk.tool_call_chunks:
        return True
    content = chunk.content
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") in _CALL_BLOCKS for b in content)


def merge_chunks(chunks: Sequence[AIMessageChunk]) -> AIMessage:
    """The message a round's chunks add up to (tool calls parsed)."""
    if not chunks:
        return AIMessage(content="")
    merged = add_ai_message_chunks(chunks[0], *chunks[1:]) if len(chunks) > 1 else chunks[0]
    message = message_chunk_to_message(merged)
    assert isinstance(message, AIMessage)
    return message


def release_chunks(held: Sequence[AIMessageChunk], drop: Collection[str]) -> list[AIMessageChunk]:
    """``held`` without the deltas of the tool calls whose ids are in ``drop``.

    A call's id comes only on its first delta; later deltas name it by index."""
    if not drop:
        return list(held)
    indexes = {tc.get("index") for ch in held for tc in ch.tool_call_chunks if tc.get("id") in drop}
    out = []
    for chunk in held:
        kept = [tc for tc in chunk.tool_call_chunks
                if tc.get("id") not in drop and (tc.get("index") is None or tc.get("index") not in indexes)]
        content = chunk.content
        if isinstance(content, list):
            content = [b for b in content if not (isinstance(b, dict) and b.get("type") in _CALL_BLOCKS and (
                b.get("id") in drop or (b.get("index") is not None and b.get("index") in indexes)))]
        if len(kept) == len(chunk.tool_call_chunks) and content is chunk.content:
            out.append(chunk)
            continue
        data = chunk.model_dump(exclude={"tool_calls", "invalid_tool_calls", "tool_call_chunks", "content"})
        extra = dict(data.get("additional_kwargs") or {})
        if isinstance(extra.get("tool_calls"), list):
            extra["tool_calls"] = [c for c in extra["tool_calls"] if c.get("index") not in indexes]
        data["additional_kwargs"] = extra
        out.append(AIMessageChunk(content=content, tool_call_chunks=kept, **data))
    return out


def as_chunk(message: BaseMessage) -> AIMessageChunk:
    """A stream item as a chunk: models without streaming yield their whole reply instead."""
    if isinstance(message, AIMessageChunk):
        return message
    if not isinstance(message, AIMessage):
        raise TypeError(f"the wrapped model streamed {type(message).__name__}, not AIMessageChunk")
    calls = [tool_call_chunk(name=c["name"], args=json.dumps(c.get("args", {})), id=c.get("id"), index=i)
             for i, c in enumerate(message.tool_calls)]
    return AIMessageChunk(content=message.content, additional_kwargs=message.additional_kwargs,
                          response_metadata=message.response_metadata, usage_metadata=message.usage_metadata,
                          id=message.id, tool_call_chunks=calls, chunk_position="last")
