"""``Memory``: notes that outlive a conversation, in one SQLite file with an FTS5 index.

Adding the identical text again in the same scope (and scope id) updates the existing
memory instead of duplicating it. Expired memories are never returned and are deleted
by the next write. See :mod:`headroom.memory.db` for where the file lives.
"""

from __future__ import annotations

import builtins
import enum
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from headroom.memory.db import Database, resolve_path
from headroom.memory.embed import Embedder, cosine, load_default_embedder, pack, unpack
from headroom.memory.entry import (
    MemoryEntry,
    check_scope,
    check_scope_id,
    check_source,
    check_tags,
    check_text,
    text_key,
)
from headroom.memory.search import Ranking, fts_query, rank

__all__ = ["KEEP", "Memory"]

log = logging.getLogger("headroom")

_COLUMNS = "n, id, scope, scope_id, text, tags, source, created, updated, expires"
_CANDIDATES = 200  # FTS / semantic candidates ranked per search
_SEMANTIC_ROWS = 20000  # newest rows compared by cosine in one search


class _Keep(enum.Enum):
    KEEP = "keep"


#: Pass to :meth:`Memory.update` to leave a field as it is (the default).
KEEP = _Keep.KEEP


def _check_ttl(ttl: Any) -> float | None:
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0 or ttl == float("inf"):
        raise ValueError(f"ttl must be a positive number of seconds (or None for no expiry), got {ttl!r}")
    return float(ttl)


def _check_query(query: Any) -> str:
    if not isinstance(query, str):
        raise ValueError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise ValueError("query is empty; pass words to search for (or use list() to see memories)")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("query is not valid Unicode text (it contains a lone surrogate)") from None
    return query


def _check_limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit!r}")
    return limit


def _entry(row: Sequence[Any], score: float | None = None) -> MemoryEntry:
    _, ident, scope, scope_id, text, tags, source, created, updated, expires = row
    return MemoryEntry(ident, text, scope, scope_id or None, tuple(json.loads(tags)), json.loads(source),
                       created, updated, expires, score)


