"""``headroom mcp``: Headroom's compress/retrieve/stats as MCP tools (stdio or Streamable HTTP).

The server is a thin adapter over the engine: :mod:`headroom.mcp.tools` holds the tool
logic without any SDK import, :mod:`headroom.mcp.server` registers it with the official
``mcp`` SDK (``pip install 'headroom[mcp]'``), imported only when the server is built.
"""

from __future__ import annotations

from headroom.mcp.tools import Session, ToolFailure

__all__ = ["Session", "ToolFailure"]
