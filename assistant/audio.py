"""PCM helpers for the audio path (per chunk, so kept allocation-light)."""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import resample_poly


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class Resampler:
    """Polyphase resampling per chunk; identity when the rates match (the common 16 kHz case).

    Chunk edges get a few samples of filter transient; at ≥ 20 ms chunks that is far below what
    VAD or Whisper notice, and it keeps the path stateless and cheap.
    """

    def __init__(self, source_rate: int, target_rate: int):
        self.source_rate = source_rate
        self.target_rate = target_rate
        g = gcd(source_rate, target_rate)
        self._up, self._down = target_rate // g, source_rate // g

    def __call__(self, audio: np.ndarray) -> np.ndarray:
        if self._up == self._down or len(audio) == 0:
            return audio.astype(np.float32, copy=False)
        return resample_poly(audio, self._up, self._down).astype(np.float32)
