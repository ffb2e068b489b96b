"""The MCP server: :class:`~headroom.mcp.tools.Session`'s tools registered with the official SDK.

Imported only by ``headroom mcp`` (the SDK is the ``[mcp]`` extra). Tools are sync
functions: the SDK runs them on a worker thread, so compressing a large output does not
block the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from headroom import __version__
from headroom.mcp.tools import KINDS, CompressOutput, Session, ToolFailure

__all__ = ["build_server", "run"]

Transport = Literal["stdio", "http"]

_INSTRUCTIONS = (
    "Headroom shrinks large tool outputs (logs, JSON, search hits, diffs, code, tables) before you read "
    "them. Call headroom_compress on a big output; what it drops is kept behind markers like "
    "'[… headroom_retrieve ref=3f9a1c0b7d2e]'. Call headroom_retrieve with that ref (and a query to get only "
    "matching lines or rows) when you need the dropped part.")

_COMPRESS = (
    "Compress a large tool output (log, JSON, CSV, search results, diff, code, text) to far fewer tokens, "
    "keeping what matters (errors, anomalies, lines relevant to the question). Dropped parts are replaced by "
    "markers '[… headroom_retrieve ref=<ref>]'; pass a ref to headroom_retrieve to get them back. Returns "
    "text (the compressed output), refs, tokens_before, tokens_after, kind (as detected), strategy, note.")
_RETRIEVE = (
    "Get back content that headroom_compress (or a Headroom-compressed conversation) dropped, by the ref in "
    "its '[… headroom_retrieve ref=<ref>]' marker. Without a query: the whole original. With a query: only "
    "the matching lines (text, logs) or rows (JSON arrays). Query: words that must all occur "
    "(case-insensitive), and/or field conditions such as status=500, level!=INFO, latency_ms>250, "
    "user.id=42, name=foo*.")
_STATS = ("Totals for this Headroom server since it started: compress calls (requests), tokens_before, "
          "tokens_after, tokens_saved, retrievals, errors, and the recent calls.")


def build_server(session: Session) -> MCPServer[Any]:
    """An MCPServer with ``headroom_compress``, ``headroom_retrieve`` and ``headroom_stats``."""
    server: MCPServer[Any] = MCPServer("headroom", version=__version__, instructions=_INSTRUCTIONS)

    @server.tool(name="headroom_compress", description=_COMPRESS,
                 annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True))
    def headroom_compress(
        content: Annotated[str, Field(description="The tool output to compress, verbatim.")],
        question: Annotated[str | None, Field(
            description="What the output was fetched for; lines relevant to it are kept.")] = None,
        kind: Annotated[str | None, Field(
            description=f"Optional hint of the content kind, one of: {', '.join(KINDS)}. The kind is detected "
                        "from the content; a hint that disagrees is reported in 'note', not forced.")] = None,
    ) -> CompressOutput:
        try:
            return session.compress(content, question, kind)
        except ToolFailure as exc:
            raise ToolError(str(exc)) from None

    @server.tool(name="headroom_retrieve", description=_RETRIEVE,
                 annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
    def headroom_retrieve(
        ref: Annotated[str, Field(description="The ref from a marker, e.g. '3f9a1c0b7d2e' (the whole marker works).")],
        query: Annotated[str | None, Field(
            description="Only lines/rows matching this, e.g. 'ERROR timeout' or 'status>=500'.")] = None,
    ) -> str | list[TextContent | ImageContent]:
        try:
            got = session.retrieve(ref, query)
        except ToolFailure as exc:
            raise ToolError(str(exc)) from None
        if not got.image:
            return got.text
        return [ImageContent(type="image", data=str(got.data), mime_type=str(got.media_type)),
                TextContent(type="text", text=got.text)]

    @server.tool(name="headroom_stats", description=_STATS,
                 annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True))
    def headroom_stats() -> dict[str, Any]:
        return session.totals()

    return server


def run(session: Session, transport: Transport = "stdio", host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until stopped: stdio, or Streamable HTTP at ``http://host:port/mcp``."""
    server = build_server(session)
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port, streamable_http_path="/mcp")
