"""Explainer scripts to speech products: parsing, assembling segments, WebVTT, WAV bytes.

Pure apart from the synthesis callables handed in, so `say`, `render` and
`POST /v1/tts` share one way of turning segments into one audio track with its
lip-sync, and the formats are testable without a model.

Markdown scripts: paragraphs are separated by blank lines; `#` headings are spoken
(an explainer's section title is part of what the viewer hears) and the first one
is the title; inline markup (`**`, `*`, backticks, links, list and quote markers)
is dropped. JSON scripts: {"title", "language", "paragraphs": [...]}; the title is
metadata only.
"""

from __future__ import annotations

import io
import json
import re
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avatar_bridge import LipSync, Word, join, lipsync

_CJK = re.compile(r"[\u3400-\u9fff]")
_INLINE = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: keep the text
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])[*_](\S(?:.*?\S)?)[*_](?![\w*])"), r"\1"),
]
_LINE_MARKERS = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|>\s?)")
CUE_MAX_WORDS = {"en": 12, "zh": 16}  # a sentence longer than this is cut into ~7-word cues
CUE_WORDS = 7


@dataclass(frozen=True)
class Script:
    title: str
    language: str  # "zh" | "en"
    paragraphs: list[str]


def detect_language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def parse_script(source: str, *, json_format: bool, language: str | None = None) -> Script:
    """A Markdown or JSON explainer; `language` overrides the script's own."""
    if json_format:
        data = json.loads(source)
        if not isinstance(data, dict) or not isinstance(data.get("paragraphs"), list):
            raise ValueError('a JSON script is an object with a "paragraphs" list')
        paragraphs = [str(p).strip() for p in data["paragraphs"] if str(p).strip()]
        title = str(data.get("title", ""))
        lang = language or data.get("language") or detect_language(" ".join(paragraphs))
    else:
        title, paragraphs = "", []
        for block in re.split(r"\n\s*\n", source.replace("\r\n", "\n")):
            lines = [_LINE_MARKERS.sub("", ln).strip() for ln in block.strip().splitlines()]
            lines = [ln for ln in lines if ln]
            if not lines:
                continue
            if lines[0].startswith("#"):
                heading = lines[0].lstrip("#").strip()
                title = title or heading
                paragraphs.append(_inline(heading))
                lines = lines[1:]
            if lines:
                paragraphs.append(_inline(" ".join(lines)))
        paragraphs = [p for p in paragraphs if p]
        lang = language or detect_language(" ".join(paragraphs))
    if lang not in ("zh", "en"):
        raise ValueError(f"unsupported language {lang!r}; expected zh or en")
    if not paragraphs:
        raise ValueError("the script has nothing to say")
    return Script(title=title, language=lang, paragraphs=paragraphs)


def _inline(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


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


def _vtt_time(ms: float) -> str:
    total = round(ms)
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def webvtt(cues: Sequence[tuple[float, float, str]]) -> str:
    lines = ["WEBVTT", ""]
    for n, (start, end, text) in enumerate(cues, 1):
        lines += [str(n), f"{_vtt_time(start)} --> {_vtt_time(max(end, start + 1))}", text.replace("-->", "->"), ""]
    return "\n".join(lines)


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono WAV; the stdlib writer adds no timestamp, so equal audio gives equal bytes."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(np.asarray(audio, dtype="<i2").tobytes())
    return buffer.getvalue()
