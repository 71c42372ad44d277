"""Everything heavy, loaded once per process and shared by every session."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .answering import Answerer
from .engines import Retriever, Speaker, Transcriber, TurnEndModel, VadModel
from .metrics import Metrics
from .responder import Responder
from .scheduler import Scheduler, ServerBusy
from .settings import Settings

if TYPE_CHECKING:
    from knowledge.store import KnowledgeStore
    from knowledge.sync import IndexFollower

log = logging.getLogger(__name__)
__all__ = ["ServerBusy", "Services"]


@dataclass
class Services:
    settings: Settings
    transcriber: Transcriber
    vad: VadModel
    index: Retriever
    responder: Responder
    speaker: Speaker
    metrics: Metrics
    inference: Scheduler                     # every model call waits here (scheduler.py)
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