class Memory:
    """Memories in a SQLite file (``path``: a file, ``sqlite:///path``, or None for the default).

    ``embedder`` is ``"auto"`` (a local sentence-transformers model when one is installed
    and cached, else FTS5 only, logged once), ``None`` (FTS5 only), or any
    :class:`~headroom.memory.embed.Embedder`. ``clock`` is injectable for tests.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, embedder: Embedder | str | None = "auto",
                 ranking: Ranking | None = None, busy_timeout: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        if isinstance(embedder, str) and embedder != "auto":
            raise ValueError(f"embedder must be 'auto', None or an Embedder, got {embedder!r}")
        self.path = resolve_path(path)
        self.ranking = ranking or Ranking()
        self.clock = clock
        self._embedder_arg = embedder
        self._embedder: Embedder | None = None
        self._db = Database(self.path, busy_timeout)
        with self._db.read():  # open now so a bad path fails here, not on first add
            pass

    # -- writing ----------------------------------------------------------------------

    def add(self, text: str | bytes, *, scope: str = "user", scope_id: str | None = None,
            tags: Iterable[str] | None = None, source: Any = None, ttl: float | None = None) -> MemoryEntry:
        """Remember ``text``; the identical text in the same scope updates that memory instead
        (its tags merged in, ``source`` and ``ttl`` replaced when given)."""
        return self.add_many([{"text": text, "scope": scope, "scope_id": scope_id, "tags": tags,
                               "source": source, "ttl": ttl}])[0]

    def add_many(self, items: Iterable[str | Mapping[str, Any]]) -> builtins.list[MemoryEntry]:
        """:meth:`add` each item (a text, or a dict of ``add``'s arguments) in ONE transaction."""
        checked = []
        for item in items:
            spec: Mapping[str, Any] = {"text": item} if isinstance(item, (str, bytes)) else item
            unknown = set(spec) - {"text", "scope", "scope_id", "tags", "source", "ttl"}
            if unknown:
                raise ValueError(f"unknown memory field(s) {', '.join(sorted(unknown))}")
            checked.append((check_text(spec.get("text")), check_scope(spec.get("scope") or "user"),
                            check_scope_id(spec.get("scope_id")), check_tags(spec.get("tags")),
                            check_source(spec.get("source")), _check_ttl(spec.get("ttl"))))
        vectors = self._embed([c[0] for c in checked])
        out: builtins.list[MemoryEntry] = []
        with self._db.write() as conn:
            now = float(self.clock())
            self._purge(conn, now)
            for k, (text, scope, scope_id, tags, source, ttl) in enumerate(checked):
                key = text_key(text)
                expires = None if ttl is None else now + ttl
                row = conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE scope = ? AND scope_id = ? AND text_key = ?",
                                   (scope, scope_id or "", key)).fetchone()
                if row is not None:
                    old = _entry(row)
                    merged = tuple(dict.fromkeys(old.tags + tags))
                    conn.execute("UPDATE memories SET tags = ?, source = ?, updated = ?, expires = ? WHERE n = ?",
                                 (json.dumps(list(merged), ensure_ascii=False),
                                  json.dumps(old.source if source is None else source, ensure_ascii=False),
                                  now, old.expires if ttl is None else expires, row[0]))
                    out.append(_entry(conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE n = ?",
                                                   (row[0],)).fetchone()))
                    continue
                entry = MemoryEntry("m" + secrets.token_hex(8), text, scope, scope_id, tags, source, now, now, expires)
                self._insert(conn, entry, vectors[k] if vectors else None)
                out.append(entry)
        return out

    def update(self, id: str, *, text: str | bytes | None = None, tags: Iterable[str] | None = None,
               source: Any = KEEP, ttl: float | _Keep | None = KEEP) -> MemoryEntry:
        """Change a memory's text, tags (replaced), source or ttl (None: never expires)."""
        new_text = None if text is None else check_text(text)
        new_tags = None if tags is None else check_tags(tags)
        new_source = KEEP if source is KEEP else check_source(source)
        new_ttl = KEEP if ttl is KEEP else _check_ttl(ttl)
        vectors = self._embed([new_text]) if new_text is not None else None
        with self._db.write() as conn:
            now = float(self.clock())
            self._purge(conn, now)
            row = conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE id = ?", (id,)).fetchone()
            if row is None:
                raise KeyError(f"no memory with id {id!r} (it may have expired or been forgotten)")
            old = _entry(row)
            sets: dict[str, Any] = {"updated": now}
            if new_text is not None and new_text != old.text:
                key = text_key(new_text)
                other = conn.execute("SELECT id FROM memories WHERE scope = ? AND scope_id = ? AND text_key = ?",
                                     (old.scope, old.scope_id or "", key)).fetchone()
                if other is not None:
                    raise ValueError(f"memory {other[0]} in the same scope already has this text; "
                                     f"forget one of {id} and {other[0]}")
                sets.update(text=new_text, text_key=key, model=None, embedding=None)
                if vectors:
                    sets.update(model=self._embedder.name if self._embedder else None, embedding=vectors[0])
            if new_tags is not None:
                sets["tags"] = json.dumps(list(new_tags), ensure_ascii=False)
            if new_source is not KEEP:
                sets["source"] = json.dumps(new_source, ensure_ascii=False)
            if new_ttl is not KEEP:
                sets["expires"] = None if new_ttl is None else now + new_ttl
            assignments = ", ".join(f"{name} = ?" for name in sets)
            conn.execute(f"UPDATE memories SET {assignments} WHERE n = ?", (*sets.values(), row[0]))
            return _entry(conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE n = ?", (row[0],)).fetchone())

    def forget(self, id: str | None = None, *, scope: str | None = None, scope_id: str | None = None,
               tags: Iterable[str] | None = None) -> int:
        """Delete the memory ``id``, or every memory matching the filters; how many went.
        With no id and no filter at all it refuses (use ``forget(scope=...)`` per scope)."""
        if id is None and scope is None and scope_id is None and not tags:
            raise ValueError("forget needs an id or a filter (scope, scope_id or tags)")
        with self._db.write() as conn:
            now = float(self.clock())
            self._purge(conn, now)
            where, params = self._where(scope, scope_id, tags, now)
            if id is not None:
                where, params = where + " AND id = ?", [*params, id]
            return int(conn.execute(f"DELETE FROM memories WHERE {where}", params).rowcount)

    def import_jsonl(self, source: str | os.PathLike[str] | IO[str]) -> int:
        """Load memories written by :meth:`export_jsonl` (one transaction), replacing any memory
        with the same id or the same text in the same scope; how many were loaded."""
        if isinstance(source, (str, os.PathLike)):
            with open(source, encoding="utf-8") as handle:
                lines = handle.read().split("\n")
        else:
            lines = source.read().split("\n")  # not splitlines(): U+2028 / U+0085 may sit inside a string
        entries = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entries.append(MemoryEntry.from_dict(json.loads(line)))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError too
                raise ValueError(f"line {number}: {exc}") from None
        vectors = self._embed([e.text for e in entries])
        with self._db.write() as conn:
            for k, entry in enumerate(entries):
                conn.execute("DELETE FROM memories WHERE id = ? OR (scope = ? AND scope_id = ? AND text_key = ?)",
                             (entry.id, entry.scope, entry.scope_id or "", text_key(entry.text)))
                self._insert(conn, entry, vectors[k] if vectors else None)
            self._purge(conn, self.clock())
        return len(entries)

    # -- reading ----------------------------------------------------------------------

    def get(self, id: str) -> MemoryEntry | None:
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE id = ? AND (expires IS NULL OR expires > ?)",
                               (id, self.clock())).fetchone()
        return None if row is None else _entry(row)

    def list(self, *, scope: str | None = None, scope_id: str | None = None, tags: Iterable[str] | None = None,
             limit: int | None = None, offset: int = 0) -> builtins.list[MemoryEntry]:
        """Live memories matching the filters, most recently updated first."""
        where, params = self._where(scope, scope_id, tags, self.clock())
        page = f" LIMIT {_check_limit(limit)} OFFSET {max(0, int(offset))}" if limit is not None else ""
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE {where} ORDER BY updated DESC, n DESC{page}",
                                params).fetchall()
        return [_entry(row) for row in rows]

    def search(self, query: str, *, scope: str | None = None, scope_id: str | None = None,
               tags: Iterable[str] | None = None, limit: int = 5) -> builtins.list[MemoryEntry]:
        """The best ``limit`` memories for ``query`` (its words searched literally), each with a
        ``score`` in [0, 1] mixing BM25 (and cosine, with an embedder) with recency."""
        query, limit = _check_query(query), _check_limit(limit)
        embedder = self.embedder
        qvec = self._embed([query]) if embedder is not None else None
        now = float(self.clock())
        where, params = self._where(scope, scope_id, tags, now, alias="m")
        expression = fts_query(query)
        bm25: dict[int, float] = {}
        cosines: dict[int, float] | None = None
        cap = max(_CANDIDATES, limit * 4)  # recency can lift a weaker match over stronger ones
        with self._db.read() as conn:
            if expression is not None:
                for n, score in conn.execute(
                        "SELECT m.n, bm25(memories_fts, 1.0, 0.5) AS s FROM memories_fts JOIN memories m"
                        f" ON m.n = memories_fts.rowid WHERE memories_fts MATCH ? AND {where} ORDER BY s LIMIT ?",
                        [expression, *params, cap]):
                    bm25[n] = score
            if qvec and embedder is not None:
                target = unpack(qvec[0])
                sims = []
                for n, blob in conn.execute(f"SELECT m.n, m.embedding FROM memories m WHERE m.model = ? AND {where}"
                                            " ORDER BY m.updated DESC LIMIT ?",
                                            [embedder.name, *params, _SEMANTIC_ROWS]):
                    sims.append((cosine(target, unpack(blob)), n))
                sims.sort(reverse=True)
                cosines = {n: sim for sim, n in sims[:cap] if sim >= self.ranking.semantic_floor}
            candidates = list(dict.fromkeys([*bm25, *(cosines or {})]))
            rows = {}
            for i in range(0, len(candidates), 500):
                chunk = candidates[i:i + 500]
                for row in conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE n IN ({','.join('?' * len(chunk))})",
                                        chunk):
                    rows[row[0]] = row
        ages = {n: now - row[8] for n, row in rows.items()}
        scores = rank(list(rows), bm25, cosines, ages, self.ranking)
        best = sorted(rows, key=lambda n: (-scores[n], -rows[n][8], -n))[:limit]
        return [_entry(rows[n], round(scores[n], 6)) for n in best]

    def export_jsonl(self, dest: str | os.PathLike[str] | IO[str]) -> int:
        """Write every live memory as one JSON object per line (oldest first); how many."""
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE expires IS NULL OR expires > ? ORDER BY n",
                                (self.clock(),)).fetchall()
        lines = [json.dumps(_entry(row).to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for row in rows]
        if isinstance(dest, (str, os.PathLike)):
            Path(dest).write_text("".join(lines), encoding="utf-8")
        else:
            dest.writelines(lines)
        return len(lines)

    def __len__(self) -> int:
        with self._db.read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM memories WHERE expires IS NULL OR expires > ?",
                                    (self.clock(),)).fetchone()[0])

    # -- plumbing ---------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder | None:
        """The embedder in use (``"auto"`` is resolved on first use)."""
        if self._embedder_arg == "auto":
            self._embedder_arg = load_default_embedder()
        self._embedder = None if isinstance(self._embedder_arg, str) else self._embedder_arg
        return self._embedder

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Memory({self.path!r})"

    def _embed(self, texts: builtins.list[str]) -> builtins.list[bytes] | None:
        """Packed vectors for ``texts``, or None without an embedder (or when it fails)."""
        embedder = self.embedder
        if embedder is None or not texts:
            return None
        try:
            vectors = list(embedder.embed(texts))
            if len(vectors) != len(texts):
                raise ValueError(f"{len(vectors)} vectors for {len(texts)} texts")
            return [pack(v) for v in vectors]
        except Exception as exc:  # semantic search is optional: a broken embedder must not lose a memory
            log.warning("headroom memory: embedder %s failed (%s); continuing without vectors",
                        getattr(embedder, "name", embedder), exc)
            return None

    def _insert(self, conn: Any, entry: MemoryEntry, vector: bytes | None) -> None:
        model = self._embedder.name if vector is not None and self._embedder is not None else None
        conn.execute("INSERT INTO memories (id, scope, scope_id, text, text_key, tags, source, created, updated,"
                     " expires, model, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (entry.id, entry.scope, entry.scope_id or "", entry.text, text_key(entry.text),
                      json.dumps(list(entry.tags), ensure_ascii=False), json.dumps(entry.source, ensure_ascii=False),
                      entry.created, entry.updated, entry.expires, model, vector))

    @staticmethod
    def _purge(conn: Any, now: float) -> None:
        conn.execute("DELETE FROM memories WHERE expires IS NOT NULL AND expires <= ?", (now,))

    @staticmethod
    def _where(scope: str | None, scope_id: str | None, tags: Iterable[str] | None, now: float,
               alias: str = "memories") -> tuple[str, builtins.list[Any]]:
        """SQL conditions for live memories in ``scope``/``scope_id`` carrying ALL of ``tags``."""
        clauses = [f"({alias}.expires IS NULL OR {alias}.expires > ?)"]
        params: builtins.list[Any] = [now]
        if scope is not None:
            clauses.append(f"{alias}.scope = ?")
            params.append(check_scope(scope))
        if scope_id is not None:
            clauses.append(f"{alias}.scope_id = ?")
            params.append(check_scope_id(scope_id) or "")
        for tag in check_tags(tags):
            clauses.append(f"EXISTS (SELECT 1 FROM json_each({alias}.tags) WHERE value = ?)")
            params.append(tag)
        return " AND ".join(clauses), params
