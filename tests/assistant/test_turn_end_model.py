"""Smart Turn v3.2 on real speech from the bundled voices (assistant/turn_end.py)."""

from __future__ import annotations

from math import gcd

import numpy as np
import pytest
from scipy.signal import resample_poly

from assistant.turn_end import RATE, SmartTurn

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model() -> SmartTurn:
    return SmartTurn()


def spoken(text: str, voice_name: str) -> np.ndarray:
    from voices import load_voice

    voice = load_voice(voice_name)
    audio = np.concatenate([s.audio.astype(np.float32) / 32768.0 for s in voice.synthesize(text)])
    g = gcd(int(voice.sample_rate), RATE)
    audio = resample_poly(audio, RATE // g, int(voice.sample_rate) // g).astype(np.float32)
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return audio[loud[0]: loud[-1] + 1]


def pause(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def test_a_first_clause_sounds_unfinished_and_a_question_finished(model):
    # At the first pause (160 ms of silence, where the session asks it): the first clause of
    # "我想换美元，可以在网点办理吗？" is held, the whole question and an English one are not.
    first = model.probability(np.concatenate([spoken("我想换美元，", "baker"), pause(0.16)]))
    whole = model.probability(np.concatenate([spoken("我想换美元，可以在网点办理吗？", "baker"), pause(0.16)]))
    english = model.probability(np.concatenate([spoken("What are your opening hours?", "joe"), pause(0.16)]))
    assert first < 0.05 < 0.5 < min(whole, english)


def test_any_length_of_audio_gives_a_probability(model):
    for seconds in (0.0, 0.5, 12.0):   # empty, short, and longer than the model's 8 s window
        p = model.probability(np.random.default_rng(1).standard_normal(int(seconds * RATE)).astype(np.float32) * 0.05)
        assert 0.0 <= p <= 1.0
