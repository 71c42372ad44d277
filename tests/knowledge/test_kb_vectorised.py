"""The array-at-once search gives what a plain per-entry computation gives.

The references below are written the straightforward way (a Python loop over
postings for BM25, a weighted least-squares solve for the classifier, a loop over
entries for fusion and a full sort), so a slip in the sparse matrix, the reduceat,
the closed form or the partial sort shows up as a different score or order.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from knowledge import KnowledgeIndex
from knowledge.classifier import EntryClassifier
from knowledge.lexical import LexicalIndex, tokenize

SMALL = ("lost-card", "pin-reset", "opening-hours", "fx-buy", "coin-exchange", "greeting",
         "deposit-rates", "international-wire", "receive-international")
QUERIES = ["我的卡丢了怎么办", "鱼鹅怎么查", "How do I send money abroad", "换点零钱", "几点开门",
           "I want to change my PIN", "外汇怎么买", "hello there", "今天天气怎么样", "ATM"]


def reference_bm25(docs: dict[str, list[str]], query: str, k1=1.2, b=0.75) -> dict[str, tuple[float, str]]:
    """key -> (normalised score of its best document, that document); keys sharing no term absent."""
    tokenized = [(key, text, Counter(tokenize(text))) for key, texts in docs.items() for text in texts]
    n = len(tokenized)
    avg = sum(sum(c.values()) for _, _, c in tokenized) / n
    terms = Counter(tokenize(query))

    def idf(term):
        df = sum(term in c for _, _, c in tokenized)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def part(tf, length):
        return tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length / avg))

    ideal = sum(idf(t) * part(tf, sum(terms.values())) for t, tf in terms.items())
    best: dict[str, tuple[float, str]] = {}
    for key, text, counts in tokenized:
        shared = [t for t in terms if t in counts]
        if not shared:
            continue
        score = sum(idf(t) * part(counts[t], sum(counts.values())) for t in shared)
        if key not in best or score > best[key][0]:
            best[key] = (score, text)
    return {key: (min(1.0, s / ideal), text) for key, (s, text) in best.items()}


def reference_classifier(examples: dict[str, np.ndarray], ridge: float, query: np.ndarray) -> dict[str, float]:
    """Weighted ridge regression onto one-hot targets, solved as an augmented least squares."""
    keys = list(examples)
    means = np.stack([examples[k].astype(np.float64).mean(0) for k in keys])
    mu = means.mean(0)
    rows, targets, weights = [], [], []
    for i, key in enumerate(keys):
        for x in examples[key]:
            rows.append(x - mu)
            targets.append(np.eye(len(keys))[i])
            weights.append(1.0 / (len(examples[key]) * len(keys)))
    x, y, w = np.array(rows, np.float64), np.array(targets), np.sqrt(weights)[:, None]
    dim = x.shape[1]
    penalty = ridge * np.trace((x * w).T @ (x * w)) / dim
    a = np.vstack([x * w, math.sqrt(penalty) * np.eye(dim)])
    t = np.vstack([y * w, np.zeros((dim, len(keys)))])
    coef = np.linalg.lstsq(a, t, rcond=None)[0]
    return dict(zip(keys, (query.astype(np.float64) - mu) @ coef, strict=True))


@pytest.fixture(scope="module")
def small(demo_entries):
    return [e for e in demo_entries if e.id in SMALL]


def questions(entry):
    return [q for _, _, q in entry.example_questions()]


def test_bm25_arrays_equal_the_posting_loop(demo_entries):
    docs = {e.id: questions(e) for e in demo_entries[:30]}
    index = LexicalIndex()
    for key, texts in docs.items():
        index.set_documents(key, texts)
    # Changes after a search must reach the next one (the matrix is rebuilt).
    index.search("anything")
    index.remove(demo_entries[3].id)
    del docs[demo_entries[3].id]
    index.set_documents("extra", ["Can I bring my dog", "宠物能进网点吗"])
    docs["extra"] = ["Can I bring my dog", "宠物能进网点吗"]
    for query in [*QUERIES, "dog", "宠物", "weather on Mars", ""]:
        want = reference_bm25(docs, query)
        got = index.scores(query)
        by_key = dict(zip(got.keys, got.scores, strict=True))
        assert set(by_key) == set(docs)
        for key in docs:
            assert by_key[key] == pytest.approx(want.get(key, (0.0, ""))[0], abs=1e-12), (query, key)
        hits = index.search(query)
        assert [h.key for h in hits] == sorted(want, key=lambda k: (-want[k][0], k))
        assert [h.text for h in hits] == [want[h.key][1] for h in hits]
    assert sum(index.scores("dog").scores > 0) == 1


def test_classifier_equals_a_least_squares_solve(small, embedder):
    examples = {e.id: embedder.embed_queries(questions(e)) for e in small}
    order = [e.id for e in reversed(small)]
    fitted = EntryClassifier(examples, order, ridge=0.3)
    for query in embedder.embed_queries(QUERIES[:4]):
        want = reference_classifier(examples, 0.3, query)
        assert fitted.scores(query) == pytest.approx([want[k] for k in order], abs=1e-4)
    # A question like an entry's own examples scores near 1 for it and low elsewhere.
    own = fitted.scores(examples["lost-card"].mean(0))
    assert own[order.index("lost-card")] > 0.5 > max(np.delete(own, order.index("lost-card")))


@pytest.mark.parametrize("classifier_weight", [0.0, 0.05])
def test_search_equals_a_per_entry_reference(tmp_path, embedder, small, classifier_weight):
    index = KnowledgeIndex(tmp_path, embedder, classifier_weight=classifier_weight)
    index.build(small)
    examples = {e.id: embedder.embed_queries(questions(e)) for e in small}
    centroids = {k: v.sum(0) / np.linalg.norm(v.sum(0)) for k, v in examples.items()}
    docs = {e.id: questions(e) for e in small}
    params = index.params
    for text in QUERIES:
        query_text = index.normalise_query(text)
        query = embedder.embed_queries([query_text])[0]
        # The pool a search of k = len(small) asks Chroma for: max(dense_pool, 10 k).
        nearest = index._vectors.nearest(query, min(sum(map(len, docs.values())), 10 * len(small)))
        floor = min(sim for sim, _ in nearest.values())
        lexical = reference_bm25(docs, query_text)
        learned = reference_classifier(examples, index.classifier_ridge, query)
        fused = {e.id: params.fuse(nearest.get(e.id, (floor, ""))[0], float(centroids[e.id] @ query),
                                   lexical.get(e.id, (0.0, ""))[0], learned[e.id])
                 for e in small}
        ranked = sorted(fused, key=lambda k: -fused[k])  # stable: ties keep index order
        found = index.search(text, k=len(small))
        assert [c.entry.id for c in found] == ranked, text
        for rank, c in enumerate(found):
            assert c.score == pytest.approx(fused[c.entry.id], abs=1e-5)
            rival = ranked[1] if rank == 0 else ranked[0]
            english = not any("\u4e00" <= ch <= "\u9fff" for ch in query_text)
            assert c.confidence == pytest.approx(
                params.confidence(fused[c.entry.id], fused[c.entry.id] - fused[rival], english), abs=1e-3)
        assert [c.entry.id for c in index.search(text, k=3)] == ranked[:3]


def test_classifier_follows_changes_like_a_rebuild(tmp_path, embedder, small):
    live = KnowledgeIndex(tmp_path / "live", embedder, classifier_weight=0.05)
    live.build(small[:-2])
    live.search("warm the snapshot")
    live.upsert(small[-1])
    live.upsert(small[-2])
    live.remove(small[0].id)
    fresh = KnowledgeIndex(tmp_path / "fresh", embedder, classifier_weight=0.05)
    fresh.build(small[1:])
    for text in QUERIES:
        a, b = live.search(text, k=4), fresh.search(text, k=4)
        assert [c.entry.id for c in a] == [c.entry.id for c in b], text
        assert [c.score for c in a] == pytest.approx([c.score for c in b], abs=1e-6)
    assert small[0].id not in {c.entry.id for t in QUERIES for c in live.search(t, k=len(small))}
