"""The one place a question becomes an answer: text or audio in, `(Transcript, Answer)` out.

The WebSocket session, `POST /v1/ask` and the CLI all answer through an `Answerer`, so
retrieval, the hand-off policy (in `Responder`) and the served-answer audit are written once.
Every model call runs through `Inference`, off the event loop. Conversation context belongs here.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Protocol

import numpy as np

from .asr import Transcriber, Transcript
from .metrics import Metrics
from .responder import Answer, Responder, detect_language


class AuditSink(Protocol):
    """Where served answers are recorded (the knowledge store's audit chain)."""

    def record_served(self, **fields: Any) -> str | None: ...


class Runner(Protocol):
    """Runs a blocking call on a named pool (assistant.services.Inference)."""

    async def run(self, pool: str, fn: Any, *args: Any, **kwargs: Any) -> Any: ...


def question_language(text: str, requested: str | None, configured: str) -> str:
    """The language a typed question is answered in: asked for, else configured, else detected."""
    if requested:
        return requested
    return configured if configured in ("zh", "en") else detect_language(text)


class NoLongerWanted(Exception):
    """A queued transcription whose caller moved on before it started."""


class Answerer:
    def __init__(self, responder: Responder, inference: Runner, metrics: Metrics, *,
                 transcriber: Transcriber | None = None, asr_prompts: dict[str, str] | None = None,
                 audit: AuditSink | None = None):
        self.responder = responder
        self._inference = inference
        self._metrics = metrics
        self._transcriber = transcriber
        self._prompts = asr_prompts or {}
        self._audit = audit

    async def transcribe(self, audio: np.ndarray, language: str | None, *, stage: str = "asr_final",
                         unless: threading.Event | None = None) -> Transcript:
        """Whisper on `audio`; `language` None detects it. `unless`, once set, drops the job if it
        has not started yet (cancelling the awaiting task cannot recall a job already queued)."""
        if self._transcriber is None:
            raise RuntimeError("this Answerer was built without a transcriber (text only)")
        transcriber, prompt = self._transcriber, self._prompts.get(language) if language else None

        def job() -> Transcript:
            if unless is not None and unless.is_set():
                raise NoLongerWanted
            return transcriber.transcribe(audio, language=language, prompt=prompt)

        start = time.perf_counter()
        result = await self._inference.run("asr", job)
        self._metrics.observe(stage, time.perf_counter() - start)
        # "" language: the audio never reached the model (silence gate); answer in the asked one.
        return dataclasses.replace(result, text=result.text.strip(), language=result.language or language or "en")

    async def answer(self, text: str, language: str) -> Answer:
        """Retrieve, then answer or hand off (never text an approved entry does not say)."""
        candidates, retrieval_s = await self._inference.run("light", self.responder.retrieve, text)
        self._metrics.observe("retrieval", retrieval_s)
        return self.responder.answer(text, language, candidates, retrieval_s)

    async def hear(self, audio: np.ndarray, language: str | None) -> tuple[Transcript, Answer]:
        transcript = await self.transcribe(audio, language)
        return transcript, await self.answer(transcript.text, transcript.language)

    async def served(self, question: str, answer: Answer, *, channel: str, response_id: str | None = None) -> str | None:
        """Count and audit one answer given to a customer; returns the audit's response id.

        Called once per answer actually served (a discarded speculation is never counted). A
        failed audit is logged and costs the customer nothing."""
        self._metrics.turns.labels(outcome=answer.kind, language=answer.language).inc()
        if self._audit is None:
            return response_id
        fields = dict(question=question, channel=channel, language=answer.language, kind=answer.kind,
                      handoff=answer.handoff, confidence=answer.confidence, entry_id=answer.entry_id,
                      entry_version=answer.entry_version, candidates=list(answer.candidates))
        if response_id is not None:
            fields["response_id"] = response_id
        return await self._inference.run("light", self._audit.record_served, **fields)
