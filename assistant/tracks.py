"""Synthesised segments laid end to end: one audio track, one lip-sync track on its clock, the
subtitle cues, and WAV bytes. Pure (no models), so `say`, `render` and `POST /v1/tts` share it
and it is tested without a voice.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avatar_bridge import LipSync, Word, join, lipsync

CUE_MAX_WORDS = {"en": 12, "zh": 16}  # a sentence longer than this is cut into ~7-word cues
CUE_WORDS = 7


@dataclass
class Assembled:
    """Segments laid end to end: one audio track and one lip-sync track on its clock."""

    sample_rate: int
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    track: LipSync = field(default_factory=LipSync)
    text: str = ""  # the spoken sentences, joined (Polly word marks point into it)
    cues: list[tuple[float, float, str]] = field(default_factory=list)  # subtitle (start, end, text)

    @property
    def duration_ms(self) -> float:
        return len(self.audio) * 1000.0 / self.sample_rate

    @property
    def words(self) -> list[dict[str, Any]]:
        return [{"text": w.text, "start_ms": round(w.start_ms, 3), "duration_ms": round(w.duration_ms, 3)}
                for w in self.track.words]


def assemble(segments: Iterable[Any], language: str) -> Assembled:
    """Join segments (voices.SpeechSegment); all must share one sample rate."""
    sep = "" if language == "zh" else " "
    parts: list[np.ndarray] = []
    tracks: list[tuple[LipSync, float]] = []
    texts: list[str] = []
    cues: list[tuple[float, float, str]] = []
    rate: int | None = None
    offset_samples = 0
    for seg in segments:
        if rate is None:
            rate = seg.sample_rate
        elif seg.sample_rate != rate:
            raise ValueError("segments have different sample rates")
        offset_ms = offset_samples * 1000.0 / rate
        if seg.phones:
            tracks.append((lipsync(seg.phones, seg.words, seg.alphabet), offset_ms))
        if seg.text:
            texts.append(seg.text)
            cues.extend(_cues(seg.text, seg.words, offset_ms, language))
        parts.append(seg.audio)
        offset_samples += len(seg.audio)
    if rate is None:
        raise ValueError("nothing was synthesised")
    return Assembled(rate, np.concatenate(parts).astype(np.int16, copy=False), join(tracks), sep.join(texts), cues)


def _cues(text: str, words: Sequence[Word], offset_ms: float, language: str) -> list[tuple[float, float, str]]:
    if not words:
        return []
    if len(words) <= CUE_MAX_WORDS.get(language, 12):
        return [(offset_ms + words[0].start_ms, offset_ms + words[-1].end_ms, text)]
    sep = "" if language == "zh" else " "
    out = []
    for i in range(0, len(words), CUE_WORDS):
        group = words[i : i + CUE_WORDS]
        out.append((offset_ms + group[0].start_ms, offset_ms + group[-1].end_ms, sep.join(w.text for w in group)))
    return out


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono WAV; the stdlib writer adds no timestamp, so equal audio gives equal bytes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(np.asarray(audio, dtype="<i2").tobytes())
    return buffer.getvalue()
