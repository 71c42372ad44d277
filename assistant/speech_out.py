"""From an answer's text to paced audio chunks, each carrying the lip-sync of exactly its audio.

Synthesis is by sentence, so the first chunk leaves as soon as the first sentence is ready;
sentences are cached (approved answers repeat, and a speculative turn pre-synthesises its first
sentence before the turn is committed). Chunk lip-sync times are relative to the response's
audio start, so a client can drop stale visemes by offset after a barge-in.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from avatar_bridge import LipSync, lipsync, render
from voices.answer_cache import AnswerCache, engine_fingerprint
from voices.prosody import DISCLOSURE_PAUSE_MS, pause_after


@dataclass(frozen=True)
class Chunk:
    pcm: bytes
    sample_rate: int
    offset_ms: float
    duration_ms: float
    lipsync: Any


class SegmentCache:
    """LRU of synthesised sentences keyed by (voice, text), bounded in bytes of audio."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], list[Any]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # A few lines that must play at once whatever else was synthesised since (the hold line).
        self._pinned: dict[tuple[str, str], list[Any]] = {}
        self.hits = 0
        self.misses = 0

    def pin(self, key: tuple[str, str], segments: list[Any]) -> None:
        with self._lock:
            self._pinned[key] = segments

    def get(self, key: tuple[str, str]) -> list[Any] | None:
        with self._lock:
            item = self._pinned.get(key) or self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            if key in self._items:
                self._items.move_to_end(key)
            self.hits += 1
            return item

    def put(self, key: tuple[str, str], segments: list[Any]) -> None:
        size = sum(seg.audio.nbytes for seg in segments)
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = segments
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= sum(seg.audio.nbytes for seg in old)


class CachedSpeaker:
    """Owns the TTS engines (one per language, shared by all sessions) and the sentence caches:
    an in-memory LRU in front of an optional on-disk `AnswerCache` that survives restarts and is
    keyed by the voice's fingerprint, so a changed entry or voice never plays stale audio."""

    def __init__(self, engines: Mapping[str, Any], voice_names: Mapping[str, str],
                 split: Callable[[str, str], Sequence[str]], *, chunk_ms: float = 200.0,
                 cache: SegmentCache | None = None, disk: AnswerCache | None = None):
        self.engines = dict(engines)
        self.voice_names = dict(voice_names)
        self.split = split
        self.chunk_ms = chunk_ms
        self.cache = cache or SegmentCache()
        self.disk = disk
        # One lock per engine: the models keep per-call state and are not re-entrant.
        self._locks = {lang: threading.Lock() for lang in self.engines}

    def sample_rate(self, language: str) -> int:
        return int(self.engines[language].sample_rate)

    def sentences(self, text: str, language: str) -> list[str]:
        return [s for s in self.split(text, language) if s.strip()]

    def synthesize(self, sentence: str, language: str,
                   on_segment: Callable[[Any], None] | None = None, *, keep_on_disk: bool = True) -> list[Any]:
        """Blocking; run it off the event loop. With `on_segment`, each segment is also handed
        over as soon as it exists, and an uncached sentence is made with the engine's `stream`
        (the Mandarin voice's first piece is ready in about half the time of its sentence).

        `keep_on_disk=False` for text that is not the teller's own (POST /v1/tts takes any text,
        which may be personal): it may be read from the disk cache but is never written there,
        since the disk cache outlives the request and every retention period."""
        key = (self.voice_names[language], sentence)
        cached = self.cache.get(key)
        engine = self.engines[language]
        if cached is None and self.disk is not None:
            cached = self.disk.get(key[0], engine_fingerprint(engine), sentence)
            if cached is not None:
                self.cache.put(key, cached)
        if cached is None:
            with self._locks[language]:
                # A speculative prefetch of this very sentence may have finished while we waited.
                cached = self.cache.get(key)
                if cached is None:
                    make = getattr(engine, "stream", engine.synthesize) if on_segment else engine.synthesize
                    segments = []
                    for segment in make(sentence):
                        segments.append(segment)
                        if on_segment is not None:
                            on_segment(segment)
                    if self.disk is not None and keep_on_disk:
                        self.disk.put(key[0], engine_fingerprint(engine), sentence, segments)
                    self.cache.put(key, segments)
                    return segments
        if on_segment is not None:
            for segment in cached:
                on_segment(segment)
        return cached

    def cached(self, sentence: str, language: str) -> list[Any] | None:
        """The sentence's segments if they are in memory (no disk, no model: safe on the event loop)."""
        if language not in self.voice_names:
            return None
        return self.cache.get((self.voice_names[language], sentence))

    def hold(self, text: str, language: str) -> None:
        """Synthesise `text` and keep it in memory for good (blocking; at start-up)."""
        for sentence in self.sentences(text, language):
            self.cache.pin((self.voice_names[language], sentence), self.synthesize(sentence, language))

    def missing(self, texts_by_language: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
        """(language, sentence) of the given answers not yet in the disk cache, in order."""
        if self.disk is None:
            return []
        todo: list[tuple[str, str]] = []
        for language, texts in texts_by_language.items():
            engine = self.engines.get(language)
            if engine is None:
                continue
            fingerprint, voice = engine_fingerprint(engine), self.voice_names[language]
            todo += [(language, sentence) for text in texts for sentence in self.sentences(text, language)
                     if self.disk.get(voice, fingerprint, sentence) is None]
        return list(dict.fromkeys(todo))

    def presynthesize_one(self, language: str, sentence: str) -> None:
        """Synthesise one sentence into the disk cache (blocking; not into memory, which is for
        what customers hear now)."""
        engine = self.engines[language]
        with self._locks[language]:
            segments = list(engine.synthesize(sentence))
        assert self.disk is not None
        self.disk.put(self.voice_names[language], engine_fingerprint(engine), sentence, segments)

    def presynthesize(self, texts_by_language: Mapping[str, Sequence[str]]) -> int:
        """Fill the disk cache with every sentence of the given answers; returns how many were
        made (blocking; the server does it sentence by sentence through the scheduler instead)."""
        todo = self.missing(texts_by_language)
        for language, sentence in todo:
            self.presynthesize_one(language, sentence)
        return len(todo)

    def pause(self, language: str, ms: float = DISCLOSURE_PAUSE_MS) -> Any:
        """A silent segment in `language`'s voice (after a disclosure, so it reads as finished)."""
        return pause_after(self.engines[language], ms)

    def chunks(self, segment: Any, offset_ms: float, viseme_format: str) -> Iterable[Chunk]:
        """Cut one synthesised sentence into chunks; `offset_ms` is where it starts in the response."""
        track: LipSync = lipsync(segment.phones, segment.words, segment.alphabet).shifted(offset_ms)
        rate = segment.sample_rate
        audio = segment.audio
        step = max(1, int(rate * self.chunk_ms / 1000))
        for start in range(0, len(audio), step):
            piece = audio[start:start + step]
            begin_ms = offset_ms + start * 1000.0 / rate
            end_ms = offset_ms + (start + len(piece)) * 1000.0 / rate
            window = track.window(begin_ms, end_ms)
            yield Chunk(
                pcm=piece.tobytes(),
                sample_rate=rate,
                offset_ms=round(begin_ms, 3),
                duration_ms=round(end_ms - begin_ms, 3),
                lipsync=render(window, viseme_format, text=segment.text),
            )


def b64(pcm: bytes) -> str:
    return base64.b64encode(pcm).decode("ascii")
