"""The listening half of a session: audio in, turns out.

Audio is resampled to 16 kHz, scored by the streaming VAD window by window, and the `TurnTracker`
says when silence milestones pass. From the first ~160 ms of silence a speculative transcription
and retrieval run; the turn is committed early only when that speculation reads as a complete,
confidently matched question, otherwise at the maximum silence. Speech that resumes discards it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import protocol as p
from .answering import NoLongerWanted
from .audio import Resampler, pcm16_to_float
from .completeness import looks_complete
from .ids import new_id
from .responder import Answer, asks_for_human
from .turns import Signal, TurnTracker

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)
RATE = 16_000
PREROLL_MS = 300     # audio kept before the detected start so the first syllable is not clipped
TAIL_MS = 250        # silence kept after the last voiced window; Whisper needs a little
MIN_PARTIAL_S = 0.6


@dataclass
class Speculation:
    samples: int
    task: asyncio.Task
    result: tuple[str, str, Answer] | None = None


@dataclass
class Turn:
    turn_id: str
    text: str = ""
    language: str = "en"
    typed: bool = False
    audio: np.ndarray | None = None
    speculation: Speculation | None = None
    answer: Answer | None = None
    speech_end_wall: float | None = None


@dataclass
class _Buffer:
    """Audio since `origin` (absolute 16 kHz sample index), kept as chunks until needed."""

    origin: int = 0
    chunks: list[np.ndarray] = field(default_factory=list)
    length: int = 0

    def append(self, x: np.ndarray) -> None:
        self.chunks.append(x)
        self.length += len(x)

    def keep_from(self, absolute: int) -> None:
        drop = absolute - self.origin
        if drop <= 0:
            return
        audio = self.array()[drop:]
        self.chunks, self.length, self.origin = [audio], len(audio), absolute

    def array(self, end: int | None = None) -> np.ndarray:
        if len(self.chunks) != 1:
            self.chunks = [np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)]
        audio = self.chunks[0]
        return audio if end is None else audio[: max(0, end - self.origin)]


class Listener:
    def __init__(self, session: "Session"):
        self.session = session
        self.services = session.services
        self.tracker = TurnTracker(self.session.settings.endpointing)
        self.detector = self.services.vad.detector()
        self.resampler: Resampler | None = None
        self.buffer = _Buffer()
        self.turn_id: str | None = None
        self.speculation: Speculation | None = None
        self._partial: asyncio.Task | None = None
        # Set when a queued partial is no longer wanted: cancelling its task cannot recall a job
        # already handed to the ASR pool, so the job itself checks this before it starts.
        self._partial_stale = threading.Event()
        self._last_partial_ms = 0
        self._speech_end_wall: float | None = None
        self._heard_any = False   # push-to-talk: anything voiced since the last commit

    # ------------------------------------------------------------------ stream

    def configure(self) -> None:
        rate = self.session.config["input_sample_rate"]
        if rate and (self.resampler is None or self.resampler.source_rate != rate):
            self.resampler = Resampler(rate, RATE)

    def reset_stream(self) -> None:
        self.abandon()
        self.tracker = TurnTracker(self.session.settings.endpointing)
        self.detector = self.services.vad.detector()
        self.buffer = _Buffer()

    @property
    def push_to_talk(self) -> bool:
        return self.session.config["turn_detection"] == "push_to_talk"

    async def feed(self, pcm: bytes) -> None:
        assert self.resampler is not None
        audio = self.resampler(pcm16_to_float(pcm))
        self.buffer.append(audio)
        for prob in self.detector.process(audio):
            if prob >= self.tracker.config.speech_threshold:
                self._speech_end_wall = time.monotonic()
            for signal in self.tracker.push(prob):
                await self._on_signal(signal)
        now = self.tracker.now_ms * RATE // 1000
        if self.tracker.in_turn:
            limit = self.session.settings.limits.max_utterance_s
            if (self.tracker.now_ms - self.tracker.speech_start_ms) / 1000 > limit:
                await self.session.error(p.ErrorCode.UTTERANCE_TOO_LONG, f"a turn may last at most {limit:g} s")
                self._finish()
                return
            self._maybe_partial()
        elif not self.push_to_talk:
            self.buffer.keep_from(now - PREROLL_MS * RATE // 1000)

    async def _on_signal(self, signal: Signal) -> None:
        t = self.tracker
        if signal is Signal.SPEECH_STARTED:
            self._heard_any = True
            if self.session.speech.active:
                self.session.speech.interrupt(heard_ms=None)
            if self.turn_id is None:
                self.turn_id = _new_turn_id()
                if not self.push_to_talk:
                    self.buffer.keep_from(max(0, (t.speech_start_ms - PREROLL_MS) * RATE // 1000))
                self._last_partial_ms = t.now_ms
            await self.session.send(p.SpeechStarted(audio_start_ms=t.speech_start_ms))
        elif self.push_to_talk:
            return  # the customer's button, not silence, ends a push-to-talk turn
        elif signal is Signal.SPECULATE:
            self._speculate()
        elif signal is Signal.RESUMED:
            self._discard_speculation("resumed")
        elif signal is Signal.MAY_COMMIT:
            if self._speculation_confident():
                self._finish()
        elif signal is Signal.SILENCE_TIMEOUT:
            self._finish()

    def commit(self) -> Turn | None:
        """Push-to-talk end (or a manual commit in VAD mode): end the turn now."""
        if self.push_to_talk:
            if not self._heard_any or self.buffer.length == 0:
                return None
        elif not self.tracker.in_turn:
            return None
        return self._finish(start=False)

    # ------------------------------------------------------------------ partials and speculation

    def _language(self) -> str | None:
        lang = self.session.config["language"]
        return lang if lang in ("zh", "en") else None

    async def _transcribe(self, audio: np.ndarray, *, stage: str = "asr_final",
                          unless: threading.Event | None = None) -> tuple[str, str]:
        heard = await self.services.answerer.transcribe(audio, self._language(), stage=stage, unless=unless)
        return heard.text, heard.language

    def _drop_partial(self) -> None:
        self._partial_stale.set()
        if self._partial and not self._partial.done():
            self._partial.cancel()

    def _maybe_partial(self) -> None:
        interval = self.session.settings.partial_interval_ms
        if self.tracker.pausing or (self._partial and not self._partial.done()):
            return
        if self.tracker.now_ms - self._last_partial_ms < interval or self.buffer.length < MIN_PARTIAL_S * RATE:
            return
        self._last_partial_ms = self.tracker.now_ms
        self._partial_stale = threading.Event()
        self._partial = asyncio.create_task(
            self._run_partial(self.turn_id, self.buffer.array().copy(), self._partial_stale))

    async def _run_partial(self, turn_id: str | None, audio: np.ndarray, stale: threading.Event) -> None:
        try:
            text, _ = await self._transcribe(audio, stage="asr_partial", unless=stale)
        except NoLongerWanted:
            return
        except Exception:  # noqa: BLE001 - a partial is a courtesy; the final still runs
            log.debug("partial transcription failed", exc_info=True)
            return
        finally:
            # The interval counts from the end of a partial: the one transcription slot must be
            # free most of the time, or the end-of-turn speculation queues behind a partial.
            self._last_partial_ms = self.tracker.now_ms
        if text and turn_id == self.turn_id:
            await self.session.send(p.TranscriptPartial(turn_id=turn_id, text=text))

    def _speculate(self) -> None:
        self._discard_speculation(None)
        self._drop_partial()  # the speculation needs the transcriber more than a partial does
        end = self.tracker.now_ms * RATE // 1000
        audio = self.buffer.array(end).copy()
        spec = Speculation(samples=end, task=None)  # type: ignore[arg-type]
        spec.task = asyncio.create_task(self._run_speculation(spec, audio))
        self.speculation = spec

    async def _run_speculation(self, spec: Speculation, audio: np.ndarray) -> tuple[str, str, Answer]:
        heard, answer = await self.services.answerer.hear(audio, self._language())
        spec.result = (heard.text, heard.language, answer)
        self.session.speech.prefetch(answer)
        if self.speculation is spec and self.tracker.may_commit and self.tracker.in_turn:
            if self._speculation_confident():
                self._finish()
        return spec.result

    def _speculation_confident(self) -> bool:
        spec = self.speculation
        if spec is None or spec.result is None:
            return False
        text, language, answer = spec.result
        if not text or not looks_complete(text, language):
            return False
        if asks_for_human(text):
            return True
        return not answer.handoff and answer.confidence >= self.session.settings.endpointing.confident

    def _discard_speculation(self, fate: str | None) -> None:
        spec, self.speculation = self.speculation, None
        if spec is not None and fate:
            self.services.metrics.speculations.labels(fate=fate).inc()
            if not spec.task.done():
                spec.task.cancel()

    # ------------------------------------------------------------------ end of turn

    def _finish(self, start: bool = True) -> Turn:
        t = self.tracker
        end = min(self.buffer.origin + self.buffer.length, (t.speech_end_ms + TAIL_MS) * RATE // 1000)
        if self.push_to_talk or not start:
            end = self.buffer.origin + self.buffer.length
        spec = self.speculation
        if spec is not None:
            self.services.metrics.speculations.labels(fate="used").inc()
        self.services.metrics.observe("endpointing", t.silence_ms / 1000)
        turn = Turn(
            turn_id=self.turn_id or _new_turn_id(),
            audio=self.buffer.array(end).copy(),
            speculation=spec,
            speech_end_wall=self._speech_end_wall,
        )
        stopped_ms = t.speech_end_ms
        t.reset()
        self.speculation = None
        self.turn_id = None
        self._heard_any = False
        self.buffer.keep_from(self.buffer.origin + self.buffer.length)
        self._drop_partial()
        asyncio.get_running_loop().create_task(self._announce(turn, stopped_ms))
        if start:
            self.session.start_turn(turn)
        return turn

    async def _announce(self, turn: Turn, stopped_ms: int) -> None:
        await self.session.send(p.SpeechStopped(audio_end_ms=stopped_ms))
        await self.session.send(p.Committed(turn_id=turn.turn_id))

    async def final_transcript(self, turn: Turn) -> tuple[str, str]:
        spec = turn.speculation
        if spec is not None:
            try:
                text, language, answer = spec.result or await spec.task
                turn.answer = answer
                return text, language
            except asyncio.CancelledError:
                if asyncio.current_task() and asyncio.current_task().cancelling():
                    raise
        return await self._transcribe(turn.audio if turn.audio is not None else np.zeros(0, np.float32))

    def abandon(self) -> None:
        self._discard_speculation("abandoned")
        self._drop_partial()


def _new_turn_id() -> str:
    return new_id("turn")
