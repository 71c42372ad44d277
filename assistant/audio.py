"""PCM helpers for the audio path (per chunk, so kept allocation-light), and the pace audio may arrive at."""

from __future__ import annotations

import time
from collections.abc import Callable
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


class AudioPace:
    """Audio may arrive at most `rate` times faster than real time, with a head start of at most
    `burst_s` seconds (what a client buffered, or network jitter): a token bucket of audio
    seconds, `burst_s` deep, refilled at `rate` per second. Faster audio would let one client queue
    minutes of work for the shared CPU in seconds; it is refused, frame by frame."""

    def __init__(self, rate: float, burst_s: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst_s, self._clock = rate, burst_s, clock
        self._tokens = burst_s
        self._last: float | None = None

    def admit(self, seconds: float) -> bool:
        now = self._clock()
        if self._last is not None:
            self._tokens = min(self.burst_s, self._tokens + self.rate * (now - self._last))
        self._last = now
        if seconds > self._tokens + 1e-9:
            return False
        self._tokens -= seconds
        return True
