"""Measuring retrieval: a labelled question file against an index, and an embedder on pairs.

`digital-teller kb eval` and `kb pairs` are thin wrappers around this module, so a bank can
measure its own knowledge base with its own questions instead of trusting the demo figures.

Query file (CSV, UTF-8, BOM accepted, header ``question,expected_entry_id``): an empty
expected id means the teller should hand the question to a person. Pairs file (TSV, one
``sentence1<TAB>sentence2<TAB>label`` per line, label 1 = same meaning, an identical header
line is allowed). Both are validated as a whole and every bad line is reported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .embedders import Embedder
from .index import Candidate, KnowledgeIndex

_ID_RE = re.compile(r"[a-z0-9-]{1,64}")
QUERY_HEADER = ("question", "expected_entry_id")
PAIR_HEADER = ("sentence1", "sentence2", "label")


@dataclass(frozen=True)
class FileProblem:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: field {self.field!r}: {self.reason}"


class EvalFileError(ValueError):
    """A query or pairs file that cannot be evaluated; `problems` names every bad line."""

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("; ".join(str(p) for p in self.problems))


# ------------------------------------------------------------------ query evaluation

@dataclass(frozen=True)
class EvalQuery:
    line: int
    question: str
    expected: str | None  # None: the teller should hand off


@dataclass(frozen=True)
class QueryOutcome:
    query: EvalQuery
    top_id: str | None
    confidence: float
    answered: bool  # confidence at or above the threshold, and no clarifying question asked
    offered: tuple[str, ...] = ()   # the teller asked which of these entries was meant

    @property
    def top1_right(self) -> bool:
        return self.query.expected is not None and self.top_id == self.query.expected

    @property
    def mistake(self) -> str | None:
        """None when the teller did the right thing, else what went wrong. A clarifying question
        that offers the expected entry is not a mistake."""
        if self.offered:
            if self.query.expected is None:
                return "clarified, should hand off"
            return None if self.query.expected in self.offered else "clarified without the expected entry"
        if self.query.expected is None:
            return "answered, should hand off" if self.answered else None
        if self.answered:
            return None if self.top1_right else "wrong answer"
        return "handed off (top-1 right)" if self.top1_right else "handed off (top-1 wrong)"


@dataclass(frozen=True)
class EvalFigures:
    """Rates are None (JSON null) when their denominator is zero, never a made-up 0 or 1."""

    questions: int
    answerable: int            # questions with an expected entry
    top1_accuracy: float | None        # answerable questions whose top candidate is right
    answered_accuracy: float | None    # of the questions answered, share answered right
    handoff_rate: float | None         # of all questions, share handed off
    wrong_answer_rate: float | None    # of all questions, answered wrongly or answered off-topic
    offtopic_handoff_rate: float | None  # of the should-hand-off questions, share handed off
    threshold: float
    clarified_rate: float | None = None   # of all questions, share answered with a clarifying question
    clarified_with_expected: float | None = None   # of the answerable ones clarified, share offering the expected entry

    def to_json(self) -> dict[str, float | int | None]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def parse_queries(text: str) -> list[EvalQuery]:
    """Validated queries, or EvalFileError naming every bad line."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    problems: list[FileProblem] = []
    queries: list[EvalQuery] = []
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != QUERY_HEADER:
        raise EvalFileError([FileProblem(1, "header", f"must be exactly {','.join(QUERY_HEADER)!r}, "
                                                      f"got {','.join(header or [])!r}")])
    line = reader.line_num + 1
    for row in reader:
        # A quoted field may span lines: report the line the row starts on.
        start, line = line, reader.line_num + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != 2:
            problems.append(FileProblem(start, "row", f"expected 2 fields, got {len(row)}"))
            continue
        question, expected = row[0].strip(), row[1].strip()
        if not question:
            problems.append(FileProblem(start, "question", "empty"))
        if expected and not _ID_RE.fullmatch(expected):
            problems.append(FileProblem(start, "expected_entry_id",
                                        f"{expected!r} is not an entry id ([a-z0-9-]{{1,64}})"))
        queries.append(EvalQuery(start, question, expected or None))
    if problems:
        raise EvalFileError(problems)
    if not queries:
        raise EvalFileError([FileProblem(1, "row", "no questions in the file")])
    return queries


