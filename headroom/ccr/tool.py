"""The ``headroom_retrieve`` tool a model calls to get omitted content back."""

from __future__ import annotations

from typing import Any

TOOL_NAME = "headroom_retrieve"
_DESCRIPTION = ("Get back content that a [… · headroom_retrieve ref=…] marker replaced. "
                "Pass the marker's ref; optionally a query to get only matching rows/lines.")
_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ref": {"type": "string", "description": "The ref from the marker."},
        "query": {"type": "string", "description": "Optional: only rows/lines matching this."},
    },
    "required": ["ref"],
}


def tool_definition(fmt: str) -> dict[str, Any]:
    """The tool definition in the request's format (``openai``, ``anthropic``, ``responses``,
    ``bedrock``: an entry of the Converse ``toolConfig.tools`` list)."""
    if fmt == "bedrock":
        return {"toolSpec": {"name": TOOL_NAME, "description": _DESCRIPTION, "inputSchema": {"json": _PARAMETERS}}}
    if fmt == "anthropic":
        return {"name": TOOL_NAME, "description": _DESCRIPTION, "input_schema": _PARAMETERS}
    if fmt == "responses":
        return {"type": "function", "name": TOOL_NAME, "description": _DESCRIPTION, "parameters": _PARAMETERS}
    return {"type": "function",
            "function": {"name": TOOL_NAME, "description": _DESCRIPTION, "parameters": _PARAMETERS}}
