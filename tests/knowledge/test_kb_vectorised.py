"""The array-at-once search gives what a plain per-entry computation gives.

The references below are written the straightforward way (a Python loop over
postings for BM25, the cosine of the query with every example one by one for the
dense channels, a weighted least-squares solve for the classifier, a loop over
entries for fusion and a full sort), so a slip in the sparse matrix, the reduceat,
the closed form or the partial sort shows up as a different score or order.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

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


def reference_classifier(examples: dict[str, np.ndarray], c: float, query: np.ndarray) -> dict[str, float]:
    """scikit-learn's multinomial logistic regression on the same rows: an independent solver of
    the same objective (summed cross-entropy + |W|^2 / 2C, intercepts not penalised)."""
    from sklearn.linear_model import LogisticRegression

    keys = list(examples)
    x = np.concatenate([examples[k] for k in keys]).astype(np.float64)
    y = np.repeat(np.arange(len(keys)), [len(examples[k]) for k in keys])
    model = LogisticRegression(C=c, tol=1e-10, max_iter=10_000).fit(x, y)
    return dict(zip(keys, model.predict_proba(query.astype(np.float64)[None])[0], strict=True))


def reference_dense(examples: dict[str, np.ndarray], query: np.ndarray) -> dict[str, tuple[float, float]]:
    """key -> (cosine to its closest example, cosine to the mean of its examples), one by one."""
    def cosine(a, b):
        a, b = a.astype(np.float64), b.astype(np.float64)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    return {key: (max(cosine(x, query) for x in rows), cosine(rows.mean(0), query))
            for key, rows in examples.items()}


@pytest.fixture(scope="module")
def small(demo_entries):
    return [e for e in demo_entries if e.id in SMALL]


def questions(entry):
    return [q for _, _, q in entry.example_questions()]


def test_dense_channels_are_exact_for_every_entry(tmp_path, embedder, small):
    index = KnowledgeIndex(tmp_path, embedder)
    index.build(small)
    examples = {e.id: embedder.embed_queries(questions(e)) for e in small}
    texts = {e.id: questions(e) for e in small}
    records = sum(map(len, texts.values()))
    for text in QUERIES:
        found = index.channels(text)
        query = embedder.embed_queries([found.query_text])[0]
        want = reference_dense(examples, query)
        assert [e.id for e in found.entries] == [e.id for e in small]
        assert found.best_example == pytest.approx([want[e.id][0] for e in small], abs=1e-5), text
        assert found.centroid == pytest.approx([want[e.id][1] for e in small], abs=1e-5), text
        # Chroma's own search over every stored record: the persisted vectors and
        # their texts are the ones searched in memory.
        stored = index.vectors.nearest(query, records)
        assert set(stored) == set(texts)
        for pos, entry in enumerate(found.entries):
            assert found.best_example[pos] == pytest.approx(stored[entry.id][0], abs=1e-5)
            matched = found.matched(pos)
            cosines = dict(zip(texts[entry.id], examples[entry.id].astype(np.float64) @ query, strict=True))
            assert cosines[matched] == pytest.approx(want[entry.id][0], abs=1e-5), (text, entry.id)


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


def test_classifier_equals_an_independent_softmax_regression(small, embedder):
    examples = {e.id: embedder.embed_queries(questions(e)) for e in small}
    order = [e.id for e in reversed(small)]
    fitted = EntryClassifier(examples, order, c=3.0)
    for query in embedder.embed_queries(QUERIES[:4]):
        want = reference_classifier(examples, 3.0, query)
        assert fitted.scores(query) == pytest.approx([want[k] for k in order], abs=2e-3)
    # A question like an entry's own examples scores highest for it, and the scores are
    # probabilities over the entries.
    own = fitted.scores(examples["lost-card"].mean(0))
    assert int(np.argmax(own)) == order.index("lost-card")
    assert own.sum() == pytest.approx(1.0)
    # The fit does not depend on the order the entries are listed in.
    again = EntryClassifier(examples, sorted(order), c=3.0)
    query = embedder.embed_queries(["我的卡丢了"])[0]
    assert dict(zip(sorted(order), again.scores(query))) == pytest.approx(dict(zip(order, fitted.scores(query))))


@pytest.mark.parametrize("classifier_weight", [0.0, 0.05])
def test_search_equals_a_per_entry_reference(tmp_path, embedder, small, classifier_weight):
    index = KnowledgeIndex(tmp_path, embedder, classifier_weight=classifier_weight)
    index.build(small)
    examples = {e.id: embedder.embed_queries(questions(e)) for e in small}
    docs = {e.id: questions(e) for e in small}
    params = index.params
    for text in QUERIES:
        query_text = index.normalise_query(text)
        query = embedder.embed_queries([query_text])[0]
        dense = reference_dense(examples, query)
        lexical = reference_bm25(docs, query_text)
        learned = reference_classifier(examples, index.classifier_c, query)
        fused = {e.id: params.fuse(dense[e.id][0], dense[e.id][1],
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


@pytest.mark.parametrize("classifier_weight", [0.0, 0.05])
def test_changes_score_like_a_rebuild(tmp_path, embedder, small, classifier_weight):
    live = KnowledgeIndex(tmp_path / "live", embedder, classifier_weight=classifier_weight)
    live.build(small[:-2])
    live.search("warm the snapshot")
    live.upsert(small[-1])
    live.upsert(replace(small[-2], questions={"en": ("Do you sell travel insurance",)}))
    live.search("warm it again")
    live.upsert(small[-2])
    live.remove(small[0].id)
    fresh = KnowledgeIndex(tmp_path / "fresh", embedder, classifier_weight=classifier_weight)
    fresh.build(small[1:])
    for text in QUERIES:
        a, b = live.search(text, k=4), fresh.search(text, k=4)
        assert [c.entry.id for c in a] == [c.entry.id for c in b], text
        assert [c.score for c in a] == pytest.approx([c.score for c in b], abs=1e-6)
        assert [c.matched for c in a] == [c.matched for c in b], text
        # Every entry, not only the top: the channels agree entry by entry (the two
        # indexes hold them in different orders).
        x, y = live.channels(text), fresh.channels(text)
        order = [[e.id for e in x.entries].index(e.id) for e in y.entries]
        assert x.best_example[order] == pytest.approx(y.best_example, abs=1e-6)
        assert x.centroid[order] == pytest.approx(y.centroid, abs=1e-6)
        assert [x.matched(i) for i in order] == [y.matched(i) for i in range(len(y.entries))]
    assert small[0].id not in {c.entry.id for t in QUERIES for c in live.search(t, k=len(small))}


def test_a_base_too_large_to_fit_scores_zero_everywhere(small, embedder, monkeypatch):
    # Above the work bound the classifier is not fitted, so it changes no ranking.
    monkeypatch.setattr("knowledge.classifier.MAX_WORK", 10.0)
    examples = {e.id: embedder.embed_queries(questions(e)) for e in small}
    skipped = EntryClassifier(examples, list(examples))
    assert not skipped.fitted
    assert skipped.scores(embedder.embed_queries(["我的卡丢了"])[0]).tolist() == [0.0] * len(small)
