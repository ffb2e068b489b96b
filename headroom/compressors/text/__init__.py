"""Prose and Markdown: extractive, question-aware, with marked omissions."""

from headroom.compressors.text.prose import compress, compress_markdown

__all__ = ["compress", "compress_markdown"]
