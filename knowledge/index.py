"""The searchable knowledge index: meaning from embeddings, sound from pinyin.

Each entry is scored three ways and the scores fused (see `knowledge.scoring`):
its closest example question (a Chroma record per example, so a short colloquial
question such as "卡丢了咋办" lands on the way customers were seen to ask it), the
mean of all its examples (a prototype, steadier for paraphrases no single example
covers), and BM25 on toneless pinyin. Before any of that, a homophone corrector
built from the KB's own words turns Whisper's sound-alike misspellings (鱼鹅) back
into the KB's words (余额), so the embedding sees what the customer said. Only the
vectors persist; everything else is rebuilt in memory from the entries.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from .embedders import Embedder
from .entry import Entry
from .homophones import HomophoneCorrector
from .lexical import LexicalIndex
from .scoring import DEFAULT_PARAMS, ScoringParams
from .terms import prompt_terms
from .vectors import QuestionVectors, entry_fingerprint

_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Candidate:
    entry: Entry
    score: float       # fused score (higher is better; comparable within one index)
    confidence: float  # in [0, 1]; compare with a threshold to answer or hand off
    matched: str       # the example question that matched best


@dataclass(frozen=True)
class BuildReport:
    reused: bool   # True when the stored collection already matched: nothing embedded
    embedded: int  # example questions embedded in this build
    removed: int   # entries whose stored vectors were deleted
    entries: int   # entries in the index after the build


def _zh_texts(entries: Iterable[Entry]) -> list[str]:
    return [t for e in entries for t in (*e.questions.get("zh", ()), e.answer.get("zh", "")) if t]


def _questions(entry: Entry) -> list[str]:
    return [q for _, _, q in entry.example_questions()]


class KnowledgeIndex:
    """Entries searchable by meaning (embeddings) and by sound (pinyin).

    `path` is a Chroma PersistentClient folder; call `build(entries)` after opening:
    it reuses the stored vectors when they already match. Keyword arguments
    override the fitted defaults of `ScoringParams` (meaning and values documented
    there): centroid_weight, lexical_weight, bias, score_slope, margin_slope and
    english_shift. `dense_pool` (60) is how many nearest example questions are
    fetched from Chroma per search.
    """

    def __init__(self, path: str | Path, embedder: Embedder, *, collection: str = "knowledge",
                 dense_pool: int = 60, **params: float) -> None:
        unknown = sorted(set(params) - {f.name for f in fields(ScoringParams)})
        if unknown:
            raise TypeError(f"unknown scoring parameter(s): {', '.join(unknown)}")
        self.params = ScoringParams(**{**DEFAULT_PARAMS.__dict__, **params})
        self.embedder = embedder
        self.dense_pool = dense_pool
        self.path = Path(path)
        self._vectors = QuestionVectors(self.path, embedder, collection)
        self._lock = threading.RLock()
        self._entries: dict[str, Entry] = {}
        self._fingerprints: dict[str, str] = {}
        self._centroids: dict[str, np.ndarray] = {}
        self._matrix: tuple[list[str], np.ndarray] | None = None  # stacked centroids, cached
        self._lexical = LexicalIndex()
        self._corrector = HomophoneCorrector()
        self._records = 0

    # ----------------------------------------------------------------- changing

    def build(self, entries: Iterable[Entry], *, force: bool = False) -> BuildReport:
        """Make the index hold exactly `entries`.

        Cheap when nothing changed: if the stored collection's fingerprint (entry
        ids, versions, example questions, embedder, schema) matches, no vector is
        computed. Otherwise only new or changed entries are embedded. `force`
        drops the collection and embeds everything from scratch.
        """
        entries = list(entries)
        ids = [e.id for e in entries]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate entry ids: {', '.join(twice)}")
        with self._lock:
            if force:
                self._vectors.drop()
            self._entries = {e.id: e for e in entries}
            self._fingerprints = {e.id: entry_fingerprint(e) for e in entries}
            self._records = sum(len(e.example_questions()) for e in entries)
            self._lexical = LexicalIndex()
            for e in entries:
                self._lexical.set_documents(e.id, _questions(e))
            self._corrector = HomophoneCorrector(_zh_texts(entries))
            reused = self._vectors.matches(self._fingerprints, self._records)
            embedded = removed = 0
            if not reused:
                embedded, removed = self._vectors.sync(entries)
                self._vectors.mark(self._fingerprints)
            self._centroids = self._vectors.centroids()
            self._matrix = None
            return BuildReport(reused, embedded, removed, len(entries))

    def upsert(self, entry: Entry) -> None:
        """Add or replace one entry (its vectors are recomputed)."""
        with self._lock:
            self._vectors.delete(entry.id)
            self._vectors.add([entry])
            old = self._entries.get(entry.id)
            self._records += len(entry.example_questions())
            self._records -= len(old.example_questions()) if old else 0
            self._entries[entry.id] = entry
            self._fingerprints[entry.id] = entry_fingerprint(entry)
            self._vectors.mark(self._fingerprints)
            self._lexical.set_documents(entry.id, _questions(entry))
            # Add-only: words of a replaced version stay known, which at worst keeps
            # a spelling from being "corrected"; `build` starts the vocabulary afresh.
            self._corrector.add_texts(_zh_texts([entry]))
            self._centroids.update(self._vectors.centroids(entry.id))
            self._matrix = None

    def remove(self, entry_id: str) -> bool:
        """Remove an entry; False when it was not in the index."""
        with self._lock:
            old = self._entries.pop(entry_id, None)
            if old is None:
                return False
            self._vectors.delete(entry_id)
            self._records -= len(old.example_questions())
            self._fingerprints.pop(entry_id, None)
            self._vectors.mark(self._fingerprints)
            self._lexical.remove(entry_id)
            self._centroids.pop(entry_id, None)
            self._matrix = None
            return True

    # ---------------------------------------------------------------- reading

    def get(self, entry_id: str) -> Entry:
        with self._lock:
            return self._entries[entry_id]

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def prompt_terms(self, lang: str, max_chars: int = 200) -> str:
        """Characteristic words of the KB in `lang`, for the ASR's initial prompt."""
        return prompt_terms(self.entries(), lang, max_chars=max_chars)

    def normalise_query(self, text: str) -> str:
        """The query as searched: whitespace trimmed, KB homophones restored."""
        return self._corrector.correct(text.strip())

    def search(self, text: str, k: int = 5) -> list[Candidate]:
        """Up to `k` entries, best first, each with a fused score and a confidence."""
        if k <= 0 or not text.strip():
            return []
        with self._lock:
            query_text = self.normalise_query(text)
            entries, records = dict(self._entries), self._records
            lexical = {h.key: h for h in self._lexical.search(query_text)}
            if self._matrix is None:
                keys = [key for key in entries if key in self._centroids]
                stack = [self._centroids[key] for key in keys]
                empty = np.zeros((0, self.embedder.dim), np.float32)
                self._matrix = (keys, np.stack(stack) if stack else empty)
            keys, centroids = self._matrix
        if not keys:
            return []
        # Embedding and the Chroma query run outside the lock: they are the slow part.
        query = self.embedder.embed_queries([query_text])[0]
        nearest = self._vectors.nearest(query, min(records, max(self.dense_pool, 10 * k)))
        # An entry with no example among those nearest has a best cosine no higher
        # than the lowest one returned: use that rather than pretending it is zero.
        floor = min((sim for sim, _ in nearest.values()), default=0.0)
        fused = np.array([
            self.params.fuse(nearest.get(key, (floor, ""))[0], float(cos),
                             lexical[key].score if key in lexical else 0.0)
            for key, cos in zip(keys, centroids @ query, strict=True)])
        english = _HAN.search(query_text) is None
        order = np.argsort(-fused, kind="stable")
        out: list[Candidate] = []
        for rank, pos in enumerate(order[:k]):
            key = keys[pos]
            rival = order[1] if rank == 0 else order[0]
            margin = float(fused[pos] - fused[rival]) if len(order) > 1 else 0.0
            matched = (nearest[key][1] if key in nearest else
                       lexical[key].text if key in lexical else _questions(entries[key])[0])
            confidence = self.params.confidence(float(fused[pos]), margin, english)
            out.append(Candidate(entries[key], float(fused[pos]), confidence, matched))
        return out
