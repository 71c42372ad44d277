"""Has the customer finished? An acoustic end-of-turn model beside the transcript.

A transcript cannot tell "我想换美元，" followed by a breath from "我想换美元。" said and done:
both read as a complete request. How it was said can: a clause that goes on keeps its pitch up.
Smart Turn v3.2 (BSD-2, 8.7 MB ONNX, 23 languages including Mandarin) hears the last 8 seconds
of the turn as Whisper-style log-mel features and gives the probability that the speaker is done.

The weights ship inside the `pipecat-ai` wheel, installed without its dependencies (README's
install command); only the ONNX file is read, no Pipecat code runs. Features come from
faster-whisper's own numpy extractor (the same 80-bin log-mel Whisper uses, over 8 s), after the
waveform is normalised to zero mean and unit variance as the model was trained; checked equal to
the reference features to 2e-7. One thread: it runs beside Whisper and the voices on two cores.
"""

from __future__ import annotations

import threading

import numpy as np

from knowledge.embedders import package_file

RATE = 16_000
WINDOW_S = 8
MODEL_PACKAGE, MODEL_FILE = "pipecat", "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"


class SmartTurn:
    """`probability(audio)`: how likely the turn heard so far (16 kHz float32) is finished."""

    name = "smart-turn-v3.2"

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime
        from faster_whisper.feature_extractor import FeatureExtractor

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        self._session = onnxruntime.InferenceSession(
            str(package_file(MODEL_PACKAGE, MODEL_FILE)), options, providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(feature_size=80, sampling_rate=RATE, chunk_length=WINDOW_S)
        self._lock = threading.Lock()   # one inference at a time: it is ~50 ms, and CPU-bound

    def probability(self, audio: np.ndarray) -> float:
        window = np.asarray(audio, np.float32)[-WINDOW_S * RATE:]
        # Left-padded with silence to the full window, the turn's end at the right edge.
        window = np.pad(window, (WINDOW_S * RATE - len(window), 0))
        window = (window - window.mean()) / np.sqrt(window.var() + 1e-7)
        features = self._features(window.astype(np.float32), padding=0)[:, : WINDOW_S * RATE // 160]
        with self._lock:
            out = self._session.run(None, {"input_features": features[None].astype(np.float32)})[0]
        return float(np.clip(out.reshape(-1)[0], 0.0, 1.0))
