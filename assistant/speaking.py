"""Playback: one answer as a stream of protocol events, paced and interruptible.

`Speech.play(turn, answer, viseme_format)` yields `response.created`, the `response.audio.delta`
chunks and `response.done`; the session sends them (it is the only sender) and decides when to
`interrupt`. Synthesis itself is the `Speaker`'s (speech_out.py); this module only turns its
segments into timed events.

Audio leaves at most ~2x real time after a short lead, so a client's buffer stays shallow and a
barge-in loses little. A mandatory disclosure is a non-interruptible part: once an answer that
carries one has started, a barge-in skips the rest of the answer but the disclosure is still
spoken in full (a risk warning must reach a customer who heard any of the product), and only
then does the response end as interrupted.

When speech fails (a voice raises, or the speech pool is full), the answer is not lost: its text
(and disclosure) already went out in `response.created`, so the response ends with a
`response.done` flagged `degraded` and the client shows the answer as text. A failed voice is a
server fault, not the customer's: no `error` follows, nothing counts against the session.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from avatar_bridge import mood_for

from . import protocol as p
from .engines import Runner, Speaker
from .ids import new_id
from .metrics import Metrics
from .responder import Answer
from .scheduler import Priority, ServerBusy
from .speech_out import b64
from .turn_detector import Turn

log = logging.getLogger(__name__)
LEAD_MS = 600.0
_END = object()  # marks the end of a sentence's segments in `_segments`
PACE = 2.0


@dataclass
class _Playback:
    response_id: str
    language: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    heard_ms: float | None = None
    first_sent: float | None = None
    sent_ms: float = 0.0
    seq: int = 0
    words: list[tuple[str, float]] = field(default_factory=list)

    def heard_estimate(self) -> float:
        if self.heard_ms is not None:
            return min(self.heard_ms, self.sent_ms)
        if self.first_sent is None:
            return 0.0
        return min(self.sent_ms, (time.monotonic() - self.first_sent) * 1000.0)

    def heard_text(self, heard_ms: float) -> str:
        words = [w for w, start in self.words if start < heard_ms]
        return ("" if self.language == "zh" else " ").join(words)


class Speech:
    """Plays one response at a time for one session. Holds no reference to the session."""

    def __init__(self, speaker: Speaker, inference: Runner, metrics: Metrics):
        self.speaker = speaker
        self._inference = inference
        self._metrics = metrics
        self.current: _Playback | None = None

    @property
    def active(self) -> bool:
        return self.current is not None

    def interrupt(self, heard_ms: float | None) -> None:
        """Stop the playing answer (its disclosure, once started, still plays in full)."""
        if self.current is not None:
            self.current.heard_ms = heard_ms
            self.current.stop.set()

    def prefetch(self, answer: Answer) -> "asyncio.Task[Any] | None":
        """Synthesise the first sentence in the background so a committed turn speaks at once."""
        if answer.language not in self.speaker.engines:
            return None
        sentences = self.speaker.sentences(answer.text, answer.language)
        if not sentences:
            return None
        return asyncio.get_running_loop().create_task(self._warm(sentences[0], answer.language))

    async def _warm(self, sentence: str, language: str) -> None:
        try:
            await self._inference.run("tts", self.speaker.synthesize, sentence, language,
                                      priority=Priority.SPECULATIVE)
        except Exception:  # noqa: BLE001 - a failed warm-up only costs the cache hit
            log.debug("prefetch failed", exc_info=True)

    async def play(self, turn: Turn, answer: Answer, viseme_format: str) -> AsyncIterator[p.ServerEvent]:
        """The response's events, paced. A synthesis failure ends the speech, not the answer: the
        `response.done` says `degraded` (the answer reaches the customer as the text already sent),
        so a client never sees a `response.created` without its `response.done`."""
        speaker = self.speaker
        playback = _Playback(response_id=new_id("resp"), language=answer.language)
        self.current = playback
        failure: BaseException | None = None
        try:
            yield p.ResponseCreated(
                response_id=playback.response_id, turn_id=turn.turn_id, text=answer.text,
                language=answer.language, entry_id=answer.entry_id, confidence=round(answer.confidence, 4),
                handoff=answer.handoff, kind=answer.kind, mood=mood_for(answer.kind), disclosure=answer.disclosure,
                sample_rate=speaker.sample_rate(answer.language), viseme_format=viseme_format,
                related=[p.RelatedEntry(id=i, question=q) for i, q in answer.related],
                clarify=[p.ClarifyOption(id=i, question=q) for i, q in answer.options],
            )
            parts = [(answer.text, True)] + ([(answer.disclosure, False)] if answer.disclosure else [])
            started = time.monotonic()
            try:
                for text, interruptible in parts:
                    sentences = speaker.sentences(text, answer.language)
                    for sentence in sentences:
                        if playback.stop.is_set() and interruptible:
                            break
                        async for segment in self._segments(sentence, answer.language):
                            async for event in self._chunks(playback, turn, segment, started, interruptible,
                                                            viseme_format):
                                yield event
                        if not interruptible and sentence == sentences[-1]:
                            async for event in self._chunks(playback, turn, speaker.pause(answer.language),
                                                            started, False, viseme_format):
                                yield event
            except Exception as exc:  # noqa: BLE001 - the answer goes on as text (module doc)
                failure = exc
                self._degraded(turn, exc)
            interrupted = playback.stop.is_set()
            heard = playback.heard_estimate() if interrupted else None
            yield p.ResponseDone(
                response_id=playback.response_id, interrupted=interrupted, audio_ms=round(playback.sent_ms, 3),
                heard_ms=None if heard is None else round(heard, 1),
                heard_text=None if heard is None else playback.heard_text(heard),
                degraded=failure is not None,
            )
        finally:
            if self.current is playback:
                self.current = None

    def _degraded(self, turn: Turn, exc: BaseException) -> None:
        busy = isinstance(exc, ServerBusy)
        self._metrics.degraded.labels(cause="busy" if busy else "failed").inc()
        if busy:   # overload: expected now and then, and counted; no stack trace to read
            log.warning("turn %s answered as text only: the speech pool is full", turn.turn_id)
        else:
            log.error("turn %s answered as text only: synthesis failed", turn.turn_id, exc_info=exc)

    async def _segments(self, sentence: str, language: str) -> AsyncIterator[Any]:
        """The sentence's segments as the TTS thread makes them, so the first piece is sent
        while the rest of the sentence is still being synthesised. A sentence already in memory
        (the hold line, a prefetched first sentence, a frequent answer) does not queue for the
        TTS threads at all: under load, what is ready must not wait behind what is not."""
        cached = self.speaker.cached(sentence, language)
        if cached is not None:
            for segment in cached:
                yield segment
            return
        loop, ready = asyncio.get_running_loop(), asyncio.Queue()
        job = asyncio.ensure_future(self._inference.run(
            "tts", self.speaker.synthesize, sentence, language, priority=Priority.SPEECH,
            on_segment=lambda segment: loop.call_soon_threadsafe(ready.put_nowait, segment)))
        # Scheduled after every segment the thread handed over, so it always arrives last.
        job.add_done_callback(lambda _: ready.put_nowait(_END))
        try:
            while (segment := await ready.get()) is not _END:
                yield segment
        finally:
            if not job.done():
                job.cancel()
        job.result()  # a synthesis error surfaces here, after what was made was played

    async def _chunks(self, playback: _Playback, turn: Turn, segment: Any, started: float,
                      interruptible: bool, viseme_format: str) -> AsyncIterator[p.AudioDelta]:
        """One segment as paced audio chunks."""
        base = playback.sent_ms
        playback.words.extend((w.text, base + w.start_ms) for w in segment.words)
        for chunk in self.speaker.chunks(segment, base, viseme_format):
            if playback.stop.is_set() and interruptible:
                break
            await self._pace(playback, started, chunk.offset_ms)
            yield p.AudioDelta(
                response_id=playback.response_id, seq=playback.seq, audio=b64(chunk.pcm),
                sample_rate=chunk.sample_rate, offset_ms=chunk.offset_ms,
                duration_ms=chunk.duration_ms, interruptible=interruptible, lipsync=chunk.lipsync,
            )
            playback.sent_ms = chunk.offset_ms + chunk.duration_ms
            if playback.seq == 0:
                self._first_audio(playback, turn, started)
            playback.seq += 1

    async def _pace(self, playback: _Playback, started: float, offset_ms: float) -> None:
        allowed = LEAD_MS + PACE * (time.monotonic() - started) * 1000.0
        if offset_ms > allowed:
            wait_s = (offset_ms - allowed) / (PACE * 1000.0)
            try:
                await asyncio.wait_for(playback.stop.wait(), timeout=wait_s)
            except asyncio.TimeoutError:
                pass

    def _first_audio(self, playback: _Playback, turn: Turn, started: float) -> None:
        now = time.monotonic()
        playback.first_sent = now
        self._metrics.observe("tts_first_audio", now - started)
        if turn.speech_end_wall is not None:
            self._metrics.observe("turn_to_first_audio", now - turn.speech_end_wall)
