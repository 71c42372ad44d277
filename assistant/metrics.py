"""Prometheus metrics, one registry per app so tests and multiple apps never collide."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

STAGES = ("endpointing", "asr_partial", "asr_final", "retrieval", "tts_first_audio", "turn_to_first_audio")
_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0, 1.5, 2.0, 3.0, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.stage_seconds = Histogram(
            "dt_stage_seconds", "Latency of each pipeline stage", ["stage"], registry=self.registry, buckets=_BUCKETS
        )
        self.sessions = Gauge("dt_sessions", "Open WebSocket sessions", ["channel"], registry=self.registry)
        self.errors = Counter("dt_errors_total", "Error events sent, by code", ["code"], registry=self.registry)
        self.turns = Counter("dt_turns_total", "Customer turns, by outcome", ["outcome", "language"], registry=self.registry)
        self.refused = Counter("dt_refused_sessions_total", "Refused connects, by reason", ["reason"], registry=self.registry)
        self.resumes = Counter("dt_session_resumes_total", "Reconnects that asked to resume a session, by outcome",
                               ["outcome"], registry=self.registry)
        self.followups = Counter("dt_followups_total", "Answers chosen with the conversation's context, by outcome",
                                 ["outcome"], registry=self.registry)
        self.clarifications = Counter(
            "dt_clarifications_total", "Clarifying questions asked, and how the next turn settled them "
            "(tap, ordinal, phrase, new_question)", ["outcome"], registry=self.registry)
        self.degraded = Counter(
            "dt_degraded_responses_total", "Answers delivered as text only because their speech failed, "
            "by cause (busy: the speech pool was full; failed: the voice raised)", ["cause"], registry=self.registry)
        self.speculations = Counter(
            "dt_speculations_total", "Speculative transcriptions, by fate", ["fate"], registry=self.registry
        )

    def observe(self, stage: str, seconds: float) -> None:
        self.stage_seconds.labels(stage=stage).observe(seconds)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(stage, time.perf_counter() - start)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
