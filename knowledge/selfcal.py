"""Self-calibration: the index refits its scoring on its own example questions whenever it changes.

A bank's knowledge base is not the demo's: cosines run on another scale, its entries are closer
or further apart, and the demo's fitted confidence over- or under-states how often an answer is
right (on banking77 imported as a fresh base it answered 94 % with 15.7 % of those wrong). So
after every change (start-up, approval, import, reindex) `SelfCalibrator` refits, from the base
alone and with no manual step:

1. Held-out questions: each entry's example questions searched against the index without them
   (10-fold within every entry; `KnowledgeIndex.held_out`, the stored vectors, no model run).
2. Fusion weights (centroid, lexical, classifier, English channel): for every grid point, steps
   3 and 4 are run, and the point that answers the most held-out questions at the target wins
   (then the better top-1; a tie keeps the earlier, simpler point).
3. The confidence: a logistic regression of "the top entry is right" on (top fused score, margin
   over the runner-up, English) over the held-out questions, plus two kinds a hand-off must catch:
   the same questions with their own entry taken out (in-domain, not in the base) and off-topic
   questions (`knowledge.calibrate.OFF_TOPIC`).
4. The operating point: the lowest cut on that confidence at which at most `target` of the
   answered held-out questions name the wrong entry (and at most `MAX_OFF_TOPIC` of off-topic
   questions are answered). The logistic's bias is then shifted so that this cut falls exactly on
   the configured hand-off threshold: everything downstream (responder, clarification, early
   commit) keeps comparing with the one threshold it knows, and the threshold now means "the
   expected wrong-answer rate of answered questions is the target" on this base.

Held-out questions answer at a lower rate than customers' questions will (each is asked against
an index holding 9/10 of its entry's examples), so the figures in the `OperatingPoint` are a
slightly pessimistic forecast. A manual `[scoring]` in the settings turns all of this off.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .calibrate import OFF_TOPIC, fit_logistic
from .index import Candidate, Channels, KnowledgeIndex, english_query
from .scoring import ScoringParams
from .vectors import entry_fingerprint

log = logging.getLogger(__name__)

TARGET_WRONG = 0.02       # default target: wrong answers among answered held-out questions
MAX_OFF_TOPIC = 0.05      # and at most this share of off-topic questions answered
MIN_QUESTIONS = 20        # fewer held-out questions than this: too little to fit, keep the defaults
MAX_CELLS = 2_000_000     # held-out questions x entries scored per grid point (bounds time and memory)
CLARIFY_CANDIDATES = 4    # candidates the clarifying rule sees in the forecast (it offers at most 3)

# The clarifying rule, as `assistant.clarify.ClarifyRule.options`: (candidates best first, the
# index's confidence(fused, margin, english), english) -> (offered candidates, group confidence).
Clarify = Callable[[Sequence[Candidate], Callable[[float, float, bool], float], bool], tuple[tuple, float]]

# The grid starts at the fitted defaults' values, so on a tie nothing changes.
CENTROID_GRID = (0.67, 0.5, 0.8)
LEXICAL_GRID = (0.015, 0.0, 0.05)
CLASSIFIER_GRID = (0.0, 0.1, 0.3, 1.0)
ENGLISH_GRID = (0.0, 0.3, 0.5)


@dataclass(frozen=True)
class OperatingPoint:
    """What the hand-off threshold means on this knowledge base, forecast from held-out questions."""

    threshold: float           # the hand-off threshold the confidence was anchored to
    target: float              # the wrong-answer rate it was fitted to stay within
    answered: float            # share of held-out example questions answered (not handed off)
    wrong: float               # share of those answered that named the wrong entry
    top1: float                # share of held-out questions whose top entry is right
    off_topic_accepted: float  # share of off-topic questions answered
    not_in_base_accepted: float  # share answered when their own entry is taken out
    questions: int             # held-out questions it was fitted on
    generation: int            # the index generation it belongs to
    seconds: float             # how long the fit took
    clarified: float | None = None               # share of held-out questions asked which entry
    #                                              they mean (None: no clarifying rule given)
    clarified_with_expected: float | None = None  # of those, share whose options hold their entry

    def summary(self) -> str:
        clarified = "" if self.clarified is None else (
            f", {self.clarified:.1%} clarified (their entry among the options "
            f"{self.clarified_with_expected or 0.0:.1%})")
        return (f"threshold {self.threshold:.2f}: {self.answered:.1%} of {self.questions} held-out "
                f"example questions answered, {self.wrong:.1%} of those wrong (target "
                f"{self.target:.1%}){clarified}; top-1 {self.top1:.1%}; off-topic answered "
                f"{self.off_topic_accepted:.1%}, not-in-base answered {self.not_in_base_accepted:.1%}")


@dataclass(frozen=True)
class Calibration:
    params: ScoringParams
    point: OperatingPoint


@dataclass(frozen=True)
class _Matrix:
    """Held-out channels stacked (questions x entries), so a grid point is a few array products."""

    best: np.ndarray
    centroid: np.ndarray
    lexical: np.ndarray
    classifier: np.ndarray
    english_best: np.ndarray | None
    english_centroid: np.ndarray | None
    english_query: np.ndarray   # per question: True when it has no Chinese characters
    truth: np.ndarray           # per question: the position of its entry

    @staticmethod
    def of(found: Sequence[tuple[str, Channels]]) -> _Matrix:
        position = {e.id: i for i, e in enumerate(found[0][1].entries)}
        stack = lambda get: np.stack([get(c) for _, c in found]).astype(np.float32)  # noqa: E731
        has_english = any(c.english is not None for _, c in found)
        nan = np.full(len(position), np.nan, np.float32)
        english = [c.english if c.english is not None else (nan, nan) for _, c in found]
        return _Matrix(
            stack(lambda c: c.best_example), stack(lambda c: c.centroid), stack(lambda c: c.lexical),
            stack(lambda c: c.classifier), np.stack([b for b, _ in english]) if has_english else None,
            np.stack([m for _, m in english]) if has_english else None,
            np.array([_english(c) for _, c in found]),
            np.array([position[key] for key, _ in found]))

    def fused(self, params: ScoringParams) -> np.ndarray:
        english = None
        if self.english_best is not None and params.english_weight:
            english = (self.english_best, self.english_centroid)
        return params.fuse(self.best, self.centroid, self.lexical, self.classifier, english)


def _grid(base: ScoringParams, english: bool) -> list[ScoringParams]:
    return [replace(base, centroid_weight=cw, lexical_weight=lw, classifier_weight=kw, english_weight=ew)
            for cw, lw, kw, ew in itertools.product(CENTROID_GRID, LEXICAL_GRID, CLASSIFIER_GRID,
                                                    ENGLISH_GRID if english else (0.0,))]


@dataclass(frozen=True)
class _Fitted:
    """One grid point's confidence logistic and cut, and what it does on the held-out questions."""

    params: ScoringParams       # the fusion weights, with the (unanchored) logistic
    cut: float                  # on the logistic's z
    fused: np.ndarray           # held-out questions x entries
    right: np.ndarray           # per question: 1.0 when its top entry is right
    held: np.ndarray            # per question: its z
    out: np.ndarray             # z with its own entry taken out
    off: np.ndarray             # z of each off-topic question

    @property
    def answered(self) -> np.ndarray:
        return self.held >= self.cut

    @property
    def top1(self) -> float:
        return float(self.right.mean())


