"""Mandarin TTS: Baker FastSpeech2 (text → mel) + MB-MelGAN (mel → 24 kHz audio),
run on ai_edge_litert without TensorFlow.

Both graphs take variable-length inputs (shape signatures [1, -1] and
[1, -1, 80]), so each call resizes the input tensor and re-allocates; LiteRT
interpreters hold that state, so each one sits behind its own lock. Two locks
rather than one let one session vocode while another runs the acoustic model.
The engine is meant to be created once per process and shared by sessions.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from voices.atomic_cache import model_fingerprint
from voices.types import Language, SentenceStreaming, SpeechSegment
from voices.zh_frontend import FrontEndResult, ZhFrontEnd
from voices.zh_timing import phones_and_words, timed_symbols

SAMPLE_RATE = 24000
HOP_LENGTH = 300  # samples per mel frame: 12.5 ms at 24 kHz
MIN_VOCODER_FRAMES = 4


class _Model:
    """One LiteRT interpreter with a lock; resizes only when the shape changes
    (re-planning the XNNPACK graph costs more than a short sentence's inference)."""

    def __init__(self, path: Path, num_threads: int, *, reseed: bool = False) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        # No allocate_tensors() here: the vocoder's placeholder shape (1 frame)
        # is too short for its reflection padding; the first run allocates.
        self.inputs = self._interpreter.get_input_details()
        self.outputs = self._interpreter.get_output_details()
        self._lock = threading.Lock()
        self._shape: tuple[int, ...] | None = None
        # The acoustic model's dropout is seeded; its random kernel restarts from
        # the seed whenever the graph is prepared, so preparing before every call
        # makes a sentence's audio independent of what was said before.
        self._reseed = reseed

    def run(self, arrays: list[np.ndarray], outputs: list[int]) -> list[np.ndarray]:
        with self._lock:
            shape = tuple(arrays[0].shape)
            if self._reseed and shape == self._shape:
                # Same shape: resizing to it is a no-op, so step through another one.
                self._interpreter.resize_tensor_input(self.inputs[0]["index"], [1, shape[1] + 1])
                self._shape = None
            if shape != self._shape:
                self._interpreter.resize_tensor_input(self.inputs[0]["index"], list(shape))
                self._interpreter.allocate_tensors()
                self._shape = shape
            for detail, array in zip(self.inputs, arrays):
                self._interpreter.set_tensor(detail["index"], array)
            self._interpreter.invoke()
            # get_tensor copies, so results stay valid after the lock is released.
            return [self._interpreter.get_tensor(self.outputs[i]["index"]) for i in outputs]


class ZhEngine(SentenceStreaming):
    language: Language = "zh"
    sample_rate: int = SAMPLE_RATE

    def __init__(
        self,
        model_dir: Path,
        *,
        length_scale: float = 1.0,
        num_threads: int | None = None,
    ) -> None:
        """`model_dir` is the folder made by voices.provision.prepare_zh_voice.
        `length_scale` > 1 speaks slower (it scales every predicted duration)."""
        model_dir = Path(model_dir)
        threads = num_threads or min(2, os.cpu_count() or 1)
        self._frontend = ZhFrontEnd(model_dir / "baker_mapper.json")
        self._acoustic = _Model(model_dir / "fastspeech2.tflite", threads, reseed=True)
        self._vocoder = _Model(model_dir / "mb_melgan.tflite", threads)
        if length_scale <= 0:
            raise ValueError("length_scale must be positive")
        self._length_scale = np.array([length_scale], dtype=np.float32)
        self.length_scale = float(length_scale)
        self.fingerprint = model_fingerprint({"model": model_dir}, engine="baker", length_scale=round(length_scale, 4))
        # Outputs of the Baker FastSpeech2 export: mel before/after postnet,
        # durations, f0, energy. We use the post-net mel and the durations.
        names = [d["name"] for d in self._acoustic.outputs]
        if len(names) != 5 or self._acoustic.outputs[2]["dtype"] != np.int32:
            raise ValueError(f"unexpected FastSpeech2 outputs: {names}")

    def synthesize_sentence(self, sentence: str) -> SpeechSegment | None:
        analysis = self._frontend.analyse(sentence)
        if analysis.syllable_count == 0:
            return None  # nothing speakable (only punctuation, emoji…)
        mel, durations = self._text_to_mel(analysis)
        audio = self._mel_to_audio(mel)
        timed = timed_symbols(
            [s.name for s in analysis.symbols],
            [s.word for s in analysis.symbols],
            durations,
            frame_level=mel[0].mean(axis=1),
        )
        phones, words = phones_and_words(timed, analysis.words, HOP_LENGTH * 1000.0 / SAMPLE_RATE)
        return SpeechSegment(
            text=sentence,
            language="zh",
            audio=audio,
            sample_rate=SAMPLE_RATE,
            phones=phones,
            words=words,
            alphabet="pinyin",
        )

    def _text_to_mel(self, analysis: FrontEndResult) -> tuple[np.ndarray, np.ndarray]:
        ones = np.ones(1, dtype=np.float32)
        mel, durations = self._acoustic.run(
            [analysis.ids[None, :], np.zeros(1, dtype=np.int32), self._length_scale, ones, ones],
            outputs=[1, 2],
        )
        durations = durations[0].astype(np.int64)
        # The length regulator repeats each symbol's encoding `duration` times,
        # so the counts must add up to the mel length; if rounding ever differs,
        # the last symbol (eos, folded into the final silence) absorbs it.
        durations[-1] += mel.shape[1] - int(durations.sum())
        if durations[-1] < 0:
            raise RuntimeError("FastSpeech2 durations exceed the mel length")
        return mel, durations

    def _mel_to_audio(self, mel: np.ndarray) -> np.ndarray:
        frames = mel.shape[1]
        if frames < MIN_VOCODER_FRAMES:
            # The vocoder's first layer reflect-pads 3 frames each side and
            # rejects shorter inputs; pad with the quietest frame, then cut.
            quiet = np.repeat(mel[:, :1] * 0 + mel.min(), MIN_VOCODER_FRAMES - frames, axis=1)
            mel = np.concatenate([mel, quiet], axis=1)
        (wave,) = self._vocoder.run([mel.astype(np.float32, copy=False)], outputs=[0])
        wave = wave.reshape(-1)
        expected = frames * HOP_LENGTH
        if len(wave) != expected:  # MB-MelGAN upsamples exactly; guard against a different export
            wave = np.pad(wave, (0, max(0, expected - len(wave))))[:expected]
        return (np.clip(wave, -1.0, 1.0) * 32767.0).astype(np.int16)
