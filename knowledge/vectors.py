"""The dense store: one Chroma record per example question, embeddings passed in.

Chroma never embeds anything here (its default embedding function would download
a model): every collection is opened with `embedding_function=None` and vectors
come from our own `Embedder`. A fingerprint in the collection's metadata says
which entries, versions and embedder the vectors belong to, so a restart with an
unchanged knowledge base re-embeds nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import chromadb
import numpy as np
from chromadb.config import Settings

from .embedders import Embedder
from .entry import Entry

# Bumped whenever the record layout or the way questions are embedded changes, so
# that an old folder is re-embedded instead of silently searched with stale vectors.
SCHEMA = 1
_EMBED_BATCH = 64  # the engine slows down on very large batches (one huge activation)
_DELETE_BATCH = 500


def entry_fingerprint(entry: Entry) -> str:
    # Only what the vectors depend on: editing an answer must not force re-embedding.
    payload = json.dumps([entry.id, entry.version, entry.example_questions()],
                         ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def forget_folder(path: str | Path) -> None:
    """Drop Chroma's process-wide client for `path`. Chroma keeps one per folder for the life of
    the process, with its database open, even after opening it failed: a folder set aside and
    rebuilt (knowledge.sync.open_synced) must be opened anew, not through the broken one."""
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(path)
    system = SharedSystemClient._identifier_to_system.pop(key, None)
    SharedSystemClient._identifier_to_refcount.pop(key, None)
    if system is not None:
        try:
            system.stop()
        except Exception:  # noqa: BLE001 - a broken system may fail to stop; it is dropped anyway
            pass


def _collection_name(prefix: str, embedder_name: str) -> str:
    # Vectors of different embedders live in different collections, so switching
    # models (and back) never compares vectors from two spaces.
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", f"{prefix}-{embedder_name}")
    return name.strip("-._")[:128]


class Examples(NamedTuple):
    """One entry's stored example questions: a vector per row, and the text it embeds."""

    vectors: np.ndarray
    texts: tuple[str, ...]


class Embedded(NamedTuple):
    """Example questions embedded by `QuestionVectors.embed`, ready for `write`: one
    (entry, lang, index, text) row per vector, and the name of the model that made them."""

    embedder: str
    rows: tuple[tuple[Entry, str, int, str], ...]
    vectors: np.ndarray


