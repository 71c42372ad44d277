"""What a search reads, and the arithmetic of one query over it.

A `_Snapshot` is the index frozen at one moment (example vectors per embedder, the lexical
index, the classifier), so a search runs outside the index's lock; `channels_of` scores one
query's vectors against it, channel by channel (`Channels`), before any fusion. The index
(`knowledge.index`) builds snapshots and owns every change; self-calibration builds one per
held-out fold from the same pieces, which is why they live apart from the index.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .classifier import DEFAULT_C, EntryClassifier
from .entry import Entry
from .lexical import LexicalSnapshot
from .scoring import ScoringParams
from .vectors import Examples

@dataclass(frozen=True)
class Space:
    """One embedder's example vectors of some entries, ready for one product with a query."""

    positions: np.ndarray           # the snapshot position of each entry here, in row order
    examples: np.ndarray            # float32, every example vector normalised, grouped by entry
    bounds: np.ndarray              # the k-th entry's rows are examples[bounds[k]:bounds[k + 1]]
    centroid_share: np.ndarray      # per row: its length over the length of its entry's row sum
    texts: tuple[str, ...]          # the example question of each row

    @staticmethod
    def of(found: Mapping[str, Examples], position: Mapping[str, int], dim: int) -> Space:
        keys = [key for key in position if key in found and len(found[key].vectors)]
        parts = [found[key].vectors for key in keys]
        counts = np.array([len(x) for x in parts], np.int64)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        empty = np.zeros((0, dim), np.float32)
        vectors = np.concatenate(parts).astype(np.float32, copy=True) if parts else empty
        lengths = np.maximum(np.sqrt(np.einsum("ij,ij->i", vectors, vectors)), 1e-12)
        # The centroid (normalised mean) of an entry's rows x_i gives the query q the
        # cosine sum_i (x_i . q) / |sum_i x_i| = sum_i share_i * (unit_i . q): the
        # product with the unit rows serves the centroid channel as well. (Per-entry
        # sums, not a 2-D reduceat: that one is ~10x slower at 30,000 rows.)
        sums = np.stack([x.sum(0) for x in parts]) if parts else empty
        share = lengths / np.repeat(np.maximum(np.linalg.norm(sums, axis=1), 1e-12), counts)
        vectors /= lengths[:, None]
        return Space(np.array([position[key] for key in keys], np.int64), vectors, bounds,
                      share.astype(np.float32), tuple(t for key in keys for t in found[key].texts))

    def scores(self, unit: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(best-example cosine, centroid cosine, cosine to every row) for a unit query; the
        two per-entry arrays have `size` slots, NaN for entries with no row here."""
        similarities = self.examples @ unit
        best, centroid = np.full(size, np.nan), np.full(size, np.nan)
        if len(self.positions):
            starts = self.bounds[:-1]
            best[self.positions] = np.maximum.reduceat(similarities, starts)
            centroid[self.positions] = np.add.reduceat(similarities * self.centroid_share, starts)
        return best, centroid, similarities


@dataclass(frozen=True)
class Snapshot:
    """What a search needs, immutable, so a search can use it outside the lock."""

    entries: tuple[Entry, ...]      # in index order; every per-entry array follows it
    position: dict[str, int]
    space: Space                   # the main embedder's vectors: every entry has rows
    english: Space | None          # the English embedder's, of entries with English examples
    lexical: LexicalSnapshot
    lexical_rows: np.ndarray        # index position of each key of `lexical`, or -1
    classifier: EntryClassifier | None = None  # fitted when its weight is first non-zero

    def features(self, main: np.ndarray, english: np.ndarray | None) -> np.ndarray:
        """The classifier's input for one question: its main-model vector, then its English-model
        vector when the index has an English space (zeros when the question has none)."""
        if self.english is None:
            return unit(main)
        second = unit(english) if english is not None else np.zeros(self.english.examples.shape[1], np.float32)
        return np.concatenate([unit(main), second])


@dataclass(frozen=True)
class Channels:
    """One query's score on every channel for every entry (arrays follow `entries`)."""

    query_text: str                  # the query as searched (see `normalise_query`)
    entries: tuple[Entry, ...]
    best_example: np.ndarray         # cosine to the closest example question
    centroid: np.ndarray             # cosine to the mean example
    lexical: np.ndarray              # BM25 in [0, 1]
    classifier: np.ndarray | None    # None when not computed
    english: tuple[np.ndarray, np.ndarray] | None  # the English model's (best, centroid), NaN
    #                                                for entries without English examples; None
    #                                                when not computed (a Chinese query, or no model)
    _similarities: np.ndarray        # cosine to every example, rows as in the snapshot
    _bounds: np.ndarray
    _texts: tuple[str, ...]

    def fused(self, params: ScoringParams) -> np.ndarray:
        learned = self.classifier if self.classifier is not None and params.classifier_weight else 0.0
        english = self.english if params.english_weight else None
        return params.fuse(self.best_example, self.centroid, self.lexical, learned, english)

    def matched(self, pos: int) -> str:
        """The example question of entry `pos` closest to the query (its `best_example`)."""
        start, end = self._bounds[pos], self._bounds[pos + 1]
        return self._texts[start + int(np.argmax(self._similarities[start:end]))]


def unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float32)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def without(examples: Examples, key: str, held: Collection[tuple[str, str]]) -> Examples:
    keep = [i for i, text in enumerate(examples.texts) if (key, text) not in held]
    return Examples(examples.vectors[keep], tuple(examples.texts[i] for i in keep))


def channels_of(snap: Snapshot, query_text: str, query: np.ndarray, english: np.ndarray | None,
              lexical_scores: np.ndarray, use_classifier: bool) -> Channels:
    """A query's channels over one snapshot, from its vectors (`english`: the English model's
    vector, or None) and its lexical scores in the order of `snap.lexical.keys`."""
    size = len(snap.entries)
    best, centroid, similarities = snap.space.scores(unit(query), size)
    second = None
    if english is not None and snap.english is not None:
        second = snap.english.scores(unit(english), size)[:2]
    lex = np.zeros(size)
    known = snap.lexical_rows >= 0
    lex[snap.lexical_rows[known]] = lexical_scores[known]
    learned = None
    if use_classifier and snap.classifier is not None:
        learned = snap.classifier.scores(snap.features(query, english))
    return Channels(query_text, snap.entries, best, centroid, lex, learned, second,
                    similarities, snap.space.bounds, snap.space.texts)


def with_classifier_fitted(snap: Snapshot, examples: Sequence[Mapping[str, Examples]],
                           c: float = DEFAULT_C) -> Snapshot:
    """`snap` with its classifier fitted on `examples` (one mapping per store, the main model's
    first, as the snapshot was built from): every main-model example question of every entry,
    each with its own English-model vector where that store has the same question."""
    rows: dict[str, np.ndarray] = {}
    for key in snap.position:
        main = examples[0][key]
        second: dict[str, np.ndarray] = {}
        if len(examples) > 1 and key in examples[1]:
            second = dict(zip(examples[1][key].texts, examples[1][key].vectors, strict=True))
        rows[key] = np.stack([snap.features(vector, second.get(text))
                              for vector, text in zip(main.vectors, main.texts, strict=True)])
    return replace(snap, classifier=EntryClassifier(rows, list(snap.position), c))
