"""The searchable knowledge index: meaning from embeddings, sound from pinyin.

Each entry is scored three ways, optionally four, and the scores fused (see
`knowledge.scoring`): its closest example question (one vector per example, so a
short colloquial question such as "卡丢了咋办" lands on the way customers were
seen to ask it), the mean of all its examples (a prototype, steadier for
paraphrases no single example covers), BM25 on toneless pinyin, and optionally a
light classifier fitted on all example questions (`knowledge.classifier`).
Before any of that, a homophone corrector built from the KB's own words turns
Whisper's sound-alike misspellings (鱼鹅) back into the KB's words (余额), so the
embedding sees what the customer said. Only the vectors persist (in Chroma, so a
restart re-embeds nothing); everything else is rebuilt in memory from the entries.

A search scores every entry at once with array arithmetic (one exact product with
every example vector, a sparse BM25 product, the classifier's two products) over a
snapshot of the index that is rebuilt on the first search after a change, so a
bulk load of many entries pays for one rebuild, not one per entry. Chroma is not
queried on the search path: an exact product over the in-memory vectors is both
faster than its HNSW query and gives every entry its true best cosine.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from .classifier import DEFAULT_RIDGE, EntryClassifier
from .embedders import Embedder
from .entry import Entry
from .homophones import HomophoneCorrector
from .lexical import LexicalIndex, LexicalSnapshot
from .scoring import DEFAULT_PARAMS, ScoringParams
from .terms import prompt_terms
from .vectors import Examples, QuestionVectors, entry_fingerprint

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


@dataclass(frozen=True)
class _Snapshot:
    """What a search needs, immutable, so a search can use it outside the lock."""

    entries: tuple[Entry, ...]      # in index order; every per-entry array below follows it
    position: dict[str, int]
    examples: np.ndarray            # float32, every example vector normalised, grouped by entry
    bounds: np.ndarray              # entry i's rows are examples[bounds[i]:bounds[i + 1]]
    centroid_share: np.ndarray      # per row: its length over the length of its entry's row sum
    texts: tuple[str, ...]          # the example question of each row
    lexical: LexicalSnapshot
    lexical_rows: np.ndarray        # index position of each key of `lexical`, or -1
    classifier: EntryClassifier | None = None  # fitted when its weight is first non-zero


@dataclass(frozen=True)
class Channels:
    """One query's score on every channel for every entry (arrays follow `entries`)."""

    query_text: str                  # the query as searched (see `normalise_query`)
    entries: tuple[Entry, ...]
    best_example: np.ndarray         # cosine to the closest example question
    centroid: np.ndarray             # cosine to the mean example
    lexical: np.ndarray              # BM25 in [0, 1]
    classifier: np.ndarray | None    # None when not computed
    _similarities: np.ndarray        # cosine to every example, rows as in the snapshot
    _bounds: np.ndarray
    _texts: tuple[str, ...]

    def fused(self, params: ScoringParams) -> np.ndarray:
        learned = self.classifier if self.classifier is not None and params.classifier_weight else 0.0
        return params.fuse(self.best_example, self.centroid, self.lexical, learned)

    def matched(self, pos: int) -> str:
        """The example question of entry `pos` closest to the query (its `best_example`)."""
        start, end = self._bounds[pos], self._bounds[pos + 1]
        return self._texts[start + int(np.argmax(self._similarities[start:end]))]