# Which entries a clarifying question would offer for a question and its candidates (none: no
# question); the server's rule lives in the assistant package (`Responder.offered`).
Clarifier = Callable[[str, Sequence[Candidate]], Sequence[str]]
CLARIFY_K = 6   # candidates the clarifying rule sees, as the server retrieves them


def evaluate(index: KnowledgeIndex, queries: Sequence[EvalQuery], threshold: float, *,
             clarify: Clarifier | None = None) -> list[QueryOutcome]:
    """Each question searched once; an expected id the index does not hold is an error,
    since such a question could never be counted right and would silently lower the score.
    With `clarify`, a question it offers options for is counted as clarified, not answered."""
    known = {e.id for e in index.entries()}
    unknown = [FileProblem(q.line, "expected_entry_id", f"no entry {q.expected!r} in the index")
               for q in queries if q.expected is not None and q.expected not in known]
    if unknown:
        raise EvalFileError(unknown)
    outcomes = []
    for q in queries:
        found = index.search(q.question, k=CLARIFY_K if clarify else 1)
        top = found[0] if found else None
        confidence = top.confidence if top else 0.0
        offered = tuple(clarify(q.question, found)) if clarify else ()
        outcomes.append(QueryOutcome(q, top.entry.id if top else None, confidence,
                                     top is not None and confidence >= threshold and not offered, offered))
    return outcomes


def figures(outcomes: Sequence[QueryOutcome], threshold: float) -> EvalFigures:
    n = len(outcomes)
    answerable = [o for o in outcomes if o.query.expected is not None]
    offtopic = [o for o in outcomes if o.query.expected is None]
    answered = [o for o in outcomes if o.answered]
    clarified = [o for o in outcomes if o.offered]
    right = sum(o.top1_right for o in answered)
    asked = [o for o in clarified if o.query.expected is not None]
    return EvalFigures(
        questions=n,
        answerable=len(answerable),
        top1_accuracy=_rate(sum(o.top1_right for o in answerable), len(answerable)),
        answered_accuracy=_rate(right, len(answered)),
        handoff_rate=_rate(n - len(answered) - len(clarified), n),
        wrong_answer_rate=_rate(len(answered) - right, n),
        offtopic_handoff_rate=_rate(sum(not o.answered and not o.offered for o in offtopic), len(offtopic)),
        threshold=threshold,
        clarified_rate=_rate(len(clarified), n),
        clarified_with_expected=_rate(sum(o.query.expected in o.offered for o in asked), len(asked)),
    )


CURVE_THRESHOLDS = tuple(round(0.30 + 0.05 * i, 2) for i in range(14))   # 0.30 ... 0.95


@dataclass(frozen=True)
class CurvePoint:
    """What the teller would do on the evaluated questions at one hand-off threshold."""

    threshold: float
    answered: float | None        # share of all questions answered
    wrong_of_answered: float | None   # share of the answers given that were wrong (or off-topic)
    wrong: float | None           # share of all questions answered wrongly (or off-topic answered)


def threshold_curve(outcomes: Sequence[QueryOutcome],
                    thresholds: Sequence[float] = CURVE_THRESHOLDS) -> list[CurvePoint]:
    """The answered-vs-wrong trade-off by threshold, from each question's top confidence (so a
    bank can see what a stricter or looser threshold would cost before it changes one)."""
    n = len(outcomes)
    points = []
    for t in thresholds:
        said = [o for o in outcomes if o.confidence >= t]
        wrong = sum(not o.top1_right for o in said)
        points.append(CurvePoint(t, _rate(len(said), n), _rate(wrong, len(said)), _rate(wrong, n)))
    return points


# ------------------------------------------------------------------ sentence pairs

@dataclass(frozen=True)
class Pair:
    line: int
    sentence1: str
    sentence2: str
    label: int  # 1: same meaning


