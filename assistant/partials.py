"""Partial transcripts of the turn in progress: a courtesy, one at a time, never in the way.

The session asks (`start`) when the detector says a partial is due and drops the one running
(`drop`) whenever the transcriber is needed for something that matters more (a speculation at a
pause, the end of the turn). What is heard goes back through the session's `send`, and only if
the turn it was heard in is still the detector's turn.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from . import protocol as p
from .answering import Answerer, NoLongerWanted
from .turn_detector import PartialDue, TurnDetector

log = logging.getLogger(__name__)


class Partials:
    def __init__(self, answerer: Answerer, detector: Callable[[], TurnDetector | None],
                 send: Callable[..., Coroutine[Any, Any, None]],
                 spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]):
        self._answerer = answerer
        self._detector = detector   # the session's detector of the moment (a new rate makes a new one)
        self._send = send
        self._spawn = spawn
        self._task: asyncio.Task[None] | None = None
        # Set when a queued partial is no longer wanted: cancelling its task cannot recall a job
        # already handed to the ASR pool, so the job itself checks this before it starts.
        self._stale = threading.Event()

    def start(self, due: PartialDue, language: str | None) -> None:
        if self._task is not None and not self._task.done():
            return
        self._stale = threading.Event()
        self._task = self._spawn(self._run(due, language, self._stale))

    async def _run(self, due: PartialDue, language: str | None, stale: threading.Event) -> None:
        try:
            heard = await self._answerer.transcribe(due.audio, language, stage="asr_partial", unless=stale)
        except NoLongerWanted:
            return
        except Exception:  # noqa: BLE001 - a partial is a courtesy; the final still runs
            log.debug("partial transcription failed", exc_info=True)
            return
        finally:
            if (detector := self._detector()) is not None:
                detector.partial_done()
        detector = self._detector()
        if heard.text and detector is not None and due.turn_id == detector.turn_id:
            await self._send(p.TranscriptPartial(turn_id=due.turn_id, text=heard.text))

    def drop(self) -> None:
        self._stale.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()
