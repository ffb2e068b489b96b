"""Where the user turns and the tool rounds of a conversation are, in every provider format.

A *round* is one model turn that calls tools plus the results answering it. OpenAI Chat:
an assistant message with ``tool_calls`` and the ``role: tool`` messages after it.
Anthropic: an assistant message with ``tool_use`` blocks and the next user message's
``tool_result`` blocks (Bedrock: ``toolUse`` and ``toolResult`` blocks). Responses: the
``function_call`` items (with the reasoning and message items the model sent beside them)
and their ``function_call_output`` items.

A *checkpoint* is a point where a client could have sent the conversation so far: right
after a user turn, or after the last result of a round. Budget fitting replays them in
order, so an agent loop that grows one round per request is cut the same way in every
request that contains the same rounds.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["Kind", "checkpoints", "last_user_turn", "message_kind", "round_start"]

#: ``user``: a genuine user turn; ``system``: a system or developer message; ``result``: a
#: message that carries tool results; ``model``: anything the model wrote (or unknown).
Kind = Literal["user", "system", "result", "model"]


def message_kind(msg: Any, fmt: str) -> Kind:
    if not isinstance(msg, dict):
        return "model"
    if fmt == "responses":
        kind = str(msg.get("type", "message"))
        if kind.endswith("_call_output"):  # function_call_output, custom_tool_call_output, ...
            return "result"
        if kind != "message":
            return "model"
    role = msg.get("role")
    if role in ("system", "developer"):
        return "system"
    if role in ("tool", "function"):
        return "result"
    if role != "user":
        return "model"
    content = msg.get("content")
    if fmt == "anthropic" and isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
        return "result"
    if fmt == "bedrock" and isinstance(content, list) and any(
            isinstance(b, dict) and "toolResult" in b for b in content):
        return "result"
    return "user"


def last_user_turn(messages: list[Any], fmt: str) -> int:
    """Index of the last genuine user turn (not an Anthropic tool-result message); ``len``
    when there is none."""
    for i in range(len(messages) - 1, -1, -1):
        if message_kind(messages[i], fmt) == "user":
            return i
    return len(messages)


def checkpoints(kinds: list[Kind]) -> list[int]:
    """Ends (exclusive) of every prefix a client could have sent: after a user turn, or
    after a round whose results are all in (the next message is not one more result).
    The whole conversation is always the last one."""
    n = len(kinds)
    ends = [e for e in range(1, n) if kinds[e - 1] in ("user", "result") and kinds[e] != "result"]
    return [*ends, n] if n else []


def round_start(kinds: list[Kind], end: int) -> int:
    """Where the newest round of ``messages[:end]`` starts: its model messages, then its
    results, then anything the model sent after them (a final text, a prefill). A prefix
    that ends in a user turn has no round: the index after that turn."""
    i = end - 1
    while i >= 0 and kinds[i] == "model":
        i -= 1
    if i < 0 or kinds[i] != "result":
        return i + 1
    while i >= 0 and kinds[i] == "result":
        i -= 1
    while i >= 0 and kinds[i] == "model":
        i -= 1
    return i + 1
