"""A light classifier trained on each entry's example questions: another fused channel.

Cosine similarity treats every direction of the embedding space alike, but most
of what two banking questions share ("how do I ... my card") says nothing about
which entry they belong to. A linear classifier fitted on the example vectors
learns which directions separate the entries. It is a regularised least-squares
(ridge) classifier, one output per entry, rather than a softmax regression:
equally accurate on our data (benchmarks/retrieval.py, docs/knowledge.md), but
closed form, deterministic and cheap to refit on every change, because what it
needs is the examples' second-moment matrix (embedding dim x dim, whatever the
size of the KB) and each entry's mean vector:

    W = B A^-1,  A = sum_e mean_{x in e} (x - mu)(x - mu)^T / E + ridge * tr/d * I,
                 B[e] = (mean_e - mu) / E

Every entry weighs the same however many examples it has (the per-entry means),
`mu` is the mean of the entry means, and the ridge is relative to the average
eigenvalue, so one value fits KBs of any size. A query's score for entry e is
B[e] . A^-1 (q - mu): about 1 for a question like e's examples, about 0 for one
unlike them. It is computed as one d x d and one E x d product per query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# Chosen on banking77 (benchmarks/retrieval.py: classifier alone 71.3 % top-1 at 3.0,
# 68.6 % at 1.0, 66.5 % at 0.3, 70.7 % at 10): small ridges overfit three examples per entry.
DEFAULT_RIDGE = 3.0


class EntryClassifier:
    """Scores every entry of `order` for a query vector, in that order."""

    def __init__(self, examples: Mapping[str, np.ndarray], order: Sequence[str],
                 ridge: float = DEFAULT_RIDGE) -> None:
        """`examples[key]`: the entry's example-question vectors, one row each (at least one)."""
        # Fitted in key order, not `order`: an index maintained change by change and
        # one rebuilt from scratch must sum in the same order to score the same.
        fitted = sorted(order)
        dim = next(iter(examples.values())).shape[1] if examples else 0
        vectors = [np.asarray(examples[key], np.float64) for key in fitted]
        means = np.stack([x.mean(0) for x in vectors]) if vectors else np.zeros((0, dim))
        self.mu = means.mean(0) if vectors else np.zeros(dim)
        stacked = np.concatenate(vectors) - self.mu if vectors else np.zeros((0, dim))
        weight = np.concatenate([np.full(len(x), 1.0 / len(x)) for x in vectors]) if vectors \
            else np.zeros(0)
        second = (stacked * weight[:, None]).T @ stacked / max(len(vectors), 1)
        second += ridge * max(np.trace(second) / max(dim, 1), 1e-12) * np.eye(dim)
        self._inverse = np.linalg.inv(second)
        row = {key: i for i, key in enumerate(fitted)}
        rows = [row[key] for key in order]
        self._weights = ((means[rows] - self.mu) / max(len(vectors), 1)).astype(np.float32)

    def scores(self, query: np.ndarray) -> np.ndarray:
        projected = ((np.asarray(query, np.float64) - self.mu) @ self._inverse).astype(np.float32)
        return (self._weights @ projected).astype(np.float64)
