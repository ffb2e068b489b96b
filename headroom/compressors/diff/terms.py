"""Finding words in many pieces of a diff at once: one ``str.find`` scan per word over the
pieces joined, then a bisection per match to say which piece it is in. The cost grows with
the text and the matches, not with pieces times words, and no piece is tokenized."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from headroom.compressors.query import inflected_positions, term_positions

__all__ = ["counts", "locate", "not_project"]


def locate(texts: list[str], found: dict[str, list[int]]) -> dict[str, list[int]]:
    """Which of ``texts`` each offset in ``found`` (per word, into the texts joined by one
    separator character) falls in."""
    starts: list[int] = []
    at = 0
    for t in texts:
        starts.append(at)
        at += len(t) + 1
    return {w: [bisect_right(starts, off) - 1 for off in offsets] for w, offsets in found.items()}


def counts(texts: list[str], words: Iterable[str]) -> list[dict[str, int]]:
    """How often each of ``words`` (or an inflection: ``chunked`` finds ``ChunkedReader``
    and ``chunks``) occurs in each of ``texts``, for BM25."""
    out: list[dict[str, int]] = [{} for _ in texts]
    for word, where in locate(texts, inflected_positions("\0".join(texts), words)).items():
        for k in where:
            c = out[k]
            c[word] = c.get(word, 0) + 1
    return out


def not_project(words: list[str], paths: list[str]) -> list[str]:
    """``words`` without those in more than a third of the diff's paths (the project's
    name: ``multipart`` in ``python-multipart``, whose files all sit in ``multipart/``)."""
    in_paths = locate(paths, term_positions("\0".join(paths), words))
    return [w for w in words if len(set(in_paths[w])) * 3 <= len(paths)]
