"""Streaming speech detection with the Silero VAD model bundled in faster-whisper.

The bundled graph (``silero_vad_v6.onnx``) takes ``input`` of shape ``(n, 576)``: each row is one
512-sample window at 16 kHz (32 ms) preceded by the last 64 samples of the window before it, and
the LSTM state ``h``, ``c`` (each ``(1, 1, 128)``). The rows are consumed *in order*, the state
running through them, so a batch of n windows gives exactly the n probabilities that n calls of
one window would (it is only cheaper). Output: ``speech_probs`` ``(n,)`` and the new ``hn``, ``cn``.

One ``SileroVad`` (the ONNX session) is shared by the whole process; each audio stream owns a
``SpeechDetector`` holding the recurrent state, the 64-sample context and the unfinished window.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np

__all__ = ["CONTEXT_SAMPLES", "SAMPLE_RATE", "WINDOW_MS", "WINDOW_SAMPLES", "SileroVad",
           "SpeechDetector", "shared_silero_vad", "silero_model_path"]

SAMPLE_RATE = 16_000
WINDOW_SAMPLES = 512
CONTEXT_SAMPLES = 64
WINDOW_MS = WINDOW_SAMPLES * 1000 / SAMPLE_RATE  # 32.0
_STATE_SHAPE = (1, 1, 128)


def silero_model_path() -> Path:
    """Path of the Silero VAD ONNX file shipped inside the faster-whisper package."""
    from faster_whisper.utils import get_assets_path

    return Path(get_assets_path()) / "silero_vad_v6.onnx"


class SileroVad:
    """The loaded Silero model: stateless, thread-safe, shared by every ``SpeechDetector``.

    Args:
      path: the ONNX file; defaults to the one bundled with faster-whisper.
      intra_op_threads: onnxruntime threads per call. 1 by default: one window is ~0.1 ms of work,
        far too little to split, and extra threads would compete with Whisper for the 2 cores.
    """

    def __init__(self, path: Path | None = None, *, intra_op_threads: int = 1) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.path = Path(path) if path is not None else silero_model_path()
        # onnxruntime allows concurrent run() calls on one session; the state lives in the caller.
        self._session = onnxruntime.InferenceSession(
            str(self.path), sess_options=opts, providers=["CPUExecutionProvider"]
        )

    def run(
        self, rows: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Speech probabilities for ``rows`` (n, 576) float32, and the state after the last row."""
        probs, h, c = self._session.run(None, {"input": rows, "h": h, "c": c})
        return probs.reshape(-1), h, c


_shared_lock = threading.Lock()


@functools.cache
def _load_shared() -> SileroVad:
    return SileroVad()


def shared_silero_vad() -> SileroVad:
    """The process-wide ``SileroVad``, loaded on first use (~20 ms)."""
    # functools.cache alone could load twice when two sessions open at once.
    with _shared_lock:
        return _load_shared()


class SpeechDetector:
    """Per-stream voice activity detection over 16 kHz mono float32 audio of any chunk size.

    Audio is buffered into 32 ms windows; each call returns the speech probability (0..1) of every
    window completed by that call, in order, possibly none. Window ``k`` (counting from 0 since the
    start or the last ``reset``) covers samples ``[512 k, 512 (k + 1))``, so it ends at
    ``(k + 1) * WINDOW_MS`` ms; ``windows`` counts the windows returned so far.

    Not thread-safe: one detector belongs to one stream. The model it uses is shared.

    Args:
      model: the shared model; defaults to ``shared_silero_vad()``.
    """

    def __init__(self, model: SileroVad | None = None) -> None:
        self.model = model if model is not None else shared_silero_vad()
        self.reset()

    def reset(self) -> None:
        """Forget all audio and state, as for a new stream."""
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        # Context + unfinished window: the first window of a stream is preceded by silence.
        self._pending = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self.windows = 0

    def reset_state(self) -> None:
        """Forget the model's recurrent state, keeping the audio not yet windowed. After long
        digital silence the state drifts: measured on a bundled-voice question after 25 s of
        zeros, the first voiced window came 480 ms late (64 ms after 1.3 s), enough to cut the
        first words off the turn. The detector resets it during long silence outside a turn."""
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)

    @property
    def pending_samples(self) -> int:
        """Samples received but not yet part of a complete window."""
        return len(self._pending) - CONTEXT_SAMPLES

    def process(self, audio: np.ndarray) -> np.ndarray:
        """Feed ``audio`` (1-D, 16 kHz, float in [-1, 1]); return the new windows' probabilities."""
        audio = np.asarray(audio)
        if audio.ndim != 1 or audio.dtype.kind != "f":
            # int16 PCM cast to float would be 32768 times too loud: convert it before.
            raise ValueError(f"expected 1-D float audio, got {audio.dtype} {audio.shape}")
        audio = audio.astype(np.float32, copy=False)
        buf = np.concatenate((self._pending, audio)) if audio.size else self._pending
        n = (len(buf) - CONTEXT_SAMPLES) // WINDOW_SAMPLES
        if n == 0:
            self._pending = buf
            return np.empty(0, dtype=np.float32)
        end = CONTEXT_SAMPLES + n * WINDOW_SAMPLES
        if n == 1:  # the streaming case (one chunk ≈ one window): a view, no copy
            rows = buf[:end].reshape(1, end)
        else:  # row k = 64 samples of context + window k: overlapping views, one copy
            rows = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(
                buf[:end], CONTEXT_SAMPLES + WINDOW_SAMPLES)[::WINDOW_SAMPLES])
        probs, self._h, self._c = self.model.run(rows, self._h, self._c)
        # buf is a fresh array that nothing else writes to, so the tail can stay a view.
        self._pending = buf[end - CONTEXT_SAMPLES :]
        self.windows += n
        return probs
