"""Streaming Silero VAD: real Mandarin speech vs silence, chunking invariance, shared model."""

from __future__ import annotations

import numpy as np
import pytest
from asr_fixtures import SAMPLE_RATE, load_clip, piper_speech, smoke_clips

from assistant.vad import WINDOW_MS, WINDOW_SAMPLES, SpeechDetector, shared_silero_vad

pytestmark = pytest.mark.slow  # loads real models (see tests/conftest.py)

SILENCE_S = 1.0


def with_silence(audio: np.ndarray) -> np.ndarray:
    return np.concatenate([audio, np.zeros(int(SILENCE_S * SAMPLE_RATE), np.float32)])


@pytest.fixture(scope="module")
def model():
    return shared_silero_vad()


@pytest.mark.parametrize("clip", smoke_clips(), ids=lambda p: p.stem)
def test_speech_high_silence_low(model, clip):
    speech = load_clip(clip)
    probs = SpeechDetector(model).process(with_silence(speech))
    assert len(probs) == len(with_silence(speech)) // WINDOW_SAMPLES
    in_speech = probs[: len(speech) // WINDOW_SAMPLES]
    in_silence = probs[len(speech) // WINDOW_SAMPLES + 1 :]
    # The clips have short pauses at their edges; most of each is voiced.
    assert np.mean(in_speech > 0.5) > 0.6 and in_speech.max() > 0.9
    # The probability decays over a few windows after speech stops, then stays down.
    settle = int(300 / WINDOW_MS)
    assert in_silence[settle:].max() < 0.1 and np.mean(in_silence) < 0.15


def test_english_speech_detected(model):
    probs = SpeechDetector(model).process(with_silence(piper_speech("How do I report a lost card?")))
    assert probs.max() > 0.9 and probs[-10:].max() < 0.1


@pytest.mark.parametrize("sizes", [[1, 7, 333, 511, 512, 513, 1000, 4097], [160], [320, 480], [10_000]])
def test_chunking_does_not_change_probabilities(model, sizes):
    audio = with_silence(load_clip(smoke_clips()[0]))
    whole = SpeechDetector(model).process(audio)
    detector = SpeechDetector(model)
    parts, pos, i = [], 0, 0
    while pos < len(audio):
        n = sizes[i % len(sizes)]
        parts.append(detector.process(audio[pos : pos + n]))
        pos, i = pos + n, i + 1
    chunked = np.concatenate(parts)
    np.testing.assert_allclose(chunked, whole, atol=1e-6)
    assert detector.windows == len(whole)
    assert detector.pending_samples == len(audio) % WINDOW_SAMPLES


def test_matches_faster_whispers_batch_vad(model):
    # faster-whisper runs the same graph over a whole file; except for its last window (it
    # zeroes that window's tail while building the context) the probabilities must agree.
    from faster_whisper.vad import get_vad_model

    audio = with_silence(load_clip(smoke_clips()[-1]))
    n = len(audio) // WINDOW_SAMPLES
    reference = get_vad_model()(audio[: n * WINDOW_SAMPLES].copy()).reshape(-1)
    ours = SpeechDetector(model).process(audio)
    np.testing.assert_allclose(ours[: n - 1], reference[: n - 1], atol=1e-6)


def test_sessions_are_independent(model):
    speech = load_clip(smoke_clips()[0])
    a, b = SpeechDetector(model), SpeechDetector(model)
    a.process(speech)  # a is mid-utterance; b has heard nothing
    fresh = SpeechDetector(model).process(speech[:8000])
    np.testing.assert_allclose(b.process(speech[:8000]), fresh, atol=1e-6)


def test_reset_starts_over(model):
    speech = load_clip(smoke_clips()[0])
    detector = SpeechDetector(model)
    first = detector.process(speech)
    detector.process(speech[:1234])
    detector.reset()
    assert detector.windows == 0 and detector.pending_samples == 0
    np.testing.assert_allclose(detector.process(speech), first, atol=1e-6)


def test_short_input_buffers(model):
    detector = SpeechDetector(model)
    assert detector.process(np.zeros(100, np.float32)).size == 0
    assert detector.process(np.zeros(0, np.float32)).size == 0
    assert detector.pending_samples == 100
    assert detector.process(np.zeros(412, np.float32)).size == 1
    with pytest.raises(ValueError):
        detector.process(np.zeros((2, 512), np.float32))
    with pytest.raises(ValueError):  # PCM16 must be scaled to [-1, 1] first
        detector.process(np.zeros(512, np.int16))


def test_model_is_shared():
    assert shared_silero_vad() is shared_silero_vad()
    assert SpeechDetector().model is shared_silero_vad()


@pytest.mark.parametrize("clip", smoke_clips(), ids=lambda p: p.stem)
def test_speech_after_a_long_digital_silence_starts_the_turn_on_time(clip):
    """After 25 s of zeros Silero's state drifted and the first voiced window came ~0.5 s late,
    cutting the first words off a kiosk's next question; the detector resets it in long silence."""
    from assistant.loading import SileroVadModel
    from assistant.settings import Endpointing
    from assistant.turn_detector import TurnDetector

    speech = load_clip(clip)

    def start_ms(lead_s: float) -> int:
        detector = TurnDetector(Endpointing(), SileroVadModel(), input_rate=SAMPLE_RATE)
        audio = np.concatenate([np.zeros(int(lead_s * SAMPLE_RATE), np.float32), speech])
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        for i in range(0, len(pcm), 640):
            for event in detector.feed(pcm[i:i + 640]):
                if type(event).__name__ == "SpeechStart":
                    return event.audio_start_ms - int(lead_s * 1000)
        raise AssertionError("no speech start")

    assert abs(start_ms(25.0) - start_ms(1.0)) <= 64