@dataclass(frozen=True)
class PairFigures:
    pairs: int
    positives: int
    auc: float
    best_accuracy: float
    best_threshold: float  # "same meaning" when cosine >= this

    def to_json(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def parse_pairs(text: str) -> list[Pair]:
    """Validated pairs, or EvalFileError naming every bad line.

    Split on tabs by hand rather than with the csv module: questions contain quotes,
    which a TSV dialect would treat as field quoting.
    """
    problems: list[FileProblem] = []
    pairs: list[Pair] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split("\t")
        if number == 1 and tuple(f.strip().lower() for f in fields) == PAIR_HEADER:
            continue
        if len(fields) != 3:
            problems.append(FileProblem(number, "row", f"expected 3 tab-separated fields, got {len(fields)}"))
            continue
        s1, s2, label = (f.strip() for f in fields)
        for name, value in (("sentence1", s1), ("sentence2", s2)):
            if not value:
                problems.append(FileProblem(number, name, "empty"))
        if label not in ("0", "1"):
            problems.append(FileProblem(number, "label", f"must be 0 or 1, got {label!r}"))
            continue
        pairs.append(Pair(number, s1, s2, int(label)))
    if problems:
        raise EvalFileError(problems)
    labels = {p.label for p in pairs}
    if labels != {0, 1}:
        # AUC and a threshold mean nothing unless both kinds of pair are present.
        missing = "no pairs at all" if not pairs else f"every pair has label {labels.pop()}"
        raise EvalFileError([FileProblem(1, "label", f"need pairs with label 0 and label 1: {missing}")])
    return pairs


def pair_similarities(embedder: Embedder, pairs: Sequence[Pair]) -> np.ndarray:
    """Cosine of each pair. Both sides are embedded as queries, as the index embeds
    stored questions (question-to-question is e5's symmetric case); each distinct
    text is embedded once."""
    texts = list(dict.fromkeys(t for p in pairs for t in (p.sentence1, p.sentence2)))
    vectors = np.concatenate([embedder.embed_queries(texts[s:s + 64]) for s in range(0, len(texts), 64)])
    row = {t: i for i, t in enumerate(texts)}
    a = vectors[[row[p.sentence1] for p in pairs]]
    b = vectors[[row[p.sentence2] for p in pairs]]
    return np.einsum("ij,ij->i", a, b).astype(np.float64)


def rank_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half),
    from the Mann-Whitney rank sum with tied scores given their average rank."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if not pos or not neg:
        raise ValueError("AUC needs at least one positive and one negative")
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    first_rank = np.concatenate([[0], np.cumsum(counts)[:-1]]) + 1
    average_rank = first_rank + (counts - 1) / 2.0
    rank_sum = float(average_rank[inverse][labels].sum())
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold) of the best rule "same meaning iff score >= threshold".

    Every cut between two distinct sorted scores is tried (equal scores cannot be
    split), plus "all same" and "all different"; the threshold reported is the
    midpoint of the cut, the lowest one on a tie in accuracy.
    """
    order = np.argsort(scores, kind="stable")
    s = np.asarray(scores, dtype=np.float64)[order]
    y = np.asarray(labels).astype(np.int64)[order]
    n = len(s)
    neg_below = np.concatenate([[0], np.cumsum(1 - y)])           # negatives left of cut j
    pos_above = int(y.sum()) - np.concatenate([[0], np.cumsum(y)])  # positives at or right of cut j
    correct = neg_below + pos_above
    cuts = np.concatenate([[0], np.nonzero(s[1:] > s[:-1])[0] + 1, [n]])
    best = int(cuts[np.argmax(correct[cuts])])
    if best == 0:
        threshold = float(s[0])
    elif best == n:
        threshold = float(np.nextafter(s[-1], np.inf))
    else:
        threshold = float((s[best - 1] + s[best]) / 2.0)
    return float(correct[best]) / n, threshold


def pair_figures(scores: np.ndarray, labels: np.ndarray) -> PairFigures:
    accuracy, threshold = best_threshold(scores, labels)
    return PairFigures(len(scores), int(np.sum(labels)), rank_auc(scores, labels), accuracy, threshold)