class QuestionVectors:
    """Example-question vectors of entries in a Chroma PersistentClient folder."""

    def __init__(self, path: str | Path, embedder: Embedder, collection: str = "knowledge", *,
                 languages: Collection[str] | None = None) -> None:
        """`languages`: store only example questions in these (None: all), for a model that
        understands only some of them."""
        self.embedder = embedder
        self.languages = None if languages is None else frozenset(languages)
        Path(path).mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False))
        self._name = _collection_name(collection, embedder.name)
        self._collection = self._open()

    def _open(self):
        # embedding_function=None on every open: left unset, Chroma attaches its
        # default function, which downloads a model the first time it is used.
        return self._client.get_or_create_collection(
            self._name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})

    def drop(self) -> None:
        self._client.delete_collection(self._name)
        self._collection = self._open()

    def fingerprint_of(self, fingerprints: dict[str, str]) -> str:
        """The whole store's fingerprint for these per-entry fingerprints."""
        parts = [f"schema={SCHEMA}", f"embedder={self.embedder.name}", f"dim={self.embedder.dim}"]
        if self.languages is not None:
            parts.append(f"languages={','.join(sorted(self.languages))}")
        parts += sorted(f"{k}={v}" for k, v in fingerprints.items())
        return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()

    def matches(self, fingerprints: dict[str, str], records: int) -> bool:
        meta = self._collection.metadata or {}
        return (meta.get("fingerprint") == self.fingerprint_of(fingerprints)
                and self._collection.count() == records)

    def mark(self, fingerprints: dict[str, str]) -> None:
        self._collection.modify(metadata={
            "fingerprint": self.fingerprint_of(fingerprints), "embedder": self.embedder.name,
            "dim": self.embedder.dim, "schema": SCHEMA})

    def sync(self, entries: Sequence[Entry]) -> tuple[int, int]:
        """Store exactly `entries`, embedding only what changed: (embedded, removed)."""
        wanted = {e.id: entry_fingerprint(e) for e in entries}
        expected = {e.id: len(self.rows(e)) for e in entries}
        stored: dict[str, str] = {}
        counts: dict[str, int] = {}
        for meta in self._collection.get(include=["metadatas"])["metadatas"] or []:
            key = str(meta["entry_id"])
            stored[key] = str(meta.get("entry_fp", ""))
            counts[key] = counts.get(key, 0) + 1
        # Stale: removed, changed, or with too few rows (a build interrupted mid-entry).
        stale = sorted(k for k, fp in stored.items()
                       if wanted.get(k) != fp or counts[k] != expected.get(k))
        for start in range(0, len(stale), _DELETE_BATCH):
            self._collection.delete(where={"entry_id": {"$in": stale[start:start + _DELETE_BATCH]}})
        fresh = [e for e in entries if e.id in stale or e.id not in stored]
        return self.add(fresh), len(stale)

    def rows(self, entry: Entry) -> list[tuple[str, int, str]]:
        """(lang, index, text) of the entry's example questions this store holds."""
        return [row for row in entry.example_questions() if self.languages is None or row[0] in self.languages]

    def embed(self, entries: Iterable[Entry]) -> Embedded:
        """The entries' example questions (those this store holds) with their vectors, not yet
        stored: the model runs here, so a caller can embed without holding any lock and `write`
        the result later (`KnowledgeIndex.upsert`)."""
        rows = [(e, lang, i, q) for e in entries for lang, i, q in self.rows(e)]
        if not rows:
            return Embedded(self.embedder.name, (), np.zeros((0, self.embedder.dim), np.float32))
        # Stored questions are embedded as *queries*: matching a question to a
        # question is the symmetric case, for which e5 wants one prefix on both sides.
        texts = [q for *_, q in rows]
        vectors = np.concatenate([self.embedder.embed_queries(texts[s:s + _EMBED_BATCH])
                                  for s in range(0, len(texts), _EMBED_BATCH)])
        return Embedded(self.embedder.name, tuple(rows), vectors)

    def write(self, embedded: Embedded) -> int:
        """Store rows made by `embed` (runs no model); returns how many."""
        if embedded.embedder != self.embedder.name:
            # Vectors of another model live in another space: mixed in, they would be searched
            # as if comparable and match nothing reliably.
            raise ValueError(f"vectors made by {embedded.embedder!r} cannot be stored with {self.embedder.name!r}")
        if embedded.vectors.shape != (len(embedded.rows), self.embedder.dim):
            raise ValueError(f"{len(embedded.rows)} rows of dimension {self.embedder.dim} expected, "
                             f"vectors of shape {embedded.vectors.shape} given")
        rows, vectors = embedded.rows, embedded.vectors
        batch = max(1, min(1000, self._client.get_max_batch_size()))
        for start in range(0, len(rows), batch):
            part = rows[start:start + batch]
            self._collection.add(
                ids=[f"{e.id}:{lang}:{i}" for e, lang, i, _ in part],
                embeddings=vectors[start:start + batch],
                documents=[q for *_, q in part],
                metadatas=[{"entry_id": e.id, "lang": lang, "version": e.version,
                            "entry_fp": entry_fingerprint(e)} for e, lang, i, _ in part])
        return len(rows)

    def add(self, entries: Iterable[Entry]) -> int:
        """Embed and store the entries' example questions; returns how many."""
        return self.write(self.embed(entries))

    def delete(self, entry_id: str) -> None:
        self._collection.delete(where={"entry_id": entry_id})

    def examples(self, entry_id: str | None = None) -> dict[str, Examples]:
        """Each entry's stored question vectors and texts (or one entry's), one row per question.

        Rows come in record-id order, whatever order Chroma returns them in, so
        sums over them do not depend on how the collection was filled.
        """
        got = self._collection.get(where={"entry_id": entry_id} if entry_id else None,
                                   include=["embeddings", "metadatas", "documents"])
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        rows: dict[str, list[tuple[str, np.ndarray, str]]] = {}
        for rid, vec, meta, doc in zip(got["ids"], vectors, got["metadatas"] or [],
                                       got["documents"] or [], strict=True):
            rows.setdefault(str(meta["entry_id"]), []).append(
                (rid, np.asarray(vec, dtype=np.float32), doc or ""))
        out = {}
        for key, found in rows.items():
            found.sort(key=lambda row: row[0])
            out[key] = Examples(np.stack([v for _, v, _ in found]), tuple(t for *_, t in found))
        return out

    def nearest(self, query: np.ndarray, n: int) -> dict[str, tuple[float, str]]:
        """entry id -> (cosine of its closest example among the `n` nearest, that example).

        Chroma's own approximate (HNSW) search; `KnowledgeIndex` searches its in-memory
        copy of the vectors exactly instead, and tests use this as an independent check.
        """
        if n <= 0:
            return {}
        res = self._collection.query(query_embeddings=[query], n_results=n,
                                     include=["distances", "metadatas", "documents"])
        best: dict[str, tuple[float, str]] = {}
        for dist, meta, doc in zip(res["distances"][0], res["metadatas"][0], res["documents"][0],
                                   strict=True):
            key, sim = str(meta["entry_id"]), 1.0 - float(dist)
            if key not in best or sim > best[key][0]:
                best[key] = (sim, doc or "")
        return best
