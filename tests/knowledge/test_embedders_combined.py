"""`A+B` embedders: several real models side by side (e5-small and MiniLM), one vector space
whose cosine is the mean of the models' cosines, usable by the index like any embedder."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge import KnowledgeIndex
from knowledge.embedders import CombinedEmbedder, Embedder, load_embedder

pytestmark = pytest.mark.slow  # loads real models (see tests/conftest.py)

QUESTIONS = ["How do I report a lost card?", "I lost my bank card, what should I do?",
             "What time does the branch open on Saturday?", "银行卡丢了怎么办"]


@pytest.fixture(scope="session")
def combined() -> Embedder:
    return load_embedder("e5-small+minilm")


def test_loaded_once_from_the_process_wide_parts(combined):
    assert isinstance(combined, CombinedEmbedder) and isinstance(combined, Embedder)
    assert load_embedder("e5-small+minilm") is combined
    assert combined.parts == (load_embedder("e5-small"), load_embedder("minilm"))
    assert combined.name == "e5-small+minilm-l6-v2" and combined.dim == 384 + 384


def test_cosine_is_the_mean_of_the_models_cosines(combined):
    for embed in ("embed_queries", "embed_passages"):
        joined = getattr(combined, embed)(QUESTIONS)
        assert joined.dtype == np.float32 and joined.shape == (len(QUESTIONS), combined.dim)
        assert np.allclose(np.linalg.norm(joined, axis=1), 1.0, atol=1e-5)
        parts = [getattr(p, embed)(QUESTIONS) for p in combined.parts]
        mean_cosine = sum(p @ p.T for p in parts) / len(parts)
        assert np.allclose(joined @ joined.T, mean_cosine, atol=1e-5)
    assert combined.embed_queries([]).shape == (0, combined.dim)


def test_a_combination_needs_two_models_and_known_names():
    with pytest.raises(ValueError, match="at least two"):
        CombinedEmbedder([load_embedder("e5-small")])
    with pytest.raises(KeyError, match="unknown embedder 'nope'"):
        load_embedder("e5-small+nope")


def test_an_index_built_with_the_combination_finds_english_paraphrases(combined, demo_entries, tmp_path):
    # A third of the demo KB (with the two entries asked for) keeps this test quick on 2 cores.
    english = [e for i, e in enumerate(demo_entries)
               if "en" in e.questions and (i % 3 == 0 or e.id in {"lost-card", "holiday-hours"})]
    index = KnowledgeIndex(tmp_path / "combined-index", combined)
    index.build(english)
    for question, expected in [("Someone took my debit card, how do I stop it", "lost-card"),
                               ("Is the branch open during the Spring Festival", "holiday-hours")]:
        found = index.search(question, k=3)
        assert found and found[0].entry.id == expected, (question, [(c.entry.id, c.score) for c in found])
