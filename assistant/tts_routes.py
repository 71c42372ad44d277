"""`POST /v1/tts`: text → audio with its whole lip-sync track, in one JSON reply.

For renderers that pre-render (video messages, kiosks that cache clips) rather than
stream. It uses the voices the server already loaded (`services.speaker`: shared
engines and the sentence cache); another catalogue voice of the same language may
be named, and is loaded once on first use.

Reply: `audio` is base64 of 16-bit little-endian mono PCM at `sample_rate`
(`audio_format: "pcm16"`, the WebSocket's encoding) or of a whole WAV file
(`audio_format: "wav"`); `lipsync` is the track in `viseme_format`, covering the
audio exactly, times in ms from the start of the audio.
"""

from __future__ import annotations

import base64
import threading
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from avatar_bridge import VISEME_FORMATS, mood_for, render
from knowledge.api_models import BODY_REFUSALS, refusals

from .admission import REFUSALS, admit_request, busy
from .scheduler import Priority, ServerBusy
from .tracks import assemble, wav_bytes

router = APIRouter()
_load_lock = threading.Lock()


class TTSRequest(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    language: Literal["zh", "en"]
    voice: str | None = Field(None, max_length=64)
    viseme_format: Literal[VISEME_FORMATS] = "oculus"  # type: ignore[valid-type]
    audio_format: Literal["pcm16", "wav"] = "pcm16"
    kind: str = Field("answer", max_length=32, description="answer kind, for the mood hint")


class TTSResponse(BaseModel):
    sample_rate: int = Field(description="samples per second of `audio`")
    audio_format: Literal["pcm16", "wav"]
    audio: str = Field(description="base64: 16-bit little-endian mono PCM, or a whole WAV file")
    duration_ms: float
    viseme_format: Literal[VISEME_FORMATS]  # type: ignore[valid-type]
    lipsync: dict[str, list[Any]] | list[dict[str, Any]] = Field(
        description="the whole track in `viseme_format` (TalkingHead arrays, Azure IDs, Polly marks or Rhubarb cues)")
    words: list[dict[str, Any]] = Field(description="each word with its start and duration in ms")
    text: str = Field(description="the text as spoken (normalised for speech)")
    voice: str | None
    mood: str = Field(description="the avatar's expression for this kind of answer")


def _extra_engine(request: Request, name: str, language: str) -> Any:
    """A catalogue voice other than the server's own, loaded once per app."""
    from voices import load_voice, voice_info

    try:
        info = voice_info(name)
    except KeyError:
        raise HTTPException(400, f"unknown voice {name!r}") from None
    if info.language != language:
        raise HTTPException(400, f"voice {name!r} speaks {info.language}, not {language}")
    state = request.app.state
    with _load_lock:
        engines = getattr(state, "tts_extra_voices", None)
        if engines is None:
            engines = state.tts_extra_voices = {}
        if name not in engines:
            try:
                engines[name] = load_voice(name, state.settings.model_dir)
            except (OSError, ValueError) as exc:
                raise HTTPException(400, f"voice {name!r} cannot be loaded: {exc}") from None
        return engines[name]


@router.post("/v1/tts", response_model=TTSResponse, dependencies=[Depends(admit_request)],
             responses={**REFUSALS, **refusals({
                 **BODY_REFUSALS, 400: f"{BODY_REFUSALS[400]}; or no voice is loaded for the language, or `voice` "
                                       "is unknown, of another language or cannot be loaded",
                 422: "invalid body, or a text with nothing to say"})})
async def tts(body: TTSRequest, request: Request) -> dict[str, Any]:
    services = getattr(request.app.state, "services", None)
    if services is None:
        raise HTTPException(503, "models are still loading")
    speaker = services.speaker
    if body.language not in speaker.engines:
        raise HTTPException(400, f"no voice is loaded for {body.language}")
    own = body.voice is None or body.voice == speaker.voice_names.get(body.language)
    engine = None if own else _extra_engine(request, body.voice or "", body.language)
    sentences = speaker.sentences(body.text, body.language)
    if not sentences:
        raise HTTPException(422, "the text has nothing to say")

    def synthesize() -> list[Any]:
        if engine is None:
            # Any text may come here: never kept on disk (the teller's own answers already are).
            return [seg for s in sentences for seg in speaker.synthesize(s, body.language, keep_on_disk=False)]
        return list(engine.synthesize(body.text))

    try:
        segments = await services.inference.run("tts", synthesize, priority=Priority.SPEECH)
    except ServerBusy as exc:
        raise busy(exc) from None
    if not segments:
        raise HTTPException(422, "the text has nothing to say")
    out = assemble(segments, body.language)
    raw = wav_bytes(out.audio, out.sample_rate) if body.audio_format == "wav" else out.audio.astype("<i2").tobytes()
    return {
        "sample_rate": out.sample_rate,
        "audio_format": body.audio_format,
        "audio": base64.b64encode(raw).decode("ascii"),
        "duration_ms": round(out.duration_ms, 3),
        "viseme_format": body.viseme_format,
        "lipsync": render(out.track, body.viseme_format, text=out.text),
        "words": out.words,
        "text": out.text,
        "voice": body.voice or speaker.voice_names.get(body.language),
        "mood": mood_for(body.kind),
    }
