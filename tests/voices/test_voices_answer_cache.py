"""Answer cache: round trip, keys, atomic files, size bound, warming."""

from __future__ import annotations

import numpy as np
import pytest

from voices import load_voice
from voices.answer_cache import AnswerCache, synthesize_cached, warm

ANSWERS = ["Your card has been blocked. Please call 95588.", "Hello."]


@pytest.fixture(scope="module")
def engine():
    return load_voice("espeak-en")  # fast; the cache does not care which engine


def test_round_trip_and_keys(tmp_path, engine):
    cache = AnswerCache(tmp_path)
    segments = list(engine.synthesize(ANSWERS[0]))
    cache.put("espeak-en", engine.fingerprint, ANSWERS[0], segments)
    got = cache.get("espeak-en", engine.fingerprint, "Your card has been  blocked.\nPlease call 95588.")
    assert got is not None and len(got) == len(segments)
    for a, b in zip(got, segments):
        assert np.array_equal(a.audio, b.audio) and a.sample_rate == b.sample_rate
        assert a.phones == b.phones and a.words == b.words and a.text == b.text and a.alphabet == b.alphabet
    # A changed entry text, another voice or another model/rate is another key.
    assert cache.get("espeak-en", engine.fingerprint, "Your card has been blocked.") is None
    assert cache.get("joe", engine.fingerprint, ANSWERS[0]) is None
    assert cache.get("espeak-en", "other-model", ANSWERS[0]) is None
    assert not list(tmp_path.rglob("*.tmp"))


def test_size_bound_evicts_least_recently_used(tmp_path, engine):
    first = list(engine.synthesize("One."))
    size = sum(s.audio.nbytes for s in first) + 4096
    cache = AnswerCache(tmp_path, max_bytes=int(2.5 * size))
    for text in ("One.", "Two.", "Three.", "Four."):
        cache.put("v", "f", text, list(engine.synthesize(text)))
    assert cache.size_bytes <= cache.max_bytes
    assert cache.get("v", "f", "Four.") is not None and cache.get("v", "f", "One.") is None


def test_warm_then_serve_from_cache(tmp_path, engine):
    cache = AnswerCache(tmp_path)
    report = warm(ANSWERS + ["  "], engine, "espeak-en", cache)
    assert (report.synthesised, report.already_cached, len(report.keys)) == (2, 0, 2)
    again = warm(ANSWERS, engine, "espeak-en", cache)
    assert (again.synthesised, again.already_cached) == (0, 2)
    assert synthesize_cached(cache, engine, "espeak-en", "Hello.")[0].text == "Hello."
    cache.put("espeak-en", engine.fingerprint, "Old answer.", list(engine.synthesize("Old answer.")))
    assert cache.retain(report.keys) == 1
    assert cache.get("espeak-en", engine.fingerprint, "Old answer.") is None
