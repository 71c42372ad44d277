"""Prosody a bank asks for beyond the voice's own: pauses it can insert.

Speaking rate is a property of a loaded voice (`load_voice(name, rate=…)`), since
every engine applies it inside the model (Piper's length_scale, FastSpeech2's
duration scaling, espeak's words per minute) where phone timings stay exact.
A pause is a segment of its own, so the server can put one after a mandatory
disclosure (or before it) without touching the synthesised sentences.
"""

from __future__ import annotations

import numpy as np

from avatar_bridge import Phone
from voices.types import Alphabet, Language, SpeechSegment

DISCLOSURE_PAUSE_MS = 600.0  # long enough to read as "the warning is over", short enough not to seem stuck


def silence(pause_ms: float, sample_rate: int, language: Language, alphabet: Alphabet = "ipa") -> SpeechSegment:
    """A silent segment of `pause_ms` (rounded to whole samples): one `sil` phone, no words."""
    if pause_ms < 0:
        raise ValueError("pause_ms must not be negative")
    samples = round(pause_ms * sample_rate / 1000.0)
    duration = samples * 1000.0 / sample_rate
    return SpeechSegment(
        text="",
        language=language,
        audio=np.zeros(samples, dtype=np.int16),
        sample_rate=sample_rate,
        phones=[Phone("sil", 0.0, duration)] if samples else [],
        words=[],
        alphabet=alphabet,
    )


def pause_after(engine, pause_ms: float = DISCLOSURE_PAUSE_MS) -> SpeechSegment:
    """The pause to play after a segment from `engine` (same rate and alphabet)."""
    alphabet: Alphabet = "pinyin" if type(engine).__name__ == "ZhEngine" else "ipa"
    return silence(pause_ms, int(engine.sample_rate), engine.language, alphabet)
