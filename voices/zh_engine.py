"""Mandarin TTS: Baker FastSpeech2 (text → mel) + MB-MelGAN (mel → 24 kHz audio),
run on ai_edge_litert without TensorFlow.

Both graphs take variable-length inputs (shape signatures [1, -1] and
[1, -1, 80]), so each call resizes the input tensor and re-allocates; LiteRT
interpreters hold that state, so each one sits behind its own lock. Two locks
rather than one let one session vocode while another runs the acoustic model.
The engine is meant to be created once per process and shared by sessions.

Where the time goes (a 2 s sentence, CPU time on the development machine): front
end < 1 ms, FastSpeech2 ~25 ms, MB-MelGAN ~210 ms, timings < 0.2 ms. The vocoder is
the cost, so `stream` vocodes the first sentence in pieces: its first ~0.3 s of
audio leaves after the acoustic model and a short vocoder run, not the whole one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voices.atomic_cache import model_fingerprint
from voices.runtime import usable_cores
from voices.sentences import split_sentences
from voices.types import Language, SentenceStreaming, SpeechSegment
from voices.zh_frontend import FrontEndResult, ZhFrontEnd
from voices.zh_timing import phones_and_words, piece_bounds, timed_symbols

SAMPLE_RATE = 24000
HOP_LENGTH = 300  # samples per mel frame: 12.5 ms at 24 kHz
FRAME_MS = HOP_LENGTH * 1000.0 / SAMPLE_RATE
MIN_VOCODER_FRAMES = 4
# MB-MelGAN's receptive field is under 18 mel frames (measured: with 18 or more
# frames of context either side, a piece vocoded alone is sample-identical to the
# same stretch of the whole sentence vocoded at once; 16 differs). 24 leaves margin.
VOCODER_CONTEXT_FRAMES = 24
FIRST_PIECE_MS = 300.0


@dataclass(frozen=True)
class _Acoustics:
    """One sentence through the front end and FastSpeech2, before the vocoder."""

    analysis: FrontEndResult
    mel: np.ndarray  # (1, frames, 80)
    timed: list[tuple[str, int, int | None]]  # (phone, frames, word index)


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
        threads = num_threads or usable_cores()
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
        acoustics = self._acoustics(sentence)
        if acoustics is None:
            return None
        return self._segment(sentence, acoustics, 0, len(acoustics.timed))

    def stream(self, text: str, *, first_piece_ms: float = FIRST_PIECE_MS) -> Iterator[SpeechSegment]:
        """Like `synthesize`, for live playback: the first sentence comes in pieces
        cut between words (the first about `first_piece_ms` long, each next one
        longer), so its audio can start before the whole sentence is vocoded. The
        pieces' audio joined is sample-identical to that sentence from `synthesize`;
        each piece's text is the written words it speaks, and its phones and words
        are timed from the piece's own start."""
        first_frames = max(1, round(first_piece_ms / FRAME_MS))
        waiting = True  # for the first sentence with something to say
        for sentence in split_sentences(text, self.language):
            acoustics = self._acoustics(sentence)
            if acoustics is None:
                continue
            bounds = piece_bounds(acoustics.timed, first_frames) if waiting else [(0, len(acoustics.timed))]
            waiting = False
            for first, end in bounds:
                yield self._segment(sentence if len(bounds) == 1 else None, acoustics, first, end)

    def _acoustics(self, sentence: str) -> _Acoustics | None:
        analysis = self._frontend.analyse(sentence)
        if analysis.syllable_count == 0:
            return None  # nothing speakable (only punctuation, emoji…)
        mel, durations = self._text_to_mel(analysis)
        timed = timed_symbols(
            [s.name for s in analysis.symbols],
            [s.word for s in analysis.symbols],
            durations,
            frame_level=mel[0].mean(axis=1),
        )
        return _Acoustics(analysis, mel, timed)

    def _segment(self, text: str | None, acoustics: _Acoustics, first: int, end: int) -> SpeechSegment:
        """The segment for timed items [first, end); `text` None: the words it speaks."""
        start_frame = sum(f for _, f, _ in acoustics.timed[:first])
        end_frame = start_frame + sum(f for _, f, _ in acoustics.timed[first:end])
        audio = self._mel_to_audio(acoustics.mel, start_frame, end_frame)
        phones, words = phones_and_words(acoustics.timed[first:end], acoustics.analysis.words, FRAME_MS)
        return SpeechSegment(
            text=text if text is not None else "".join(w.text for w in words),
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

    def _mel_to_audio(self, mel: np.ndarray, start: int = 0, end: int | None = None) -> np.ndarray:
        """Audio of mel frames [start, end). The vocoder also sees up to
        VOCODER_CONTEXT_FRAMES either side, so a piece sounds exactly as it does
        inside the whole sentence, with no seam where pieces join."""
        total = mel.shape[1]
        end = total if end is None else end
        low, high = max(0, start - VOCODER_CONTEXT_FRAMES), min(total, end + VOCODER_CONTEXT_FRAMES)
        window = mel[:, low:high]
        frames = high - low
        if frames < MIN_VOCODER_FRAMES:
            # The vocoder's first layer reflect-pads 3 frames each side and
            # rejects shorter inputs; pad with the quietest frame, then cut.
            quiet = np.full((1, MIN_VOCODER_FRAMES - frames, mel.shape[2]), mel.min(), dtype=mel.dtype)
            window = np.concatenate([window, quiet], axis=1)
        (wave,) = self._vocoder.run([np.ascontiguousarray(window, dtype=np.float32)], outputs=[0])
        wave = wave.reshape(-1)
        expected = frames * HOP_LENGTH
        if len(wave) != expected:  # MB-MelGAN upsamples exactly; guard against a different export
            wave = np.pad(wave, (0, max(0, expected - len(wave))))[:expected]
        wave = wave[(start - low) * HOP_LENGTH : (end - low) * HOP_LENGTH]
        return (np.clip(wave, -1.0, 1.0) * 32767.0).astype(np.int16)
