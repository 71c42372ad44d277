"""The engines the server runs on, as small Protocols: what the session, the answerer and the
routes need of each, and nothing more. The real ones are loaded by `loading.py`; the fakes in
`tests/fakes.py` satisfy the same Protocols, which is what lets the session's logic be tested
without a model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from .asr import Transcriber, Transcript

__all__ = ["AuditSink", "Retriever", "Runner", "Speaker", "Transcriber", "Transcript", "VadModel", "VadStream"]


class VadStream(Protocol):
    """One stream's voice activity detector: 16 kHz float audio in, one probability per 32 ms window."""

    def process(self, audio: np.ndarray) -> np.ndarray: ...

    def reset_state(self) -> None:
        """Forget what the detector learnt from past audio (called during long silence)."""


class VadModel(Protocol):
    """The shared VAD model; each stream gets its own stateful detector."""

    def detector(self) -> VadStream: ...


class Retriever(Protocol):
    """The served knowledge index (knowledge.KnowledgeIndex)."""

    def search(self, text: str, k: int = 5) -> Sequence[Any]: ...

    def entries(self) -> Sequence[Any]: ...

    def prompt_terms(self, language: str) -> str: ...


class Speaker(Protocol):
    """Text to synthesised segments and paced chunks (speech_out.CachedSpeaker), one voice per language."""

    engines: Mapping[str, Any]
    voice_names: Mapping[str, str]

    def sample_rate(self, language: str) -> int: ...

    def sentences(self, text: str, language: str) -> list[str]: ...

    def synthesize(self, sentence: str, language: str,
                   on_segment: Callable[[Any], None] | None = None, *, keep_on_disk: bool = True) -> list[Any]: ...

    def cached(self, sentence: str, language: str) -> list[Any] | None: ...

    def chunks(self, segment: Any, offset_ms: float, viseme_format: str) -> Iterable[Any]: ...

    def pause(self, language: str) -> Any: ...

    def missing(self, texts_by_language: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]: ...

    def presynthesize_one(self, language: str, sentence: str) -> None: ...

    def hold(self, text: str, language: str) -> None: ...


class AuditSink(Protocol):
    """Where served answers are recorded (the knowledge store's audit chain)."""

    def record_served(self, **fields: Any) -> str | None: ...


class TurnEndModel(Protocol):
    """How likely a turn heard so far (16 kHz float32) is finished (assistant.turn_end.SmartTurn)."""

    def probability(self, audio: np.ndarray) -> float: ...


class Runner(Protocol):
    """Runs a blocking call on a named lane, in priority order (assistant.scheduler.Scheduler):
    `priority` (a scheduler.Priority) and `ticket` are the runner's; other arguments go to `fn`."""

    async def run(self, lane: str, fn: Any, *args: Any, **kwargs: Any) -> Any: ...
