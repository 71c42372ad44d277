"""Protocol v1 of `WS /v1/session`: every message as a small typed class (spec: docs/protocol.md).

Client events are validated strictly (unknown fields, wrong types and out-of-range values are
errors with a stable code); server events are frozen dataclasses whose `to_event()` gives the
JSON object sent on the wire. Binary WebSocket frames are PCM16LE mono audio and are not parsed here.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from avatar_bridge import VISEME_FORMATS

PROTOCOL_VERSION = "v1"
SAMPLE_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)


class ErrorCode:
    """Stable error codes; clients may branch on them (never on messages)."""

    INVALID_JSON = "invalid_json"
    INVALID_EVENT = "invalid_event"
    UNKNOWN_EVENT = "unknown_event"
    FRAME_TOO_LARGE = "frame_too_large"
    NOT_CONFIGURED = "session_not_configured"
    BAD_AUDIO = "invalid_audio"
    AUDIO_TOO_FAST = "audio_too_fast"
    TEXT_TOO_LONG = "text_too_long"
    UTTERANCE_TOO_LONG = "utterance_too_long"
    NOTHING_TO_COMMIT = "nothing_to_commit"
    NO_RESPONSE = "no_active_response"
    INVALID_CHOICE = "invalid_choice"
    RESUME_REFUSED = "resume_refused"
    SERVER_BUSY = "server_busy"
    INTERNAL = "internal_error"


class ProtocolError(Exception):
    """A client message the session refuses; it becomes an `error` event."""

    def __init__(self, code: str, message: str, event_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.event_id = event_id


# ---------------------------------------------------------------- client events


class _ClientEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    event_id: str | None = Field(None, max_length=64)


class SessionConfig(BaseModel):
    """A session's settings. In `session.update` every field is optional (only the ones sent
    change); the session's own copy, sent in `session.created` / `session.updated`, has them all
    (`input_sample_rate` stays null until the client sets it)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    language: Literal["auto", "zh", "en"] | None = None
    input_sample_rate: Literal[SAMPLE_RATES] | None = None  # type: ignore[valid-type]
    voice: str | None = Field(None, max_length=64)
    viseme_format: Literal[VISEME_FORMATS] | None = None  # type: ignore[valid-type]
    turn_detection: Literal["server_vad", "push_to_talk"] | None = None


class SessionUpdate(_ClientEvent):
    type: Literal["session.update"]
    session: SessionConfig


