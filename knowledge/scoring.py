"""How the retrieval channels become one score and one confidence per entry.

Kept apart from the index so that calibration (`knowledge.calibrate`) and the index
share exactly one definition of the numbers the confidence is fitted on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScoringParams:
    """Fusion weights, and the logistic that turns a fused score into a confidence.

    dense  = (1 - centroid_weight) * best_example_cosine + centroid_weight * centroid_cosine
    dense  = (1 - english_weight) * dense + english_weight * english_dense   (English queries)
    fused  = dense + lexical_weight * lexical + classifier_weight * classifier
    confidence = sigmoid(bias + score_slope * fused + margin_slope * margin
                         + english_shift * [query has no Chinese characters])

    best_example_cosine: the query against the entry's closest example question;
    centroid_cosine: against the mean of all its example questions (a prototype,
    steadier than any single example for paraphrases the examples do not cover);
    lexical: the pinyin/word BM25 score in [0, 1]; classifier: the entry's probability
    under the softmax classifier fitted on all example questions (`knowledge.classifier`;
    near 1 for a question like the entry's examples, near 0 for one unlike them; not
    computed at all when its weight is 0); margin: the entry's fused score
    minus the best *other* entry's (negative for all but the top candidate).

    english_dense: `dense` computed with the index's English model (`english_embedder`,
    all-MiniLM) over the entry's English example questions; 0 weight (the default) leaves it
    out. Self-calibration (`knowledge.selfcal`) chooses the weight per knowledge base: on
    banking77 it lifts top-1, on the demo base it does not.

    The language term is there because this model's cosines run lower for English
    than for Chinese: the same fused score is stronger evidence in English.

    The lexical weight looks small because cosines of this model differ between
    entries by hundredths while BM25 scores differ by tenths. The defaults were
    chosen on the demo knowledge base by `python -m knowledge.calibrate` (weights:
    grid search for top-1 accuracy on held-out example questions, clean and with
    homophone noise; logistic: fitted on held-out questions, questions whose entry
    was left out of the index, and off-topic questions). Re-run it on a real KB.
    """

    centroid_weight: float = 0.67
    lexical_weight: float = 0.015
    classifier_weight: float = 0.0
    bias: float = -67.8
    score_slope: float = 72.9
    margin_slope: float = 40.7
    english_shift: float = 0.8
    english_weight: float = 0.0

    def fuse(self, best_example, centroid, lexical, classifier=0.0, english=None):
        """The fused score; each argument a float, or an array with one value per entry.
        `english`: the English model's (best_example, centroid) for an English query, NaN
        where an entry has no English example (those keep the main model's cosines)."""
        dense = (1.0 - self.centroid_weight) * best_example + self.centroid_weight * centroid
        if english is not None and self.english_weight:
            second = (1.0 - self.centroid_weight) * english[0] + self.centroid_weight * english[1]
            second = np.where(np.isnan(second), dense, second)
            dense = (1.0 - self.english_weight) * dense + self.english_weight * second
        return dense + self.lexical_weight * lexical + self.classifier_weight * classifier

    def confidence(self, fused: float, margin: float, english: bool = False) -> float:
        z = self.bias + self.score_slope * fused + self.margin_slope * margin
        if english:
            z += self.english_shift
        # Guard the exponent: an off-scale score must give 0 or 1, not overflow.
        if z < -60.0:
            return 0.0
        if z > 60.0:
            return 1.0
        return 1.0 / (1.0 + math.exp(-z))


DEFAULT_PARAMS = ScoringParams()
# The embedder the defaults were fitted with: cosines of another model run on another scale,
# so with it these coefficients mis-state the confidence (docs/knowledge.md, "Embedders").
FITTED_EMBEDDER = "e5-small"

# Answer at or above this confidence; below it the responder should hand off.
# The lowest threshold at which, on the calibration data, answers were right at
# least 95 % of the time (95.0 %, with 74 % of answerable questions answered; 5 % of
# off-topic and 22 % of in-domain-but-not-in-KB questions accepted there; 0.65 would
# give 95.8 %, 69 %, 2 % and 20 %). See knowledge.calibrate for the whole table.
DEFAULT_CONFIDENCE_THRESHOLD = 0.6
