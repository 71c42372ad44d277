"""Everything heavy, loaded once per process and shared by every session."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .answering import Answerer
from .engines import Retriever, Speaker, Transcriber, TurnEndModel, VadModel
from .metrics import Metrics
from .responder import Responder
from .settings import Settings

if TYPE_CHECKING:
    from knowledge.store import KnowledgeStore
    from knowledge.sync import IndexFollower

log = logging.getLogger(__name__)
T = TypeVar("T")


class ServerBusy(RuntimeError):
    """More turns are waiting for the CPU than the configured queue allows."""


class Inference:
    """Runs blocking model calls on small thread pools with a bounded waiting line.

    ASR and TTS get separate pools so a long transcription never delays another session's next
    audio chunk; the bound turns overload into a typed `server_busy` error instead of a growing lag.
    """

    def __init__(self, queue_limit: int):
        self._pools = {
            "asr": ThreadPoolExecutor(2, thread_name_prefix="dt-asr"),
            "tts": ThreadPoolExecutor(2, thread_name_prefix="dt-tts"),
            "light": ThreadPoolExecutor(2, thread_name_prefix="dt-light"),
        }
        self._limit = queue_limit
        self._pending = 0

    async def run(self, pool: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._pending >= self._limit:
            raise ServerBusy("too many turns waiting for the CPU")
        self._pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pools[pool], partial(fn, *args, **kwargs))
        finally:
            self._pending -= 1

    @property
    def pending(self) -> int:
        """Model calls waiting or running now."""
        return self._pending

    @property
    def limit(self) -> int:
        return self._limit

    def shutdown(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class Services:
    settings: Settings
    transcriber: Transcriber
    vad: VadModel
    index: Retriever
    responder: Responder
    speaker: Speaker
    metrics: Metrics
    inference: Inference
    asr_prompts: dict[str, str]
    kb_store: "KnowledgeStore | None" = None     # source of truth and audit log
    kb_follower: "IndexFollower | None" = None   # keeps `index` in step with approvals
    turn_end: TurnEndModel | None = None         # the acoustic end-of-turn model, if loaded
    answerer: Answerer = field(init=False)   # every question is answered (and audited) through it

    def __post_init__(self) -> None:
        self.answerer = Answerer(self.responder, self.inference, self.metrics, transcriber=self.transcriber,
                                 asr_prompts=self.asr_prompts, audit=self, turn_end=self.turn_end)

    def record_served(self, **fields: Any) -> str | None:
        """Audit one served answer; a failure is logged, never allowed to cost the customer the answer."""
        if self.kb_store is None:
            return None
        try:
            return self.kb_store.audit.record_served(**fields)
        except Exception:  # noqa: BLE001
            log.exception("could not audit a served answer")
            return None

    def close(self) -> None:
        self.inference.shutdown()
