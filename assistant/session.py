"""One customer connection: the state machine listening → thinking → speaking → listening.

A turn flows one way, and this module is where it is steered and the only place that sends:

    frame ─▶ protocol.parse ─▶ TurnDetector.feed ─▶ TurnEvents ─▶ (this session's policy)
          ─▶ Answerer (speculate / finish / answer) ─▶ Speech.play ─▶ ServerEvents ─▶ socket

The stages (`TurnDetector`, `Answerer`, `Speech`) hold no reference to the session; they return
or yield data, and the session decides: barge-in, a newer turn superseding an older one, when a
prepared answer may end the turn early, every limit, and what a failure tells the client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Coroutine, Mapping
from contextlib import aclosing
from typing import Any

from starlette.websockets import WebSocketDisconnect

from . import protocol as p
from .answering import Speculation, question_language
from .audio import AudioPace
from .conversation import Conversation
from .ids import new_id
from .partials import Partials
from .resume import Link, ResumeRegistry, Socket, hold_for_resume
from .responder import Answer, Responder
from .scheduler import Client, ServerBusy, asking
from .services import Services
from .settings import Settings
from .speaking import Speech
from .turn_detector import (MayCommit, Paused, PartialDue, Resumed, SpeechStart, TooLong, Turn, TurnDetector,
                            TurnEnded, TurnEvent)

log = logging.getLogger(__name__)
MAX_ERRORS = 50  # a client this broken is closed rather than answered forever


class Session:
    def __init__(self, ws: Socket, services: Services, channel: str, settings: Settings | None = None,
                 resumable: ResumeRegistry | None = None):
        self.services = services
        # The app's settings (limits may differ per app even when the loaded models are shared).
        self.settings = settings or services.settings
        self.channel = channel
        self.id = new_id("sess")
        # The client's connection, which a resume may replace (resume.py); without the app's
        # registry of resumable sessions, a drop ends the session.
        self.link = Link(ws, self.id, self.settings.limits, registry=resumable, channel=channel,
                         on_cut=lambda: self.speech.interrupt(None), config=lambda: self.config)
        self.answerer = services.answerer
        self.config = p.SessionConfig(language=self.settings.language, input_sample_rate=None, voice=None,
                                      viseme_format="oculus", turn_detection="server_vad")
        self.detector: TurnDetector | None = None   # made once the input sample rate is known
        self.speech = Speech(services.speaker, services.inference, services.metrics)
        # What this customer asked and was answered: follow-up questions are resolved against it.
        self.conversation = Conversation()
        self.speculation: Speculation | None = None
        self.partials = Partials(self.answerer, lambda: self.detector, self.send, self._spawn)
        self._turn_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._pace = AudioPace(self.settings.limits.max_audio_rate, self.settings.limits.audio_burst_s)
        self._errors = 0
        self.closed = False
        # Every model call this session's tasks make is queued fairly under this name.
        weight = self.settings.scheduling.kiosk_weight if channel.startswith("kiosk:") else 1.0
        asking.set(Client(self.id, weight))

    # ------------------------------------------------------------------ the only sender

    async def send(self, *events: p.ServerEvent) -> None:
        """Send events in this order, with nothing of another task's in between."""
        if self.closed:
            return
        for event in events:
            if isinstance(event, p.Error):
                self.services.metrics.errors.labels(code=event.code).inc()
        # While the connection is down and may be resumed, this waits (playback pauses).
        if not await self.link.send(events):
            self.closed = True

    async def error(self, code: str, message: str, event_id: str | None = None, *, client_fault: bool = True) -> None:
        if client_fault:
            self._errors += 1
        await self.send(p.Error(code=code, message=message, event_id=event_id))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task of this session's, kept referenced until done and cancelled when it closes."""
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # ------------------------------------------------------------------ the connection

    async def run(self) -> None:
        limits = self.settings.limits
        deadline = time.monotonic() + limits.max_session_s
        await self.send(p.SessionCreated(
            session_id=self.id, protocol=p.PROTOCOL_VERSION, session=self.config,
            limits=p.SessionLimits(**{f.name: getattr(limits, f.name) for f in dataclasses.fields(p.SessionLimits)}),
            resume_token=self.link.token, resume_window_s=self.link.window_s,
        ))
        try:
            while not self.closed:
                timeout = min(limits.idle_timeout_s, deadline - time.monotonic())
                if timeout <= 0:
                    await self._close(1000, "session time limit reached")
                    return
                ws = self.link.ws
                try:
                    ws, message = await asyncio.wait_for(self.link.receive(), timeout=timeout)
                except asyncio.TimeoutError:
                    reason = "idle timeout" if time.monotonic() < deadline else "session time limit reached"
                    await self._close(1000, reason)
                    return
                except WebSocketDisconnect as exc:
                    message = {"type": "websocket.disconnect", "code": exc.code}
                if message["type"] == "websocket.disconnect":
                    # An abrupt drop keeps the session for its client to resume (resume.py).
                    if not await hold_for_resume(self.link, ws, message.get("code"), deadline - time.monotonic()):
                        return
                    continue
                await self._on_frame(message)
                if self._errors > MAX_ERRORS:
                    await self._close(1008, "too many invalid messages")
                    return
        finally:
            self.closed = True
            self.link.close()
            self._stop_everything()

    async def _close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            try:   # before the link lets a resumed connection's endpoint return (and close it plainly)
                await self.link.ws.close(code=code, reason=reason)
            except (RuntimeError, OSError):
                pass
            self.link.close()

    def _stop_everything(self) -> None:
        self._discard_speculation("abandoned")
        self.partials.drop()
        self.speech.interrupt(None)
        for task in [self._turn_task, *self._background]:
            if task is not None and not task.done():
                task.cancel()

    # ------------------------------------------------------------------ client frames

    async def _on_frame(self, message: Mapping[str, Any]) -> None:
        limit = self.settings.limits.max_frame_bytes
        data = message.get("bytes")
        text = message.get("text")
        size = len(data) if data is not None else len((text or "").encode("utf-8", "surrogatepass"))
        if size > limit:
            await self.error(p.ErrorCode.FRAME_TOO_LARGE, f"frame of {size} bytes exceeds {limit}")
            return
        try:
            if data is not None:
                await self._on_audio(data, None)
            else:
                await self._handle(p.parse_client_event(text or ""))
        except p.ProtocolError as exc:
            # Audio that comes too fast is throttled, not held against the client: a kiosk that
            # flushes what it buffered during a network stall must not be closed for it.
            await self.error(exc.code, exc.message, exc.event_id, client_fault=exc.code != p.ErrorCode.AUDIO_TOO_FAST)

    async def _handle(self, event: Any) -> None:
        if isinstance(event, p.SessionUpdate):
            await self._update(event)
        elif isinstance(event, p.AudioAppend):
            await self._on_audio(event.pcm(), event.event_id)
        elif isinstance(event, p.AudioCommit):
            detector = self._require_detector(event.event_id)
            ended = detector.commit()
            if ended is None:
                raise p.ProtocolError(p.ErrorCode.NOTHING_TO_COMMIT, "no buffered speech to commit", event.event_id)
            await self._end_turn(ended)
        elif isinstance(event, p.InputText):
            await self._on_text(event)
        elif isinstance(event, p.ResponseCancel):
            if not self.speech.active:
                raise p.ProtocolError(p.ErrorCode.NO_RESPONSE, "no response is playing", event.event_id)
            self.speech.interrupt(heard_ms=event.heard_ms)
        elif isinstance(event, p.Ping):
            await self.send(p.Pong(id=event.id))
        elif isinstance(event, p.ClarifyChoose):
            self._on_choice(event)
        elif isinstance(event, p.SessionResume):
            raise p.ProtocolError(p.ErrorCode.INVALID_EVENT, "session.resume opens a connection made with ?resume=",
                                  event.event_id)

    async def _update(self, event: p.SessionUpdate) -> None:
        changes = event.session.model_dump(exclude_none=True)
        voice = changes.get("voice")
        if voice is not None and voice not in self.services.speaker.voice_names.values():
            raise p.ProtocolError(p.ErrorCode.INVALID_EVENT, f"unknown voice {voice[:64]!r}", event.event_id)
        self.config = self.config.model_copy(update=changes)
        rate, push_to_talk = self.config.input_sample_rate, self.config.turn_detection == "push_to_talk"
        if rate is not None and (self.detector is None or self.detector.input_rate != rate):
            # A new rate is a new stream: what was heard at the old one is dropped.
            self._discard_speculation("abandoned")
            self.partials.drop()
            limits = self.settings.limits
            self.detector = TurnDetector(self.settings.endpointing, self.services.vad, input_rate=rate,
                                         push_to_talk=push_to_talk, max_utterance_s=limits.max_utterance_s,
                                         partial_interval_ms=self.settings.partial_interval_ms)
        elif self.detector is not None:
            self.detector.push_to_talk = push_to_talk
        await self.send(p.SessionUpdated(session=self.config))

    def _require_detector(self, event_id: str | None) -> TurnDetector:
        if self.detector is None:
            raise p.ProtocolError(
                p.ErrorCode.NOT_CONFIGURED, "send session.update with input_sample_rate before audio", event_id
            )
        return self.detector

    async def _on_audio(self, pcm: bytes, event_id: str | None) -> None:
        detector = self._require_detector(event_id)
        if len(pcm) % 2:
            raise p.ProtocolError(p.ErrorCode.BAD_AUDIO, "PCM16 audio must have an even number of bytes", event_id)
        if not self._pace.admit(len(pcm) / 2 / detector.input_rate):
            raise p.ProtocolError(p.ErrorCode.AUDIO_TOO_FAST, "audio is arriving faster than "
                                  f"{self.settings.limits.max_audio_rate:g}x real time; this frame was dropped", event_id)
        # Resampling and the VAD on a thread: small per frame, but twenty kiosks' worth of it
        # must not hold the loop that every session's sends go through.
        for event in await asyncio.to_thread(detector.feed, pcm):
            await self._on_turn_event(event)

    async def _on_text(self, event: p.InputText) -> None:
        limit = self.settings.limits.max_text_chars
        if len(event.text) > limit:
            raise p.ProtocolError(p.ErrorCode.TEXT_TOO_LONG, f"text longer than {limit} characters", event.event_id)
        self.speech.interrupt(heard_ms=None)
        language = question_language(event.text, event.language, self.config.language or "auto")
        self.start_turn(Turn(turn_id=new_id("turn"), text=event.text.strip(), language=language))

    def _on_choice(self, event: p.ClarifyChoose) -> None:
        """A tap on an option of the clarifying question the teller asked last: answered as a
        turn of its own (the option's question is its text), like a typed question."""
        pending = self.conversation.pending
        option = pending.option(event.entry_id) if pending is not None else None
        if pending is None or option is None:
            why = ("no clarifying question is waiting for an answer" if pending is None
                   else f"{event.entry_id!r} is not one of the options offered")
            raise p.ProtocolError(p.ErrorCode.INVALID_CHOICE, why, event.event_id)
        self.speech.interrupt(heard_ms=None)
        self.start_turn(Turn(turn_id=new_id("turn"), text=option.question, language=pending.language,
                             tapped=option.entry_id))

    # ------------------------------------------------------------------ turn events (the policy)

    async def _on_turn_event(self, event: TurnEvent) -> None:
        detector = self.detector
        assert detector is not None
        if isinstance(event, TurnEnded):
            await self._end_turn(event)
            return
        if isinstance(event, TooLong):   # its TurnEnded follows in the same batch
            await self.error(p.ErrorCode.UTTERANCE_TOO_LONG, f"a turn may last at most {event.limit_s:g} s")
            return
        if getattr(event, "turn_id", None) != detector.turn_id:
            return  # from a turn this session has already ended early (a long frame's later windows)
        if isinstance(event, SpeechStart):
            self.speech.interrupt(heard_ms=None)   # barge-in
            await self.send(p.SpeechStarted(audio_start_ms=event.audio_start_ms))
        elif isinstance(event, PartialDue):
            self.partials.start(event, self._language())
        elif isinstance(event, Paused):
            self._speculate(event)
        elif isinstance(event, Resumed):
            self._discard_speculation("resumed")
        elif isinstance(event, MayCommit):
            if self._speculation_settles():
                await self._end_turn(detector.end_turn())

    def _language(self) -> str | None:
        return self.config.language if self.config.language in ("zh", "en") else None

    def _speculate(self, paused: Paused) -> None:
        self._discard_speculation(None)
        self.partials.drop()  # the speculation needs the transcriber more than a partial does
        spec = self.speculation = self.answerer.speculate(paused.audio, self._language(), self.conversation)
        self._spawn(self._when_prepared(spec))

    async def _when_prepared(self, spec: Speculation) -> None:
        await spec.settled()
        if spec.result is None:
            return
        prefetch = self.speech.prefetch(spec.result[1])
        if prefetch is not None:
            self._background.add(prefetch)
            prefetch.add_done_callback(self._background.discard)
        detector = self.detector
        if spec is self.speculation and detector is not None and self._speculation_settles():
            if (ended := detector.end_turn_if_may_commit()) is not None:
                await self._end_turn(ended)

    def _speculation_settles(self) -> bool:
        e = self.settings.endpointing
        return self.answerer.settles_turn(self.speculation, confident=e.confident, unfinished_below=e.unfinished_below)

    def _discard_speculation(self, fate: str | None) -> None:
        spec, self.speculation = self.speculation, None
        if spec is not None and fate:
            self.services.metrics.speculations.labels(fate=fate).inc()
            spec.cancel()

    async def _end_turn(self, ended: TurnEnded) -> None:
        """The detector ended a turn: announce it, then answer it (with what was prepared)."""
        spec, self.speculation = self.speculation, None
        if spec is not None:
            self.services.metrics.speculations.labels(fate="used").inc()
        self.services.metrics.observe("endpointing", ended.silence_s)
        self.partials.drop()
        turn = dataclasses.replace(ended.turn, speculation=spec)
        # Sent together and before the answer starts, so `committed` always precedes the turn's
        # `transcript.final`, however slow the socket.
        await self.send(p.SpeechStopped(audio_end_ms=ended.speech_end_ms), p.Committed(turn_id=turn.turn_id))
        self.start_turn(turn)

    # ------------------------------------------------------------------ answering

    def start_turn(self, turn: Turn) -> None:
        """Answer a finished turn. A newer turn supersedes an older one still being prepared; an
        answer already playing is interrupted and allowed to end properly (its disclosure, its
        `response.done`) before the new answer starts."""
        previous = self._turn_task
        if previous is not None and not previous.done():
            if self.speech.active:
                self.speech.interrupt(heard_ms=None)
            else:
                previous.cancel()
        self._turn_task = asyncio.get_running_loop().create_task(self._answer(turn, previous))

    async def _answer(self, turn: Turn, previous: asyncio.Task[None] | None) -> None:
        resolving = asyncio.ensure_future(self._resolve(turn))
        try:
            await self._hold_if_slow(turn, resolving, previous)
            turn, answer = await resolving
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
        except ServerBusy as exc:
            await self.send(p.Error(code=p.ErrorCode.SERVER_BUSY, message=str(exc), retry_after_ms=exc.retry_after_ms))
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one broken turn must not end the session
            log.exception("turn %s failed", turn.turn_id)
            await self.error(p.ErrorCode.INTERNAL, "the answer could not be prepared", client_fault=False)
            return
        finally:
            resolving.cancel()   # a no-op once done; stops the work if this turn was superseded
        await self._play(turn, answer)

    async def _hold_if_slow(self, turn: Turn, resolving: asyncio.Future[Any], previous: asyncio.Task[None] | None) -> None:
        """A voice turn still unanswered `hold_after_s` after the customer finished (an overloaded
        server) hears "one moment, please" (pre-synthesised, in memory) while it waits."""
        done, _ = await asyncio.wait([resolving], timeout=self.settings.scheduling.hold_after_s)
        if done or turn.typed or self.speech.active or (previous is not None and not previous.done()):
            return
        await self._play(turn, Responder.hold(self._language() or self._likely_language(turn)))

    def _likely_language(self, turn: Turn) -> str:
        """Before the final transcript: what was heard so far, else the last turn, else Mandarin
        (the bank's customers' first language)."""
        heard = turn.speculation.result if turn.speculation is not None else None
        if heard is not None and heard[0].language in ("zh", "en"):
            return heard[0].language
        past = self.conversation.exchanges
        return past[-1].language if past else "zh"

    async def _resolve(self, turn: Turn) -> tuple[Turn, Answer]:
        """The turn's final text and its answer (a voice turn's transcript is sent first)."""
        if turn.typed:
            return turn, await self.answerer.answer(turn.text, turn.language or "en", self.conversation,
                                                    tapped=turn.tapped)
        assert turn.audio is not None
        heard, answer = await self.answerer.finish(turn.audio, self._language(), turn.speculation, self.conversation)
        await self.send(p.TranscriptFinal(turn_id=turn.turn_id, text=heard.text, language=heard.language))
        return dataclasses.replace(turn, text=heard.text, language=heard.language), answer

    async def _play(self, turn: Turn, answer: Answer) -> None:
        # A synthesis failure ends with a `degraded` response.done inside play(): no error to send.
        async with aclosing(self.speech.play(turn, answer, self.config.viseme_format or "oculus")) as events:
            async for event in events:
                await self.send(event)
                if isinstance(event, p.ResponseCreated) and answer.kind != "hold":
                    self._spawn(self.answerer.served(turn.text, answer, channel=self.channel,
                                                     response_id=event.response_id,
                                                     conversation=self.conversation))