def _top(fused: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first, ties in index order (as a
    stable sort of all scores would give) without sorting them all."""
    n = len(fused)
    candidates = np.arange(n)
    if n > k:
        candidates = np.flatnonzero(fused >= np.partition(fused, n - k)[n - k])
    return candidates[np.lexsort((candidates, -fused[candidates]))][:k]


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
    english_shift, classifier_weight. `classifier_ridge` is the classifier's
    regularisation (`knowledge.classifier.DEFAULT_RIDGE`).
    """

    def __init__(self, path: str | Path, embedder: Embedder, *, collection: str = "knowledge",
                 classifier_ridge: float = DEFAULT_RIDGE, **params: float) -> None:
        unknown = sorted(set(params) - {f.name for f in fields(ScoringParams)})
        if unknown:
            raise TypeError(f"unknown scoring parameter(s): {', '.join(unknown)}")
        self.params = ScoringParams(**{**DEFAULT_PARAMS.__dict__, **params})
        self.embedder = embedder
        self.classifier_ridge = classifier_ridge
        self.path = Path(path)
        self._vectors = QuestionVectors(self.path, embedder, collection)
        self._lock = threading.RLock()
        self._entries: dict[str, Entry] = {}
        self._fingerprints: dict[str, str] = {}
        self._examples: dict[str, Examples] = {}  # example vectors and texts per entry
        self._snapshot: _Snapshot | None = None
        self._lexical = LexicalIndex()
        self._corrector = HomophoneCorrector()

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
            self._lexical = LexicalIndex()
            for e in entries:
                self._lexical.set_documents(e.id, _questions(e))
            self._corrector = HomophoneCorrector(_zh_texts(entries))
            records = sum(len(e.example_questions()) for e in entries)
            reused = self._vectors.matches(self._fingerprints, records)
            embedded = removed = 0
            if not reused:
                embedded, removed = self._vectors.sync(entries)
                self._vectors.mark(self._fingerprints)
            self._examples = self._vectors.examples()
            self._snapshot = None
            return BuildReport(reused, embedded, removed, len(entries))

    def upsert(self, entry: Entry) -> None:
        """Add or replace one entry (its vectors are recomputed)."""
        with self._lock:
            self._vectors.delete(entry.id)
            self._vectors.add([entry])
            self._entries[entry.id] = entry
            self._fingerprints[entry.id] = entry_fingerprint(entry)
            self._vectors.mark(self._fingerprints)
            self._lexical.set_documents(entry.id, _questions(entry))
            # Add-only: words of a replaced version stay known, which at worst keeps
            # a spelling from being "corrected"; `build` starts the vocabulary afresh.
            self._corrector.add_texts(_zh_texts([entry]))
            self._examples.pop(entry.id, None)
            self._examples.update(self._vectors.examples(entry.id))
            self._snapshot = None

    def remove(self, entry_id: str) -> bool:
        """Remove an entry; False when it was not in the index."""
        with self._lock:
            old = self._entries.pop(entry_id, None)
            if old is None:
                return False
            self._vectors.delete(entry_id)
            self._fingerprints.pop(entry_id, None)
            self._vectors.mark(self._fingerprints)
            self._lexical.remove(entry_id)
            self._examples.pop(entry_id, None)
            self._snapshot = None
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

    def _current(self, with_classifier: bool) -> _Snapshot:
        # Called under the lock.
        snap = self._snapshot
        if snap is None:
            entries = [e for e in self._entries.values() if e.id in self._examples]
            keys = [e.id for e in entries]
            position = {key: i for i, key in enumerate(keys)}
            lexical = self._lexical.snapshot()
            rows = np.array([position.get(key, -1) for key in lexical.keys], np.int64)
            parts = [self._examples[key].vectors for key in keys]
            counts = np.array([len(x) for x in parts], np.int64)
            bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            empty = np.zeros((0, self.embedder.dim), np.float32)
            vectors = np.concatenate(parts).astype(np.float32, copy=False) if parts else empty
            lengths = np.maximum(np.sqrt(np.einsum("ij,ij->i", vectors, vectors)), 1e-12)
            # The centroid (normalised mean) of an entry's rows x_i gives the query q the
            # cosine sum_i (x_i . q) / |sum_i x_i| = sum_i share_i * (unit_i . q): the
            # product with the unit rows serves the centroid channel as well. (Per-entry
            # sums, not a 2-D reduceat: that one is ~10x slower at 30,000 rows.)
            sums = np.stack([x.sum(0) for x in parts]) if parts else empty
            share = lengths / np.repeat(np.maximum(np.linalg.norm(sums, axis=1), 1e-12), counts)
            vectors /= lengths[:, None]
            snap = self._snapshot = _Snapshot(
                tuple(entries), position, vectors, bounds, share.astype(np.float32),
                tuple(t for key in keys for t in self._examples[key].texts), lexical, rows)
        if with_classifier and snap.classifier is None and snap.entries:
            vectors = {key: self._examples[key].vectors for key in snap.position}
            fitted = EntryClassifier(vectors, list(snap.position), self.classifier_ridge)
            snap = self._snapshot = replace(snap, classifier=fitted)
        return snap

    def channels(self, text: str, *, classifier: bool | None = None) -> Channels | None:
        """Every entry's score on each channel for `text`, before fusion (None: nothing
        to search). `classifier` fits and scores the classifier even when its weight
        is 0 (default: only when used)."""
        if not text.strip():
            return None
        use_classifier = bool(self.params.classifier_weight) if classifier is None else classifier
        with self._lock:
            query_text = self.normalise_query(text)
            snap = self._current(use_classifier)
        if not snap.entries:
            return None
        # Everything below runs outside the lock: the snapshot never changes.
        lexical = snap.lexical.scores(query_text)
        query = np.asarray(self.embedder.embed_queries([query_text])[0], np.float32)
        unit = query / max(float(np.linalg.norm(query)), 1e-12)
        similarities = snap.examples @ unit
        starts = snap.bounds[:-1]
        best = np.maximum.reduceat(similarities, starts).astype(np.float64)
        centroid = np.add.reduceat(similarities * snap.centroid_share, starts).astype(np.float64)
        lex = np.zeros(len(snap.entries))
        known = snap.lexical_rows >= 0
        lex[snap.lexical_rows[known]] = lexical.scores[known]
        return Channels(query_text, snap.entries, best, centroid, lex,
                        snap.classifier.scores(query) if use_classifier else None,
                        similarities, snap.bounds, snap.texts)

    def search(self, text: str, k: int = 5, *, exclude: Collection[str] = ()) -> list[Candidate]:
        """Up to `k` entries, best first, each with a fused score and a confidence. Entries in
        `exclude` take no part, so the margins (and confidences) are among the rest only."""
        params = self.params
        found = self.channels(text, classifier=bool(params.classifier_weight)) if k > 0 else None
        if found is None:
            return []
        fused = found.fused(params)
        if exclude:
            fused = fused.copy()
            for pos, entry in enumerate(found.entries):
                if entry.id in exclude:
                    fused[pos] = -np.inf
            if np.isneginf(fused).all():
                return []
        english = _HAN.search(found.query_text) is None
        order = _top(fused, max(k, 2))
        if exclude:
            order = order[np.isfinite(fused[order])]
        out: list[Candidate] = []
        for rank, pos in enumerate(order[:k]):
            margin = float(fused[pos] - fused[order[1] if rank == 0 else order[0]]) if len(order) > 1 else 0.0
            confidence = params.confidence(float(fused[pos]), margin, english)
            out.append(Candidate(found.entries[pos], float(fused[pos]), confidence, found.matched(pos)))
        return out
