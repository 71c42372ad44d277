"""The speaking half of a session: one response at a time, paced, interruptible.

Audio leaves at most ~2x real time after a short lead, so a client's buffer stays shallow and a
barge-in loses little. A mandatory disclosure is a non-interruptible part: once an answer that
carries one has started, a barge-in skips the rest of the answer but the disclosure is still
spoken in full (a risk warning must reach a customer who heard any of the product), and only
then does the response end as interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from avatar_bridge import mood_for

from . import protocol as p
from .ids import new_id
from .responder import Answer, related_json
from .speech_out import b64

if TYPE_CHECKING:
    from .listener import Turn
    from .session import Session

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
    def __init__(self, session: "Session"):
        self.session = session
        self.services = session.services
        self.current: _Playback | None = None

    @property
    def active(self) -> bool:
        return self.current is not None

    def interrupt(self, heard_ms: float | None) -> None:
        if self.current is not None:
            self.current.heard_ms = heard_ms
            self.current.stop.set()

    def abandon(self) -> None:
        self.interrupt(None)

    def prefetch(self, answer: Answer) -> None:
        """Synthesise the first sentence in the background so a committed turn speaks at once."""
        speaker = self.services.speaker
        if answer.language not in speaker.engines:
            return
        sentences = speaker.sentences(answer.text, answer.language)
        if sentences:
            asyncio.get_running_loop().create_task(self._warm(sentences[0], answer.language))

    async def _warm(self, sentence: str, language: str) -> None:
        try:
            await self.services.inference.run("tts", self.services.speaker.synthesize, sentence, language)
        except Exception:  # noqa: BLE001 - a failed warm-up only costs the cache hit
            log.debug("prefetch failed", exc_info=True)

    async def play(self, turn: "Turn", answer: Answer) -> None:
        session, speaker = self.session, self.services.speaker
        fmt = session.config["viseme_format"]
        playback = _Playback(response_id=new_id("resp"), language=answer.language)
        self.current = playback
        try:
            await session.send(p.ResponseCreated(
                response_id=playback.response_id, turn_id=turn.turn_id, text=answer.text,
                language=answer.language, entry_id=answer.entry_id, confidence=round(answer.confidence, 4),
                handoff=answer.handoff, kind=answer.kind, mood=mood_for(answer.kind), disclosure=answer.disclosure,
                sample_rate=speaker.sample_rate(answer.language), viseme_format=fmt,
                related=related_json(answer),
            ))
            asyncio.get_running_loop().create_task(self._audit(turn, answer, playback.response_id))
            parts = [(answer.text, True)] + ([(answer.disclosure, False)] if answer.disclosure else [])
            started = time.monotonic()
            seq = 0
            for text, interruptible in parts:
                sentences = speaker.sentences(text, answer.language)
                for sentence in sentences:
                    if playback.stop.is_set() and interruptible:
                        break
                    async for segment in self._segments(sentence, answer.language):
                        seq = await self._send(playback, turn, segment, seq, started, interruptible)
                    if not interruptible and sentence == sentences[-1]:
                        seq = await self._send(playback, turn, speaker.pause(answer.language), seq, started, False)
            interrupted = playback.stop.is_set()
            heard = playback.heard_estimate() if interrupted else None
            await session.send(p.ResponseDone(
                response_id=playback.response_id, interrupted=interrupted, audio_ms=round(playback.sent_ms, 3),
                heard_ms=None if heard is None else round(heard, 1),
                heard_text=None if heard is None else playback.heard_text(heard),
            ))
        finally:
            if self.current is playback:
                self.current = None

    async def _segments(self, sentence: str, language: str) -> AsyncIterator[Any]:
        """The sentence's segments as the TTS thread makes them, so the first piece is sent
        while the rest of the sentence is still being synthesised."""
        loop, ready = asyncio.get_running_loop(), asyncio.Queue()
        job = asyncio.ensure_future(self.services.inference.run(
            "tts", self.services.speaker.synthesize, sentence, language,
            on_segment=lambda segment: loop.call_soon_threadsafe(ready.put_nowait, segment)))
        # Scheduled after every segment the thread handed over, so it always arrives last.
        job.add_done_callback(lambda _: ready.put_nowait(_END))
        while (segment := await ready.get()) is not _END:
            yield segment
        job.result()  # a synthesis error surfaces here, after what was made was played

    async def _send(self, playback: _Playback, turn: "Turn", segment: Any, seq: int, started: float,
                    interruptible: bool) -> int:
        """Send one segment as paced audio chunks; returns the next sequence number."""
        speaker, fmt = self.services.speaker, self.session.config["viseme_format"]
        base = playback.sent_ms
        playback.words.extend((w.text, base + w.start_ms) for w in segment.words)
        for chunk in speaker.chunks(segment, base, fmt):
            if playback.stop.is_set() and interruptible:
                break
            await self._pace(playback, started, chunk.offset_ms)
            await self.session.send(p.AudioDelta(
                response_id=playback.response_id, seq=seq, audio=b64(chunk.pcm),
                sample_rate=chunk.sample_rate, offset_ms=chunk.offset_ms,
                duration_ms=chunk.duration_ms, interruptible=interruptible, lipsync=chunk.lipsync,
            ))
            playback.sent_ms = chunk.offset_ms + chunk.duration_ms
            if seq == 0:
                self._first_audio(playback, turn)
                self.services.metrics.observe("tts_first_audio", time.monotonic() - started)
            seq += 1
        return seq

    async def _audit(self, turn: "Turn", answer: Answer, response_id: str) -> None:
        await self.services.answerer.served(turn.text, answer, channel=self.session.channel, response_id=response_id)

    async def _pace(self, playback: _Playback, started: float, offset_ms: float) -> None:
        allowed = LEAD_MS + PACE * (time.monotonic() - started) * 1000.0
        if offset_ms > allowed:
            wait_s = (offset_ms - allowed) / (PACE * 1000.0)
            try:
                await asyncio.wait_for(playback.stop.wait(), timeout=wait_s)
            except asyncio.TimeoutError:
                pass

    def _first_audio(self, playback: _Playback, turn: "Turn") -> None:
        now = time.monotonic()
        playback.first_sent = now
        if turn.speech_end_wall is not None:
            self.services.metrics.observe("turn_to_first_audio", now - turn.speech_end_wall)
