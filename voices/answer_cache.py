"""On-disk cache of whole synthesised answers, so approved answers play without synthesis.

The key is (voice name, voice fingerprint, text with whitespace canonicalised): a
reworded entry or a new model, rate or seed makes a new key, so nothing stale is
ever served; stale entries simply age out under the size bound (least recently
used first). Each entry is two files: `<key>.npy` (all segments' int16 audio,
concatenated) and `<key>.json` (segment boundaries, phones, words), written
atomically with the JSON last, so a half-written entry is never read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avatar_bridge import Phone, Word
from voices.atomic_cache import write_atomic
from voices.types import SpeechSegment, TTSEngine

FORMAT = 1


def canonical_text(text: str) -> str:
    return " ".join(text.split())


def engine_fingerprint(engine: object) -> str:
    """The engine's own fingerprint (model files + settings), or its class name."""
    return str(getattr(engine, "fingerprint", None) or type(engine).__name__)


@dataclass(frozen=True)
class WarmReport:
    keys: list[str]
    synthesised: int
    already_cached: int


class AnswerCache:
    """Thread- and process-safe for readers; writers never expose partial entries."""

    def __init__(self, folder: Path, max_bytes: int = 512 * 1024 * 1024) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._bytes = sum(p.stat().st_size for p in self.folder.glob("*/*.*") if p.suffix in (".npy", ".json"))

    @staticmethod
    def key(voice_name: str, fingerprint: str, text: str) -> str:
        body = json.dumps([FORMAT, voice_name, fingerprint, canonical_text(text)], ensure_ascii=False)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path]:
        base = self.folder / key[:2] / key
        return base.with_suffix(".npy"), base.with_suffix(".json")

    def get(self, voice_name: str, fingerprint: str, text: str) -> list[SpeechSegment] | None:
        audio_path, meta_path = self._paths(self.key(voice_name, fingerprint, text))
        try:
            meta = json.loads(meta_path.read_bytes())
            audio = np.load(audio_path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # missing, or evicted between the two reads
        with contextlib.suppress(OSError):
            os.utime(meta_path)  # recency for eviction
        segments: list[SpeechSegment] = []
        start = 0
        for seg in meta["segments"]:
            end = start + seg["samples"]
            segments.append(
                SpeechSegment(
                    text=seg["text"],
                    language=seg["language"],
                    audio=audio[start:end],
                    sample_rate=seg["sample_rate"],
                    phones=[Phone(s, a, d) for s, a, d in seg["phones"]],
                    words=[Word(t, a, d) for t, a, d in seg["words"]],
                    alphabet=seg["alphabet"],
                )
            )
            start = end
        return segments

    def put(self, voice_name: str, fingerprint: str, text: str, segments: list[SpeechSegment]) -> str:
        key = self.key(voice_name, fingerprint, text)
        audio_path, meta_path = self._paths(key)
        audio = np.concatenate([s.audio for s in segments]) if segments else np.zeros(0, dtype=np.int16)
        buffer = io.BytesIO()
        np.save(buffer, audio.astype(np.int16, copy=False), allow_pickle=False)
        meta = {
            "format": FORMAT,
            "voice": voice_name,
            "fingerprint": fingerprint,
            "text": canonical_text(text),
            "segments": [
                {
                    "text": s.text,
                    "language": s.language,
                    "sample_rate": s.sample_rate,
                    "alphabet": s.alphabet,
                    "samples": len(s.audio),
                    "phones": [[p.symbol, p.start_ms, p.duration_ms] for p in s.phones],
                    "words": [[w.text, w.start_ms, w.duration_ms] for w in s.words],
                }
                for s in segments
            ],
        }
        meta_bytes = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        with self._lock:
            old = sum(p.stat().st_size for p in (audio_path, meta_path) if p.exists())
            write_atomic(audio_path, buffer.getvalue())
            write_atomic(meta_path, meta_bytes)  # last: the entry exists once this lands
            self._bytes += buffer.getbuffer().nbytes + len(meta_bytes) - old
            if self._bytes > self.max_bytes:
                self._evict(keep=key)
        return key

    def _evict(self, keep: str) -> None:
        entries = sorted(self.folder.glob("*/*.json"), key=lambda p: p.stat().st_mtime_ns)
        for meta_path in entries:
            if self._bytes <= self.max_bytes:
                break
            if meta_path.stem == keep:
                continue
            self._bytes -= self._remove(meta_path.stem)

    def _remove(self, key: str) -> int:
        freed = 0
        for path in reversed(self._paths(key)):  # JSON first: the entry disappears atomically
            with contextlib.suppress(FileNotFoundError):
                freed += path.stat().st_size
                path.unlink()
        return freed

    def retain(self, keys: Iterable[str]) -> int:
        """Delete every entry not in `keys` (e.g. after warming the current answers); returns how many."""
        wanted = set(keys)
        removed = 0
        with self._lock:
            for meta_path in list(self.folder.glob("*/*.json")):
                if meta_path.stem not in wanted:
                    self._bytes -= self._remove(meta_path.stem)
                    removed += 1
        return removed

    @property
    def size_bytes(self) -> int:
        return self._bytes


def synthesize_cached(cache: AnswerCache, engine: TTSEngine, voice_name: str, text: str) -> list[SpeechSegment]:
    """The answer's segments from the cache, synthesising (and storing) on a miss."""
    fingerprint = engine_fingerprint(engine)
    segments = cache.get(voice_name, fingerprint, text)
    if segments is None:
        segments = list(engine.synthesize(text))
        cache.put(voice_name, fingerprint, text, segments)
    return segments


def warm(texts: Iterable[str], engine: TTSEngine, voice_name: str, cache: AnswerCache) -> WarmReport:
    """Pre-synthesise every text (e.g. every approved answer and disclosure)."""
    fingerprint = engine_fingerprint(engine)
    keys: list[str] = []
    made = hit = 0
    for text in texts:
        if not text.strip():
            continue
        keys.append(cache.key(voice_name, fingerprint, text))
        if cache.get(voice_name, fingerprint, text) is not None:
            hit += 1
            continue
        cache.put(voice_name, fingerprint, text, list(engine.synthesize(text)))
        made += 1
    return WarmReport(keys=keys, synthesised=made, already_cached=hit)
