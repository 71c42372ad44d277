"""One customer connection: the state machine listening → thinking → speaking → listening.

The session reads frames, keeps every limit, and hands audio to `Listener` (turn detection and
speculative transcription) and answers to `Speech` (paced, interruptible playback). All model
calls go through `Services.inference`, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from . import protocol as p
from .ids import new_id
from .listener import Listener, Turn
from .answering import question_language
from .responder import Answer
from .services import ServerBusy, Services
from .settings import Settings
from .speaking import Speech

log = logging.getLogger(__name__)
MAX_ERRORS = 50  # a client this broken is closed rather than answered forever


class Session:
    def __init__(self, ws: WebSocket, services: Services, channel: str, settings: Settings | None = None):
        self.ws = ws
        self.services = services
        # The app's settings (limits may differ per app even when the loaded models are shared).
        self.settings = settings or services.settings
        self.channel = channel
        self.id = new_id("sess")
        s = self.settings
        self.config: dict[str, Any] = {
            "language": s.language,
            "input_sample_rate": None,
            "voice": None,
            "viseme_format": "oculus",
            "turn_detection": "server_vad",
        }
        self._send_lock = asyncio.Lock()
        self._errors = 0
        self._turn_task: asyncio.Task | None = None
        self.listener = Listener(self)
        self.speech = Speech(self)
        self.closed = False

    # ------------------------------------------------------------------ I/O

    async def send(self, event: p._ServerEvent) -> None:
        if self.closed:
            return
        if isinstance(event, p.Error):
            self.services.metrics.errors.labels(code=event.code).inc()
        async with self._send_lock:
            try:
                await self.ws.send_text(event.to_json())
            except (WebSocketDisconnect, RuntimeError):
                self.closed = True

    async def error(self, code: str, message: str, event_id: str | None = None) -> None:
        self._errors += 1
        await self.send(p.Error(code=code, message=message, event_id=event_id))

    async def run(self) -> None:
        limits = self.settings.limits
        deadline = time.monotonic() + limits.max_session_s
        await self.send(p.SessionCreated(
            session_id=self.id, protocol=p.PROTOCOL_VERSION, session=dict(self.config),
            limits={"max_frame_bytes": limits.max_frame_bytes, "max_utterance_s": limits.max_utterance_s,
                    "max_text_chars": limits.max_text_chars, "idle_timeout_s": limits.idle_timeout_s,
                    "max_session_s": limits.max_session_s},
        ))
        try:
            while not self.closed:
                timeout = min(limits.idle_timeout_s, deadline - time.monotonic())
                if timeout <= 0:
                    await self._close(1000, "session time limit reached")
                    return
                try:
                    message = await asyncio.wait_for(self.ws.receive(), timeout=timeout)
                except asyncio.TimeoutError:
                    reason = "idle timeout" if time.monotonic() < deadline else "session time limit reached"
                    await self._close(1000, reason)
                    return
                if message["type"] == "websocket.disconnect":
                    return
                await self._on_frame(message)
                if self._errors > MAX_ERRORS:
                    await self._close(1008, "too many invalid messages")
                    return
        except WebSocketDisconnect:
            return
        finally:
            self.closed = True
            await self._stop_everything()

    async def _close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            try:
                await self.ws.close(code=code, reason=reason)
            except RuntimeError:
                pass

    async def _stop_everything(self) -> None:
        self.listener.abandon()
        self.speech.abandon()
        if self._turn_task and not self._turn_task.done():
            self._turn_task.cancel()

    # ------------------------------------------------------------------ dispatch

    async def _on_frame(self, message: dict[str, Any]) -> None:
        limit = self.settings.limits.max_frame_bytes
        data = message.get("bytes")
        text = message.get("text")
        size = len(data) if data is not None else len((text or "").encode("utf-8"))
        if size > limit:
            await self.error(p.ErrorCode.FRAME_TOO_LARGE, f"frame of {size} bytes exceeds {limit}")
            return
        try:
            if data is not None:
                await self._on_audio(data, None)
            else:
                await self._handle(p.parse_client_event(text or ""))
        except p.ProtocolError as exc:
            await self.error(exc.code, exc.message, exc.event_id)

    async def _handle(self, event: Any) -> None:
        if isinstance(event, p.SessionUpdate):
            await self._update(event)
        elif isinstance(event, p.AudioAppend):
            await self._on_audio(event.pcm(), event.event_id)
        elif isinstance(event, p.AudioCommit):
            self._require_configured(event.event_id)
            turn = self.listener.commit()
            if turn is None:
                raise p.ProtocolError(p.ErrorCode.NOTHING_TO_COMMIT, "no buffered speech to commit", event.event_id)
            self.start_turn(turn)
        elif isinstance(event, p.InputText):
            await self._on_text(event)
        elif isinstance(event, p.ResponseCancel):
            if not self.speech.active:
                raise p.ProtocolError(p.ErrorCode.NO_RESPONSE, "no response is playing", event.event_id)
            self.speech.interrupt(heard_ms=event.heard_ms)
        elif isinstance(event, p.Ping):
            await self.send(p.Pong(id=event.id))

    async def _update(self, event: p.SessionUpdate) -> None:
        changes = event.session.model_dump(exclude_none=True)
        voice = changes.get("voice")
        if voice is not None and voice not in self.services.speaker.voice_names.values():
            raise p.ProtocolError(p.ErrorCode.INVALID_EVENT, f"unknown voice {voice[:64]!r}", event.event_id)
        if "input_sample_rate" in changes and self.config["input_sample_rate"] not in (None, changes["input_sample_rate"]):
            self.listener.reset_stream()
        self.config.update(changes)
        self.listener.configure()
        await self.send(p.SessionUpdated(session=dict(self.config)))

    def _require_configured(self, event_id: str | None) -> None:
        if self.config["input_sample_rate"] is None:
            raise p.ProtocolError(
                p.ErrorCode.NOT_CONFIGURED, "send session.update with input_sample_rate before audio", event_id
            )

    async def _on_audio(self, pcm: bytes, event_id: str | None) -> None:
        self._require_configured(event_id)
        if len(pcm) % 2:
            raise p.ProtocolError(p.ErrorCode.BAD_AUDIO, "PCM16 audio must have an even number of bytes", event_id)
        await self.listener.feed(pcm)

    async def _on_text(self, event: p.InputText) -> None:
        limit = self.settings.limits.max_text_chars
        if len(event.text) > limit:
            raise p.ProtocolError(p.ErrorCode.TEXT_TOO_LONG, f"text longer than {limit} characters", event.event_id)
        if self.speech.active:
            self.speech.interrupt(heard_ms=None)
        language = question_language(event.text, event.language, self.config["language"])
        self.start_turn(Turn(turn_id=new_id("turn"), text=event.text.strip(), language=language, typed=True))

    # ------------------------------------------------------------------ turns

    def start_turn(self, turn: Turn) -> None:
        """Answer a finished turn. A newer turn supersedes an older one still being prepared; an
        answer already playing is interrupted and allowed to end properly (its disclosure, its
        `response.done`) before the new answer starts."""
        previous = self._turn_task
        if previous and not previous.done():
            if self.speech.active:
                self.speech.interrupt(heard_ms=None)
            else:
                previous.cancel()
        self._turn_task = asyncio.create_task(self._answer(turn, previous))

    async def _answer(self, turn: Turn, previous: asyncio.Task | None = None) -> None:
        try:
            answer = await self._resolve(turn)
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
        except ServerBusy as exc:
            await self.error(p.ErrorCode.SERVER_BUSY, str(exc))
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one broken turn must not end the session
            log.exception("turn %s failed", turn.turn_id)
            await self.error(p.ErrorCode.INTERNAL, "the answer could not be prepared")
            return
        await self.speech.play(turn, answer)

    async def _resolve(self, turn: Turn) -> Answer:
        if not turn.typed:
            text, language = await self.listener.final_transcript(turn)
            turn.text, turn.language = text, language
            await self.send(p.TranscriptFinal(turn_id=turn.turn_id, text=text, language=language))
        if turn.answer is not None:
            return turn.answer
        return await self.services.answerer.answer(turn.text, turn.language)
