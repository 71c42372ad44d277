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
faster than its HNSW query and gives every entry its true best cosine. The snapshot
and the per-query arithmetic live in `knowledge.snapshot`; an optional second, English-only
embedder gets a space of its own there (`english_embedder`, weighted by self-calibration).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from .classifier import DEFAULT_C
from .embedders import Embedder
from .entry import Entry
from .homophones import HomophoneCorrector
from .lexical import LexicalIndex, LexicalSnapshot
from .scoring import DEFAULT_PARAMS, ScoringParams
from .snapshot import Channels, Snapshot, Space, channels_of, with_classifier_fitted, without
from .terms import prompt_terms
from .vectors import Examples, QuestionVectors, entry_fingerprint

_HAN = re.compile(r"[\u3400-\u9fff]")


def english_query(text: str) -> bool:
    """The language test of the confidence's English term: no Chinese characters."""
    return _HAN.search(text) is None


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
    english_shift, classifier_weight. `classifier_c` is the classifier's inverse
    regularisation strength (`knowledge.classifier.DEFAULT_C`).
    """

    def __init__(self, path: str | Path, embedder: Embedder, *, collection: str = "knowledge",
                 english_embedder: Embedder | None = None,
                 classifier_c: float = DEFAULT_C, **params: float) -> None:
        unknown = sorted(set(params) - {f.name for f in fields(ScoringParams)})
        if unknown:
            raise TypeError(f"unknown scoring parameter(s): {', '.join(unknown)}")
        self.params = ScoringParams(**{**DEFAULT_PARAMS.__dict__, **params})
        self.embedder = embedder
        self.english_embedder = english_embedder
        self.classifier_c = classifier_c
        self.path = Path(path)
        # One store per embedder; the English model's holds only English example questions.
        self._stores = [QuestionVectors(self.path, embedder, collection)]
        if english_embedder is not None:
            self._stores.append(QuestionVectors(self.path, english_embedder, collection, languages=("en",)))
        # Two locks. `_lock` guards the in-memory state a search reads, and is held only to read
        # or swap it, never while a model runs. `_writing` serialises the writers (build, upsert,
        # remove) across their slow part (embedding, Chroma's writes), so their changes to the
        # Chroma store and to the in-memory state are applied in one order.
        self._lock = threading.RLock()
        self._writing = threading.RLock()
        self._entries: dict[str, Entry] = {}
        self._fingerprints: dict[str, str] = {}
        # Example vectors and texts per entry, one dict per store (same order as `_stores`).
        self._examples: list[dict[str, Examples]] = [{} for _ in self._stores]
        self._snapshot: Snapshot | None = None
        self._lexical = LexicalIndex()
        self._corrector = HomophoneCorrector()
        self._listeners: list[Callable[[], None]] = []
        self.generation = 0  # bumped on every change: what a calibration was fitted for
        self.operating_point = None  # a `knowledge.selfcal.OperatingPoint` once self-calibrated

    def install(self, params: ScoringParams, operating_point=None) -> None:
        """Search with `params` from now on (self-calibration's result, with its forecast).
        Called off the serving path, so it also fits the classifier the new scoring reads: the
        first customer question after a change then does not wait for that fit."""
        self.params, self.operating_point = params, operating_point
        self._current(bool(params.classifier_weight))

    @property
    def vectors(self) -> QuestionVectors:
        """The main embedder's Chroma store (tests check the exact search against its own)."""
        return self._stores[0]

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener()` (outside the index's lock) after every change of the entries."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        # Called under the lock; listeners run after it is released (see `_notify`).
        self.generation += 1
        self._snapshot = None

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # ----------------------------------------------------------------- changing

    def build(self, entries: Iterable[Entry], *, force: bool = False) -> BuildReport:
        """Make the index hold exactly `entries`.

        Cheap when nothing changed: if the stored collection's fingerprint (entry
        ids, versions, example questions, embedder, schema) matches, no vector is
        computed. Otherwise only new or changed entries are embedded. `force`
        drops the collection and embeds everything from scratch. Searches go on
        against the previous entries until the new ones are in place.
        """
        entries = list(entries)
        ids = [e.id for e in entries]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate entry ids: {', '.join(twice)}")
        fingerprints = {e.id: entry_fingerprint(e) for e in entries}
        lexical = LexicalIndex()
        for e in entries:
            lexical.set_documents(e.id, _questions(e))
        corrector = HomophoneCorrector(_zh_texts(entries))
        with self._writing:
            # Embedding and Chroma's writes happen before the swap, outside `_lock`: searches
            # read only the in-memory copy, so a reindex does not stall them.
            reused, embedded, removed = True, 0, 0
            examples: list[dict[str, Examples]] = []
            for store in self._stores:
                if force:
                    store.drop()
                if not store.matches(fingerprints, sum(len(store.rows(e)) for e in entries)):
                    reused = False
                    added, dropped = store.sync(entries)
                    store.mark(fingerprints)
                    embedded, removed = embedded + added, max(removed, dropped)
                examples.append(store.examples())
            with self._lock:
                self._entries = {e.id: e for e in entries}
                self._fingerprints = fingerprints
                self._lexical, self._corrector, self._examples = lexical, corrector, examples
                self._changed()
        self._notify()
        return BuildReport(reused, embedded, removed, len(entries))

    def upsert(self, entry: Entry) -> None:
        """Add or replace one entry (its vectors are recomputed). Searches are not held up by
        the embedding: they go on against the entry's previous version until the swap."""
        if not isinstance(entry, Entry):
            raise TypeError(f"upsert takes an Entry, not {type(entry).__name__}")
        with self._writing:
            # The model runs under the writers' lock only: two upserts of one entry take turns,
            # so the later one's entry and its own vectors are what stays.
            embedded = [store.embed([entry]) for store in self._stores]
            fingerprints = {**self._fingerprints, entry.id: entry_fingerprint(entry)}
            found = []
            for store, rows in zip(self._stores, embedded):
                store.delete(entry.id)
                store.write(rows)
                store.mark(fingerprints)
                found.append(store.examples(entry.id))
            with self._lock:
                self._entries[entry.id] = entry
                self._fingerprints = fingerprints
                for examples, new in zip(self._examples, found):
                    examples.pop(entry.id, None)
                    examples.update(new)
                self._lexical.set_documents(entry.id, _questions(entry))
                # Add-only: words of a replaced version stay known, which at worst keeps
                # a spelling from being "corrected"; `build` starts the vocabulary afresh.
                self._corrector.add_texts(_zh_texts([entry]))
                self._changed()
        self._notify()

    def remove(self, entry_id: str) -> bool:
        """Remove an entry; False when it was not in the index."""
        with self._writing:
            if entry_id not in self._entries:
                return False
            fingerprints = {k: v for k, v in self._fingerprints.items() if k != entry_id}
            for store in self._stores:
                store.delete(entry_id)
                store.mark(fingerprints)
            with self._lock:
                del self._entries[entry_id]
                self._fingerprints = fingerprints
                for examples in self._examples:
                    examples.pop(entry_id, None)
                self._lexical.remove(entry_id)
                self._changed()
        self._notify()
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

    def _current(self, with_classifier: bool) -> Snapshot:
        with self._lock:
            snap = self._snapshot
            if snap is None:
                snap = self._snapshot = self._snapshot_of(self._examples, self._lexical.snapshot())
            examples = self._examples
        if not (with_classifier and snap.classifier is None and snap.entries):
            return snap
        # The fit takes up to a second or two on a large base: outside the lock, so searches
        # that do not need it go on; kept only if no change replaced the snapshot meanwhile.
        fitted = with_classifier_fitted(snap, examples, self.classifier_c)
        with self._lock:
            if self._snapshot is snap:
                self._snapshot = fitted
        return fitted

    def _snapshot_of(self, examples: list[dict[str, Examples]], lexical: LexicalSnapshot) -> Snapshot:
        entries = [e for e in self._entries.values() if e.id in examples[0]]
        position = {e.id: i for i, e in enumerate(entries)}
        rows = np.array([position.get(key, -1) for key in lexical.keys], np.int64)
        spaces = [Space.of(found, position, store.embedder.dim) for found, store in zip(examples, self._stores)]
        return Snapshot(tuple(entries), position, spaces[0], spaces[1] if len(spaces) > 1 else None,
                         lexical, rows)

    def channels(self, text: str, *, classifier: bool | None = None, english: bool | None = None
                 ) -> Channels | None:
        """Every entry's score on each channel for `text`, before fusion (None: nothing
        to search). `classifier` fits and scores the classifier even when its weight
        is 0, `english` scores an English query with the English model even when its
        weight is 0 (default for both: only when used)."""
        if not text.strip():
            return None
        use_classifier = bool(self.params.classifier_weight) if classifier is None else classifier
        use_english = bool(self.params.english_weight) if english is None else english
        with self._lock:
            query_text = self.normalise_query(text)
        snap = self._current(use_classifier)
        if not snap.entries:
            return None
        # Everything below runs outside the lock: the snapshot never changes.
        query = self.embedder.embed_queries([query_text])[0]
        second = None
        # The classifier reads the English model's vector too (knowledge.classifier).
        if (use_english or use_classifier) and snap.english is not None and english_query(query_text):
            second = self.english_embedder.embed_queries([query_text])[0]
        return channels_of(snap, query_text, query, second, snap.lexical.scores(query_text).scores,
                         use_classifier)

    def held_out(self, *, folds: int = 10, max_queries: int = 3000) -> list[tuple[str, Channels]]:
        """Every entry's example questions searched against the index without them: K-fold
        over each entry's examples (an entry with a single example keeps it and is never
        asked), at most `max_queries` of them, spread evenly. (expected entry id, channels),
        with the classifier and the English channel always scored. No model runs: the stored
        vectors are the queries. What self-calibration (`knowledge.selfcal`) fits on."""
        with self._lock:
            examples = [dict(found) for found in self._examples]
            keys = [key for key in self._entries if key in examples[0]]
        rows = [(key, j, (i + j) % folds) for i, key in enumerate(keys)
                if len(examples[0][key].texts) >= 2 for j in range(len(examples[0][key].texts))]
        stride = max(1, -(-len(rows) // max_queries))
        rows = rows[::stride]
        found: list[tuple[str, Channels]] = []
        for fold in range(folds):
            asked = [(key, j) for key, j, f in rows if f == fold]
            if not asked:
                continue
            held = {(key, examples[0][key].texts[j]) for key, j in asked}
            kept = [{key: without(ex, key, held) for key, ex in store.items()} for store in examples]
            lexical = LexicalIndex()
            for key in keys:
                lexical.set_documents(key, list(kept[0][key].texts))
            with self._lock:  # `_snapshot_of` reads the entries
                snap = self._snapshot_of(kept, lexical.snapshot())
            snap = with_classifier_fitted(snap, kept, self.classifier_c)
            for key, j in asked:
                text = examples[0][key].texts[j]
                english = None
                if len(examples) > 1 and key in examples[1] and text in examples[1][key].texts:
                    english = examples[1][key].vectors[examples[1][key].texts.index(text)]
                found.append((key, channels_of(snap, text, examples[0][key].vectors[j], english,
                                             snap.lexical.scores(text).scores, True)))
        return found

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
        english = english_query(found.query_text)
        order = _top(fused, max(k, 2))
        if exclude:
            order = order[np.isfinite(fused[order])]
        out: list[Candidate] = []
        for rank, pos in enumerate(order[:k]):
            margin = float(fused[pos] - fused[order[1] if rank == 0 else order[0]]) if len(order) > 1 else 0.0
            confidence = params.confidence(float(fused[pos]), margin, english)
            out.append(Candidate(found.entries[pos], float(fused[pos]), confidence, found.matched(pos)))
        return out
