"""Unified diffs: every header and changed line stays; context, lock files and renames fold."""

from headroom.compressors.diff.unified import compress

__all__ = ["compress"]