def _fit_point(matrix: _Matrix, off: Sequence[Channels], params: ScoringParams, target: float) -> _Fitted:
    fused = matrix.fused(params)
    top, score, margin = _top_two(fused)
    right = (top == matrix.truth).astype(float)
    without = fused.copy()
    without[np.arange(len(fused)), matrix.truth] = -np.inf   # the same questions, their entry taken out
    _, out_score, out_margin = _top_two(without)
    _, off_score, off_margin = _top_two(np.stack([c.fused(params) for c in off]))
    off_english = np.array([_english(c) for c in off], float)
    english = matrix.english_query.astype(float)
    x = np.concatenate([np.stack([score, margin, english], 1), np.stack([out_score, out_margin, english], 1),
                        np.stack([off_score, off_margin, off_english], 1)])
    y = np.concatenate([right, np.zeros(len(out_score) + len(off_score))])
    bias, s_slope, m_slope, e_shift = (float(v) for v in fit_logistic(x, y))

    def z(s, m, e):
        return bias + s_slope * s + m_slope * m + e_shift * e

    held, offz = z(score, margin, english), z(off_score, off_margin, off_english)
    fitted = replace(params, bias=bias, score_slope=s_slope, margin_slope=m_slope, english_shift=e_shift)
    return _Fitted(fitted, _cut(held, right, offz, target), fused, right, held,
                   z(out_score, out_margin, english), offz)


