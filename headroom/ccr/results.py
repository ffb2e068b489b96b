"""What a ``headroom_retrieve`` call answers, and that answer as a tool result in each format.

Most refs hold text, answered as text. A ref made by the image pass holds the original
image as a ``data:`` URL: Anthropic, Responses and Bedrock Converse take images inside a
tool result, so they get the image back as an image block; OpenAI Chat Completions tool
messages carry text only, so there the answer says what the ref holds instead of pouring
megabytes of base64 into the context as text.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from headroom.ccr.retrieve import answer_call, clean_ref
from headroom.ccr.store import Store
from headroom.formats.base import parse_data_url

__all__ = ["IMAGE_FORMATS", "Answered", "answer", "tool_result", "tool_results"]

#: Formats whose tool results can hold an image.
IMAGE_FORMATS = frozenset({"anthropic", "responses", "bedrock"})

@dataclass(frozen=True)
class Answered:
    """One call's answer: its text, whether it is an error, and the image a ref held."""

    text: str
    is_error: bool = False
    media_type: str | None = None
    data: str | None = None  # base64, when the ref held an image

    @property
    def image(self) -> bool:
        return self.data is not None

    def for_format(self, fmt: str) -> str:
        """The text to send where ``fmt`` cannot carry the image."""
        if not self.image or fmt in IMAGE_FORMATS:
            return self.text
        size = len(self.data or "") * 3 // 4
        return (f"{self.text} It is {self.media_type}, {size:,} bytes, and this API cannot return an image "
                "in a tool result: the downscaled copy in the conversation is what can be shown.")


def answer(arguments: Any, store: Store | None = None) -> Answered:
    """Answer one ``headroom_retrieve`` call's arguments (a dict or its JSON text)."""
    text, is_error = answer_call(arguments, store)
    found = None if is_error or not text.startswith("data:image/") else parse_data_url(text)
    if found is None:
        return Answered(text, is_error)
    ref = clean_ref(str(_arguments(arguments).get("ref", "")))
    return Answered(f"The original image behind ref {ref}.", False, *found)


def tool_result(fmt: str, call_id: str, answered: Answered) -> dict[str, Any]:
    """``answered`` as ``fmt``'s tool result: an Anthropic ``tool_result`` block, an OpenAI
    ``tool`` message, a Responses ``function_call_output`` or a Bedrock ``toolResult`` block."""
    text = answered.for_format(fmt)
    image = answered.image and fmt in IMAGE_FORMATS
    if fmt == "openai":
        return {"role": "tool", "tool_call_id": call_id, "content": text}
    if fmt == "responses":
        output: Any = text
        if image:
            output = [{"type": "input_image", "image_url": f"data:{answered.media_type};base64,{answered.data}"},
                      {"type": "input_text", "text": text}]
        return {"type": "function_call_output", "call_id": call_id, "output": output}
    if fmt == "bedrock":
        content: list[dict[str, Any]] = [{"text": text}]
        if image:
            subtype = str(answered.media_type).split("/")[-1].replace("jpg", "jpeg")
            content.insert(0, {"image": {"format": subtype,
                                         "source": {"bytes": base64.b64decode(answered.data or "")}}})
        result: dict[str, Any] = {"toolUseId": call_id, "content": content}
        if answered.is_error:
            result["status"] = "error"
        return {"toolResult": result}
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": text}
    if image:
        block["content"] = [{"type": "image", "source": {"type": "base64", "media_type": answered.media_type,
                                                         "data": answered.data}},
                            {"type": "text", "text": text}]
    if answered.is_error:
        block["is_error"] = True
    return block


def tool_results(fmt: str, answers: list[tuple[str, Answered]]) -> list[dict[str, Any]]:
    """The messages that answer ``(call_id, answer)`` pairs: tool messages or output items,
    or for Anthropic and Bedrock one user message holding every result block."""
    results = [tool_result(fmt, call_id, a) for call_id, a in answers]
    if fmt in ("anthropic", "bedrock"):
        return [{"role": "user", "content": results}] if results else []
    return results


def _arguments(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return {}
    return arguments if isinstance(arguments, dict) else {}
