"""The one place a question becomes an answer: text or audio in, `(Transcript, Answer)` out.

The WebSocket session, `POST /v1/ask` and the CLI all answer through an `Answerer`, so
retrieval, the hand-off policy (in `Responder`), speculation (an answer prepared at the first
pause, and whether it is good enough to end the turn early) and the served-answer audit are
written once. Every model call runs through the scheduler, off the event loop, at the priority of
what it is for: a finished turn's work first, speculation and partials after it. Conversation
context belongs here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import time

import numpy as np

from .asr import Transcript
from .completeness import looks_complete
from .conversation import Conversation
from .engines import AuditSink, Runner, Transcriber, TurnEndModel
from .metrics import Metrics
from .responder import Answer, Responder, asks_for_human, detect_language
from .scheduler import Priority, Ticket

log = logging.getLogger(__name__)


def question_language(text: str, requested: str | None, configured: str) -> str:
    """The language a typed question is answered in: asked for, else configured, else detected."""
    if requested:
        return requested
    return configured if configured in ("zh", "en") else detect_language(text)


class NoLongerWanted(Exception):
    """A queued transcription whose caller moved on before it started."""


class Speculation:
    """An answer being prepared from the audio heard up to the first pause (transcribe, then
    retrieve) while the customer may still go on, and beside it the turn-end model's probability
    that the customer is done. Each runs as its own task; speech that resumes makes them stale
    and the session cancels them."""

    def __init__(self, task: "asyncio.Task[tuple[Transcript, Answer]]",
                 turn_end: "asyncio.Task[float] | None" = None, ticket: Ticket | None = None):
        self.task = task
        self._turn_end = turn_end
        # Raised to the final's priority when the turn ends on it (`Answerer.finish`).
        self.ticket = ticket or Ticket(Priority.SPECULATIVE)

    @property
    def finished(self) -> float | None:
        """The turn-end model's probability that the turn was over at the pause (None: no
        model, not ready, or it failed)."""
        task = self._turn_end
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    @property
    def result(self) -> tuple[Transcript, Answer] | None:
        """The prepared transcript and answer, once ready (None while running, or if it failed)."""
        task = self.task
        if not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    async def settled(self) -> None:
        """Wait until it is done, however it ended (never raises its outcome)."""
        await asyncio.wait([t for t in (self.task, self._turn_end) if t is not None])

    def cancel(self) -> None:
        self.task.cancel()
        if self._turn_end is not None:
            self._turn_end.cancel()


class Answerer:
    def __init__(self, responder: Responder, inference: Runner, metrics: Metrics, *,
                 transcriber: Transcriber | None = None, asr_prompts: dict[str, str] | None = None,
                 audit: AuditSink | None = None, turn_end: TurnEndModel | None = None):
        self.responder = responder
        self._inference = inference
        self._metrics = metrics
        self._transcriber = transcriber
        self._prompts = asr_prompts or {}
        self._audit = audit
        self._turn_end = turn_end

    async def transcribe(self, audio: np.ndarray, language: str | None, *, stage: str = "asr_final",
                         unless: threading.Event | None = None, ticket: Ticket | None = None) -> Transcript:
        """Whisper on `audio`; `language` None detects it. `unless`, once set, drops the job if it
        has not started yet (cancelling the awaiting task cannot recall a job already queued).
        A final transcription runs first in the scheduler's line; partials (and, with its
        `ticket`, a speculation) after every finished turn."""
        if self._transcriber is None:
            raise RuntimeError("this Answerer was built without a transcriber (text only)")
        transcriber, prompt = self._transcriber, self._prompts.get(language) if language else None

        def job() -> Transcript:
            if unless is not None and unless.is_set():
                raise NoLongerWanted
            return transcriber.transcribe(audio, language=language, prompt=prompt)

        if ticket is None:
            ticket = Ticket(Priority.FINAL if stage == "asr_final" else Priority.SPECULATIVE)
        start = time.perf_counter()
        result = await self._inference.run("asr", job, ticket=ticket)
        self._metrics.observe(stage, time.perf_counter() - start)
        # "" language: the audio never reached the model (silence gate); answer in the asked one.
        return dataclasses.replace(result, text=result.text.strip(), language=result.language or language or "en")

    async def answer(self, text: str, language: str, conversation: Conversation | None = None, *,
                     tapped: str | None = None, ticket: Ticket | None = None) -> Answer:
        """Retrieve (in the conversation's context, if any), then answer, ask which entry is
        meant, or hand off (never text an approved entry does not say); `tapped` is the option of
        the conversation's clarifying question the customer tapped. The conversation is only
        read here; `served` records the turn in it, so a speculation that is thrown away leaves
        no trace."""
        responder = self.responder

        def job() -> Answer:
            # All of it off the event loop: choosing follow-ups and options reads the index, whose
            # lock an approval holds while it embeds the new version.
            return responder.reply(text, language, conversation, tapped=tapped)

        answer = await self._inference.run("light", job, ticket=ticket or Ticket(Priority.FINAL))
        self._metrics.observe("retrieval", answer.retrieval_s)
        return answer

    async def hear(self, audio: np.ndarray, language: str | None, conversation: Conversation | None = None,
                   *, ticket: Ticket | None = None) -> tuple[Transcript, Answer]:
        ticket = ticket or Ticket(Priority.FINAL)
        transcript = await self.transcribe(audio, language, ticket=ticket)
        return transcript, await self.answer(transcript.text, transcript.language, conversation, ticket=ticket)

    def speculate(self, audio: np.ndarray, language: str | None,
                  conversation: Conversation | None = None) -> Speculation:
        """Start preparing the answer to `audio` (the turn so far) in the background, and asking
        the turn-end model (when there is one) whether the customer sounds done."""
        loop = asyncio.get_running_loop()
        model = self._turn_end
        finished = None
        if model is not None:
            # The light pool: ~50 ms of one core, done long before the transcription it runs beside.
            finished = loop.create_task(self._inference.run("light", model.probability, audio,
                                                            priority=Priority.SPECULATIVE))
        ticket = Ticket(Priority.SPECULATIVE)
        return Speculation(loop.create_task(self.hear(audio, language, conversation, ticket=ticket)), finished, ticket)

    def settles_turn(self, speculation: Speculation | None, *, confident: float, unfinished_below: float = 0.0) -> bool:
        """May the turn end now on this prepared answer? Only when every signal agrees: the
        transcript reads as a finished question, the answer is the one confident match (or a
        request for a person), and the turn-end model (when there is one) is not sure the customer
        is still mid-sentence (its probability of "done" at least `unfinished_below`). A wrong
        "yes" answers half a question; a wrong "no" only waits for the maximum silence.

        "The one": a second entry as confident (at or above `confident`) means the words so far do
        not yet say which thing is meant, and customers who open like that go on ("How do I pay…",
        utility-payment 0.87 and credit-card-repayment 0.73, "…my utility bills?": a half-answer
        on the turn-end set's second held-out set). Comparing the rival with the hand-off
        threshold instead also caught "How do I pay?" (rival 0.67) but took the early commit from
        "What's the daily transfer limit?" and five more complete questions of that set (p50 468
        → 1,043 ms), so the rival is held to the same bar as the answer (docs/endpointing.md)."""
        result = speculation.result if speculation is not None else None
        if result is None:
            return False
        if self._turn_end is not None and unfinished_below > 0:
            finished = speculation.finished
            if finished is None or finished < unfinished_below:
                return False
        heard, answer = result
        if not heard.text or not looks_complete(heard.text, heard.language):
            return False
        if asks_for_human(heard.text):
            return True
        rival = any(entry != answer.entry_id and c >= confident for entry, c in answer.candidates)
        return not answer.handoff and answer.confidence >= confident and not rival

    async def finish(self, audio: np.ndarray, language: str | None, speculation: Speculation | None = None,
                     conversation: Conversation | None = None) -> tuple[Transcript, Answer]:
        """The final transcript and answer of a voice turn: the speculation's, when it was prepared
        on this very audio and succeeded; otherwise transcribed and answered now."""
        if speculation is not None:
            # The turn ended on this audio: what was speculation is now the final transcription.
            speculation.ticket.promote(Priority.FINAL)
            await speculation.settled()
            if speculation.result is not None:
                return speculation.result
            if not speculation.task.cancelled():
                log.warning("speculative answer failed; transcribing again", exc_info=speculation.task.exception())
        return await self.hear(audio, language, conversation)

    async def served(self, question: str, answer: Answer, *, channel: str, response_id: str | None = None,
                     conversation: Conversation | None = None) -> str | None:
        """Count and audit one answer given to a customer, and remember it in its conversation;
        returns the audit's response id.

        Called once per answer actually served (a discarded speculation is never counted). A
        failed audit is logged and costs the customer nothing."""
        self._metrics.turns.labels(outcome=answer.kind, language=answer.language).inc()
        if answer.followed_up:
            self._metrics.followups.labels(outcome=answer.kind).inc()
        # How this turn settled the clarifying question the conversation was waiting on, if any.
        was_pending = conversation is not None and conversation.pending is not None
        resolution = answer.choice or ("new_question" if was_pending else None)
        if answer.kind == "clarify":
            self._metrics.clarifications.labels(outcome="asked").inc()
        if resolution is not None:
            self._metrics.clarifications.labels(outcome=resolution).inc()
        if conversation is not None:
            conversation.remember(question, answer.language, None if answer.handoff else answer.entry_id, answer.topic,
                                  answer.topic_tags, pending=answer.pending())
        if self._audit is None:
            return response_id
        fields = dict(question=question, channel=channel, language=answer.language, kind=answer.kind,
                      handoff=answer.handoff, confidence=answer.confidence, entry_id=answer.entry_id,
                      entry_version=answer.entry_version, candidates=list(answer.candidates))
        if answer.options:
            fields["offered"] = [entry_id for entry_id, _ in answer.options]
        if resolution is not None:
            fields["clarification"] = resolution
        if response_id is not None:
            fields["response_id"] = response_id
        return await self._inference.run("writes", self._audit.record_served, **fields)