def _best(matrix: _Matrix, off: Sequence[Channels], base: ScoringParams, english: bool,
          target: float) -> _Fitted:
    """The grid point that answers the most held-out questions at the target (what the bank gets
    from the fit), then the best top-1; a tie keeps the earlier, simpler point. Choosing by top-1
    alone picked, on the demo base edited by staff, a classifier weight that ranked better but
    answered 25 % of held-out questions at 2 % where weight 0 answered more."""
    best, best_key = None, (-1, -1.0)
    for params in _grid(base, english):
        point = _fit_point(matrix, off, params, target)
        # Counts, not shares: exact, so an equal answered count falls through to top-1 and an
        # equal pair keeps the earlier point.
        key = (int(point.answered.sum()), float(point.right.sum()))
        if key > best_key:
            best, best_key = point, key
    assert best is not None
    return best


def _top_two(fused: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top position, top score, margin over the runner-up) per row."""
    order = np.argsort(-fused, axis=1)[:, :2]
    rows = np.arange(len(fused))
    top, second = fused[rows, order[:, 0]], fused[rows, order[:, 1]]
    return order[:, 0], top, top - second


def _english(channels: Channels) -> bool:
    # The same test the index applies to a query's confidence (no Chinese characters).
    return english_query(channels.query_text)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def fit(index: KnowledgeIndex, *, threshold: float, target: float = TARGET_WRONG, folds: int = 10,
        base: ScoringParams | None = None, clarify: Clarify | None = None) -> Calibration | None:
    """The index's scoring refitted on its own example questions (None: too few to fit).
    `clarify`: the clarifying rule, to forecast how many unanswered questions it would ask about."""
    started, generation = time.perf_counter(), index.generation
    entries = max(len(index), 1)
    found = index.held_out(folds=folds, max_queries=max(MIN_QUESTIONS, min(3000, MAX_CELLS // entries)))
    if len(found) < MIN_QUESTIONS or entries < 2:
        return None
    matrix = _Matrix.of(found)
    off = [c for c in (index.channels(q, classifier=True, english=True) for q in OFF_TOPIC) if c is not None]
    chosen = _best(matrix, off, base or index.params, index.english_embedder is not None, target)
    # Anchor the cut on the configured threshold: confidence(cut) == threshold.
    p = chosen.params
    params = replace(p, bias=round(p.bias + _logit(threshold) - chosen.cut, 4), score_slope=round(p.score_slope, 4),
                     margin_slope=round(p.margin_slope, 4), english_shift=round(p.english_shift, 4))
    answered, right, cut = chosen.answered, chosen.right, chosen.cut
    clarified = None if clarify is None else _clarified(
        clarify, params, found[0][1].entries, chosen.fused, matrix, ~answered)
    point = OperatingPoint(
        threshold=threshold, target=target, answered=float(answered.mean()),
        wrong=float(1.0 - right[answered].mean()) if answered.any() else 0.0, top1=chosen.top1,
        off_topic_accepted=float((chosen.off >= cut).mean()),
        not_in_base_accepted=float((chosen.out >= cut).mean()),
        questions=len(found), generation=generation, seconds=time.perf_counter() - started,
        clarified=None if clarified is None else clarified[0],
        clarified_with_expected=None if clarified is None else clarified[1])
    return Calibration(params, point)


def _clarified(clarify: Clarify, params: ScoringParams, entries: Sequence, fused: np.ndarray,
               matrix: _Matrix, unanswered: np.ndarray) -> tuple[float, float | None]:
    """(share of the held-out questions the rule would ask about, share of those whose options
    hold their entry), asking the rule only about the questions left unanswered, as the responder
    does (a confident answer is never turned into a question by `tie_margin` 0, the default)."""
    asked = hit = 0
    for row in np.flatnonzero(unanswered):
        order = np.argsort(-fused[row])[:CLARIFY_CANDIDATES]
        english = bool(matrix.english_query[row])
        margins = [fused[row, order[0]] - fused[row, order[1]]] + [
            fused[row, pos] - fused[row, order[0]] for pos in order[1:]]
        candidates = [Candidate(entries[pos], float(fused[row, pos]),
                                params.confidence(float(fused[row, pos]), float(m), english), "")
                      for pos, m in zip(order, margins, strict=True)]
        offered, _ = clarify(candidates, params.confidence, english)
        if offered:
            asked += 1
            hit += any(c.entry.id == entries[matrix.truth[row]].id for c in offered)
    share = asked / max(len(fused), 1)
    return share, (hit / asked if asked else None)


def _cut(held: np.ndarray, right: np.ndarray, off_topic: np.ndarray, target: float) -> float:
    """The lowest cut (on the logistic's z) whose answered held-out questions are wrong at most
    `target` of the time and that answers at most MAX_OFF_TOPIC of off-topic questions."""
    candidates = np.unique(np.concatenate([held, off_topic]))   # ascending
    order = np.argsort(held)
    # Questions at or above each candidate: those from its insertion point in the sorted z on.
    start = np.searchsorted(held[order], candidates, side="left")
    wrong_from = np.concatenate([np.cumsum((1.0 - right[order])[::-1])[::-1], [0.0]])
    wrong_above, answered_above = wrong_from[start], len(held) - start
    off_above = (len(off_topic) - np.searchsorted(np.sort(off_topic), candidates, side="left")) / max(len(off_topic), 1)
    ok = (wrong_above <= target * np.maximum(answered_above, 1) + 1e-9) & (off_above <= MAX_OFF_TOPIC)
    # Above every held-out question nothing is answered: the cut then sits just past the top.
    return float(candidates[np.argmax(ok)]) if ok.any() else float(held.max() + 1e-6)


def describe_scoring(index: KnowledgeIndex) -> str:
    """Which scoring the index serves with, and (self-calibrated) what its threshold means."""
    point = index.operating_point
    if point is not None:
        return f"self-calibrated on the knowledge base's own example questions: {point.summary()}"
    return "fitted offline (knowledge.scoring defaults, or the settings' [scoring])"


class SelfCalibrator:
    """Keeps an index's scoring fitted to its current entries.

    `refit()` fits now (start-up calls it, so the first answers are calibrated); `follow()`
    refits in a background thread after every later change, a second after the last one (a
    bulk import refits once), and installs the result only if no change arrived meanwhile.
    Searches go on with the previous scoring during a refit.
    """

    DEBOUNCE_S = 1.0

    def __init__(self, index: KnowledgeIndex, *, threshold: float, target: float = TARGET_WRONG,
                 fitted_for: Collection[str] = (), clarify: Clarify | None = None) -> None:
        """`fitted_for`: entry fingerprints (`knowledge.vectors.entry_fingerprint`) of a knowledge
        base the index's current scoring was fitted on offline (the bundled demo and
        `knowledge.scoring`'s defaults, fitted with homophone noise that held-out examples do
        not model): while the index holds exactly those entries, that scoring stays."""
        self.index, self.threshold, self.target, self.clarify = index, threshold, target, clarify
        self.current: Calibration | None = None
        self._base = index.params
        self._fitted_for = frozenset(fitted_for)
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()

    def refit(self) -> Calibration | None:
        served = {entry_fingerprint(e) for e in self.index.entries()}
        if self._fitted_for and served == self._fitted_for:
            log.info("self-calibration: the knowledge base is the one the scoring was fitted on; kept")
            self.index.install(self._base)
            self.current = None
            return None
        calibration = fit(self.index, threshold=self.threshold, target=self.target, base=self._base,
                          clarify=self.clarify)
        if calibration is None:
            log.info("self-calibration skipped: too few example questions; default scoring kept")
            self.index.install(self._base)
            self.current = None
        elif calibration.point.generation == self.index.generation:
            self.index.install(calibration.params, calibration.point)
            self.current = calibration
            log.info("self-calibration (%.1f s): %s", calibration.point.seconds, calibration.point.summary())
        return calibration

    def follow(self) -> SelfCalibrator:
        self.index.on_change(self._changed)
        threading.Thread(target=self._run, name="self-calibration", daemon=True).start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Until no refit is pending (tests, and `kb` commands that report the result)."""
        return self._idle.wait(timeout)

    def _changed(self) -> None:
        self._idle.clear()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            while self._wake.is_set():   # debounce: wait until changes stop arriving
                self._wake.clear()
                time.sleep(self.DEBOUNCE_S)
            try:
                self.refit()
            except Exception:  # a failed fit must not stop later ones; the old scoring stays
                log.exception("self-calibration failed; the previous scoring stays in use")
            if not self._wake.is_set():
                self._idle.set()
