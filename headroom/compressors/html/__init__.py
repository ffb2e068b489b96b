"""HTML pages reduced to their readable text (headings, paragraphs, lists, tables)."""

from headroom.compressors.html.page import compress

__all__ = ["compress"]
