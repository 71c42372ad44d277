"""A classifier trained on each entry's example questions: another fused channel.

Cosine similarity treats every direction of the embedding space alike, but most of what two
banking questions share ("how do I ... my card") says nothing about which entry they belong to.
A classifier fitted on the example vectors learns which directions separate the entries.

It is a softmax (multinomial logistic) regression, one output per entry, L2-regularised, fitted
by L-BFGS (scipy, no scikit-learn) on every example question's features: the main model's vector,
followed by the English model's vector of the same question when the index has an English space
(zeros where a question has none, e.g. a Chinese one; a Chinese query gets zeros there too, so it
is judged on the main model's part alone). A query's score for an entry is the probability that
it belongs there: near 1 for a question like that entry's examples, near 0 otherwise.

Why softmax and both models (numpy experiments on banking77, 10 example questions per intent, 1,540
other train questions asked; docs/knowledge.md "The classifier channel"): top-1 85.5 % on e5 +
MiniLM concatenated against 80.1 % on e5 alone and 79.9 % for the ridge classifier it replaces on
the same features; and ranked by its probability margin, 82.6 % of questions could be answered at
5 % wrong against 71.5 % for the ridge.

`DEFAULT_C` (the inverse regularisation strength, as scikit-learn's `C`: the objective is the
summed cross-entropy plus |W|^2 / 2C) was chosen on the same experiment (top-1 84.9 % at 3, 85.5 %
at 10, 85.1 % at 30). Every fit starts from zero: a fold of self-calibration seeded with the fit on
all examples could stop early near it, and its held-out questions would then not be held out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

DEFAULT_C = 10.0
MAX_ITERATIONS = 300
# One iteration costs about examples x features x entries multiply-adds, so a fit grows with the
# square of the base's size (0.6 s at 77 entries x 10 examples x 768 features, 3.6 s at 300 entries,
# 2 cores). Above this bound the classifier is not fitted and scores 0 everywhere, as if its weight
# were 0 (about 550 entries of 10 examples: a fit of ~15 s, times 11 for a self-calibration).
MAX_WORK = 2e9


class EntryClassifier:
    """Scores every entry of `order` for a query's features, in that order."""

    def __init__(self, examples: Mapping[str, np.ndarray], order: Sequence[str],
                 c: float = DEFAULT_C) -> None:
        """`examples[key]`: the entry's example-question features, one row each (at least one)."""
        # Fitted in key order, not `order`: an index maintained change by change and one rebuilt
        # from scratch must fit the same problem to score the same.
        keys = sorted(order)
        rows = [np.asarray(examples[key], np.float64) for key in keys]
        dim = rows[0].shape[1] if rows else 0
        x = np.concatenate(rows) if rows else np.zeros((0, dim))
        labels = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
        self.fitted = len(x) * dim * len(rows) <= MAX_WORK
        self._weights, self._bias = _fit(x, labels, len(rows), c) if self.fitted else (None, None)
        at = {key: i for i, key in enumerate(keys)}
        self._columns = np.array([at[key] for key in order], np.int64)

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Each entry's probability for one query's features, in the order given at fit time."""
        if not self.fitted:
            return np.zeros(len(self._columns))
        z = np.asarray(features, np.float64) @ self._weights + self._bias
        return np.exp(z - logsumexp(z))[self._columns]


def _fit(x: np.ndarray, labels: np.ndarray, classes: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    count, dim = x.shape
    if classes < 2 or count == 0:   # one entry: it is the only answer the classifier can give
        return np.zeros((dim, max(classes, 1))), np.zeros(max(classes, 1))
    truth = np.zeros((count, classes))
    truth[np.arange(count), labels] = 1.0

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = flat[:dim * classes].reshape(dim, classes), flat[dim * classes:]
        z = x @ weights + bias
        norm = logsumexp(z, axis=1, keepdims=True)
        error = np.exp(z - norm) - truth
        value = float(norm.sum() - (z * truth).sum() + (weights * weights).sum() / (2.0 * c))
        grad = np.concatenate([(x.T @ error + weights / c).ravel(), error.sum(0)])
        return value, grad

    result = minimize(loss, np.zeros(dim * classes + classes), jac=True, method="L-BFGS-B",
                      options={"maxiter": MAX_ITERATIONS})
    return result.x[:dim * classes].reshape(dim, classes), result.x[dim * classes:]
