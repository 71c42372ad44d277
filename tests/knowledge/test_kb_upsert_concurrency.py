"""An approval embeds its entry without holding up searches, and concurrent changes leave the
index as a fresh build of the same entries would be. Fast tier: the hash embedder of
tests/fakes, made to block on chosen texts so a test can hold an upsert mid-embedding."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from knowledge import Entry, KnowledgeIndex
from knowledge.vectors import QuestionVectors
from tests.fakes import FAKE_KB, HashEmbedder

HOLD = "[hold]"  # an example question containing this blocks the embedder until released
WAIT_S = 10.0


class HeldEmbedder(HashEmbedder):
    """Embeds like HashEmbedder, but a batch with a HOLD text waits for `release` (and says so
    with `holding`): the embedding of an upsert, stopped half-way for as long as a test likes."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()

    def embed_queries(self, texts):
        if any(HOLD in t for t in texts):
            self.holding.set()
            assert self.release.wait(WAIT_S), "the test never released the embedder"
        return super().embed_queries(texts)


@pytest.fixture
def entries():
    return [Entry.from_dict(e) for e in FAKE_KB]


@pytest.fixture
def held(tmp_path, entries):
    embedder = HeldEmbedder()
    index = KnowledgeIndex(tmp_path / "live", embedder)
    index.build(entries)
    yield index, embedder
    embedder.release.set()   # never leave a worker blocked, whatever the test asserted


def insurance(version: int = 1, *, hold: bool = False) -> Entry:
    asked = "do you sell travel insurance" + (f" {HOLD}" if hold else "")
    return Entry.from_dict({"id": "travel-insurance", "version": version, "questions": {"en": [asked]},
                            "answer": {"en": "Yes, at every branch."}})


def test_a_search_does_not_wait_for_an_upsert_to_embed(held):
    index, embedder = held
    with ThreadPoolExecutor(2) as pool:
        upsert = pool.submit(index.upsert, insurance(hold=True))
        assert embedder.holding.wait(WAIT_S)
        # The upsert is inside the model now; a search must answer from the entries as they were.
        search = pool.submit(index.search, "I lost my bank card", 3)
        try:
            found = search.result(timeout=2.0)
        finally:
            embedder.release.set()
        assert found[0].entry.id == "lost-card"
        assert "travel-insurance" not in {c.entry.id for c in found}
        upsert.result(timeout=WAIT_S)
    assert index.search("do you sell travel insurance", 1)[0].entry.id == "travel-insurance"


def test_concurrent_changes_leave_what_a_fresh_build_would(held, entries, tmp_path):
    index, embedder = held
    lost = entries[0]
    assert lost.id == "lost-card"
    older = replace(lost, version=2, questions={"en": (f"my card was stolen {HOLD}",)})
    newer = replace(lost, version=3, questions={"en": ("my card is gone", "someone took my card")})
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(index.upsert, older)
        assert embedder.holding.wait(WAIT_S)
        # Started while the first is embedding: the same entry again, and another entry.
        second = pool.submit(index.upsert, newer)
        other = pool.submit(index.upsert, insurance())
        time.sleep(0.2)   # let them reach the index before the first one's model returns
        embedder.release.set()
        for done in (first, second, other):
            done.result(timeout=WAIT_S)

    final = [newer, *entries[1:], insurance()]
    assert {e.id: e for e in index.entries()} == {e.id: e for e in final}
    fresh = KnowledgeIndex(tmp_path / "fresh", HashEmbedder())
    fresh.build(final)
    # The same vectors on disk, entry by entry: the later upsert's, made from its own questions.
    stored, expected = index.vectors.examples(), fresh.vectors.examples()
    assert stored.keys() == expected.keys()
    for key in expected:
        assert stored[key].texts == expected[key].texts, key
        np.testing.assert_allclose(stored[key].vectors, expected[key].vectors, atol=1e-6)
    # And the same answers from memory.
    for question in ("my card is gone", "my card was stolen", "do you sell travel insurance",
                     "what are your opening hours", "你们有哪些理财产品"):
        got = [(c.entry.id, round(c.score, 5), c.matched) for c in index.search(question, 4)]
        want = [(c.entry.id, round(c.score, 5), c.matched) for c in fresh.search(question, 4)]
        assert got == want, question
    # The stored fingerprint follows: reopening with these entries embeds nothing.
    again = KnowledgeIndex(tmp_path / "live", HashEmbedder()).build(final)
    assert again.reused and again.embedded == 0


def test_stored_vectors_must_come_from_the_store_s_own_model(tmp_path, entries):
    store = QuestionVectors(tmp_path, HashEmbedder())
    made = store.embed(entries[:1])
    assert len(made.rows) == len(made.vectors) == len(entries[0].example_questions())

    class Other(HashEmbedder):
        name = "another-model"

    with pytest.raises(ValueError, match="another-model"):
        store.write(QuestionVectors(tmp_path, Other()).embed(entries[:1]))
    with pytest.raises(ValueError, match="shape"):
        store.write(made._replace(vectors=made.vectors[:, :8]))
    assert store.write(made) == len(made.rows) and store.examples().keys() == {"lost-card"}
    with pytest.raises(TypeError, match="Entry"):
        KnowledgeIndex(tmp_path / "index", HashEmbedder()).upsert(FAKE_KB[0])