class AudioAppend(_ClientEvent):
    type: Literal["input_audio_buffer.append"]
    audio: str = Field(description="base64 PCM16LE mono at the session's input_sample_rate")

    def pcm(self) -> bytes:
        try:
            data = base64.b64decode(self.audio, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ProtocolError(ErrorCode.BAD_AUDIO, "audio is not valid base64", self.event_id) from exc
        if len(data) % 2:
            raise ProtocolError(ErrorCode.BAD_AUDIO, "PCM16 audio must have an even number of bytes", self.event_id)
        return data


class AudioCommit(_ClientEvent):
    type: Literal["input_audio_buffer.commit"]


class InputText(_ClientEvent):
    type: Literal["input_text"]
    text: str = Field(min_length=1)
    language: Literal["zh", "en"] | None = None


class ResponseCancel(_ClientEvent):
    type: Literal["response.cancel"]
    heard_ms: int | None = Field(None, ge=0)


class Ping(_ClientEvent):
    type: Literal["ping"]
    id: str | int | None = None


class ClarifyChoose(_ClientEvent):
    """The customer tapped an option of the clarifying question the teller asked last."""

    type: Literal["clarify.choose"]
    entry_id: str = Field(min_length=1, max_length=64)


class SessionResume(_ClientEvent):
    """The first event of a connection opened as `WS /v1/session?resume=<session_id>`: take back a
    session whose connection dropped, and say where its answer in progress stopped."""

    type: Literal["session.resume"]
    session_id: str = Field(min_length=1, max_length=64)
    resume_token: str = Field(min_length=1, max_length=128)
    # The last response whose `response.created` the client got, and how much of its audio it
    # played (null once it got that response's `response.done`, or when it has none).
    response_id: str | None = Field(None, max_length=64)
    heard_ms: int | None = Field(None, ge=0)


ClientEvent = Annotated[
    Union[SessionUpdate, AudioAppend, AudioCommit, InputText, ResponseCancel, Ping, ClarifyChoose, SessionResume],
    Field(discriminator="type"),
]
_CLIENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(ClientEvent)
CLIENT_EVENT_TYPES = ("session.update", "input_audio_buffer.append", "input_audio_buffer.commit",
                      "input_text", "response.cancel", "ping", "clarify.choose", "session.resume")


def parse_client_event(raw: str) -> Any:
    """Parse one text frame into a client event, or raise ProtocolError with a stable code."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProtocolError(ErrorCode.INVALID_JSON, f"not JSON: {exc.msg}") from exc
    except (ValueError, RecursionError) as exc:
        # An integer past Python's digit limit, or nesting deeper than the parser's recursion.
        raise ProtocolError(ErrorCode.INVALID_JSON, "not JSON this server accepts: "
                            + ("nested too deeply" if isinstance(exc, RecursionError) else "a number too long")) from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.INVALID_EVENT, "an event must be a JSON object")
    event_id = obj.get("event_id") if isinstance(obj.get("event_id"), str) else None
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.INVALID_EVENT, "missing string field 'type'", event_id)
    if kind not in CLIENT_EVENT_TYPES:
        raise ProtocolError(ErrorCode.UNKNOWN_EVENT, f"unknown event type {kind[:64]!r}", event_id)
    try:
        return _CLIENT_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "event"
        raise ProtocolError(ErrorCode.INVALID_EVENT, f"{kind}: {where}: {first['msg']}", event_id) from None


# ---------------------------------------------------------------- server events


def _plain(value: Any) -> Any:
    """A field of a server event as JSON-ready data. Only the typed nested payloads (a pydantic
    model, a dataclass, a list of dataclasses) are converted; anything else is already plain JSON
    and is passed as it is, so an audio chunk's lip-sync arrays are never walked."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list) and value and is_dataclass(value[0]):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class SessionLimits:
    """The limits the server enforces on this session (announced in `session.created`)."""

    max_frame_bytes: int
    max_utterance_s: float
    max_text_chars: int
    idle_timeout_s: float
    max_session_s: float


@dataclass(frozen=True)
class RelatedEntry:
    """A suggested follow-up: an approved entry and its question in the answer's language."""

    id: str
    question: str


@dataclass(frozen=True)
class ClarifyOption:
    """An option of a clarifying question: an approved entry and its question in the answer's
    language (tap it with `clarify.choose`)."""

    id: str
    question: str


# One audio chunk's lip-sync in the session's `viseme_format`: TalkingHead-style arrays (oculus,
# talkinghead), Azure viseme IDs or Polly speech marks (lists of events), or Rhubarb mouth cues.
LipSyncPayload = Union[dict[str, list[Any]], list[dict[str, Any]]]


@dataclass(frozen=True)
class _ServerEvent:
    TYPE = ""
    # Events that echo a client's own strings (`event_id`, a ping's `id`) are written in ASCII:
    # such a string may hold a lone surrogate, which UTF-8 cannot carry and JSON's \u escapes can.
    ECHOES_CLIENT = False

    def to_event(self) -> dict[str, Any]:
        return {"type": self.TYPE, **_plain(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_event(), ensure_ascii=self.ECHOES_CLIENT, separators=(",", ":"))


@dataclass(frozen=True)
class SessionCreated(_ServerEvent):
    TYPE = "session.created"
    session_id: str
    protocol: str
    session: SessionConfig
    limits: SessionLimits
    # Reconnect within `resume_window_s` with this token to take the session back (null and 0
    # when resuming is off). A secret: sent to this client only, never logged.
    resume_token: str | None = None
    resume_window_s: float = 0.0


@dataclass(frozen=True)
class SessionResumed(_ServerEvent):
    """The session is back on this connection; a fresh token replaces the one just used."""

    TYPE = "session.resumed"
    session_id: str
    session: SessionConfig
    resume_token: str
    resume_window_s: float


@dataclass(frozen=True)
class SessionUpdated(_ServerEvent):
    TYPE = "session.updated"
    session: SessionConfig


@dataclass(frozen=True)
class SpeechStarted(_ServerEvent):
    TYPE = "input_audio_buffer.speech_started"
    audio_start_ms: int


@dataclass(frozen=True)
class SpeechStopped(_ServerEvent):
    TYPE = "input_audio_buffer.speech_stopped"
    audio_end_ms: int


@dataclass(frozen=True)
class Committed(_ServerEvent):
    TYPE = "input_audio_buffer.committed"
    turn_id: str


@dataclass(frozen=True)
class TranscriptPartial(_ServerEvent):
    TYPE = "transcript.partial"
    turn_id: str
    text: str


@dataclass(frozen=True)
class TranscriptFinal(_ServerEvent):
    TYPE = "transcript.final"
    turn_id: str
    text: str
    language: str


@dataclass(frozen=True)
class ResponseCreated(_ServerEvent):
    TYPE = "response.created"
    response_id: str
    turn_id: str
    text: str
    language: str
    entry_id: str | None
    confidence: float
    handoff: bool
    kind: str
    mood: str
    disclosure: str | None
    sample_rate: int
    viseme_format: str
    related: list[RelatedEntry] = field(default_factory=list)   # suggested follow-ups, at most 3
    clarify: list[ClarifyOption] = field(default_factory=list)  # kind "clarify": the options, 2 or 3


@dataclass(frozen=True)
class AudioDelta(_ServerEvent):
    TYPE = "response.audio.delta"
    response_id: str
    seq: int
    audio: str
    sample_rate: int
    offset_ms: float
    duration_ms: float
    interruptible: bool
    lipsync: LipSyncPayload = field(default_factory=dict)


@dataclass(frozen=True)
class ResponseDone(_ServerEvent):
    TYPE = "response.done"
    response_id: str
    interrupted: bool
    audio_ms: float
    heard_ms: float | None
    heard_text: str | None
    # Speech failed part-way (or before any audio): the answer is the text of `response.created`,
    # to be shown; optional for clients, which may ignore it (protocol v1 stays compatible).
    degraded: bool = False
    # The connection dropped and the rest of this answer could not be resumed (after a resume).
    cut: bool = False


@dataclass(frozen=True)
class Error(_ServerEvent):
    TYPE = "error"
    ECHOES_CLIENT = True
    code: str
    message: str
    event_id: str | None = None
    # `server_busy`: when the server expects to have room again (an estimate; retry no sooner).
    retry_after_ms: int | None = None

    def to_event(self) -> dict[str, Any]:
        event = super().to_event()
        if self.retry_after_ms is None:   # only `server_busy` carries it
            del event["retry_after_ms"]
        return event


@dataclass(frozen=True)
class Pong(_ServerEvent):
    TYPE = "pong"
    ECHOES_CLIENT = True
    id: str | int | None = None


ServerEvent = Union[SessionCreated, SessionResumed, SessionUpdated, SpeechStarted, SpeechStopped, Committed, TranscriptPartial,
                    TranscriptFinal, ResponseCreated, AudioDelta, ResponseDone, Error, Pong]


def error_from(exc: ProtocolError) -> Error:
    return Error(code=exc.code, message=exc.message, event_id=exc.event_id)
