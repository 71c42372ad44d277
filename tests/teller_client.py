"""A small real WebSocket client for tests and benchmarks: streams audio like a microphone would.
It is the reference kiosk client (assistant/kiosk_client.py: connect, send, receive, resume) with
helpers to script a test's exchanges.

A microphone never stops sending: after the question it keeps sending silence, and the server's
endpointing runs on that stream clock. So `ask_by_voice` streams the clip in real-time-sized
chunks and then silence until the answer is complete.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from assistant.kiosk_client import KioskClient

RATE = 16_000
CHUNK_MS = 40


@dataclass
class Exchange:
    events: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # monotonic arrival time of each event
    speech_end_sent: float | None = None

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def first(self, kind: str) -> dict[str, Any]:
        found = self.of(kind)
        assert found, f"no {kind} in {[e['type'] for e in self.events]}"
        return found[0]

    def time_of(self, kind: str) -> float:
        for e, t in zip(self.events, self.times):
            if e["type"] == kind:
                return t
        raise AssertionError(f"no {kind}")

    def audio(self) -> np.ndarray:
        return np.concatenate([np.frombuffer(base64.b64decode(e["audio"]), "<i2") for e in self.of("response.audio.delta")])


def to_pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


class TellerClient(KioskClient):
    """The reference client (assistant/kiosk_client.py) with a test's helpers. Resuming is off
    by default here: a test that drops a connection on purpose usually wants to see it dropped."""

    @classmethod
    async def connect(cls, url: str, token: str | None = None, *, origin: str | None = "http://localhost:8000",
                      resume: bool = False, heartbeat_s: float = 20.0, max_size: int = 2 ** 24):
        return await super().connect(url, token, origin=origin, resume=resume, heartbeat_s=heartbeat_s,
                                     max_size=max_size)

    async def configure(self, **session: Any) -> dict[str, Any]:
        session.setdefault("input_sample_rate", RATE)
        return await super().configure(**session)

    async def expect(self, kind: str, timeout: float = 30.0) -> dict[str, Any]:
        while True:
            event = await self.recv(timeout)
            if event["type"] == kind:
                return event

    async def collect_until(self, kind: str, timeout: float = 60.0) -> Exchange:
        ex = Exchange()
        deadline = time.monotonic() + timeout
        while True:
            event = await self.recv(max(0.1, deadline - time.monotonic()))
            ex.events.append(event)
            ex.times.append(time.monotonic())
            if event["type"] == kind:
                return ex

    async def stream(self, audio: np.ndarray, *, pace: float = 1.0, base64_json: bool = False) -> float:
        """Send `audio` (float32 16 kHz) in 40 ms chunks at `pace` x real time; returns when done."""
        async def append(pcm: bytes) -> None:
            await self.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()})

        return await super().stream(to_pcm16(audio), rate=RATE, chunk_ms=CHUNK_MS, pace=pace,
                                    frame=append if base64_json else None)

    async def ask_by_voice(self, audio: np.ndarray, *, until: str | Callable[[Exchange], bool] = "response.done",
                           silence_s: float = 8.0, pace: float = 1.0, lead_silence_s: float = 0.3) -> Exchange:
        """Stream lead silence + the clip + trailing silence while collecting events until `until`
        (an event type, or a predicate on the exchange so far)."""
        ex = Exchange()
        done = asyncio.Event()
        finished = until if callable(until) else (lambda e: e.events[-1]["type"] == until)

        async def reader() -> None:
            while True:
                event = await self.recv(60)
                ex.events.append(event)
                ex.times.append(time.monotonic())
                if finished(ex):
                    done.set()
                    return

        task = asyncio.create_task(reader())
        try:
            await self.stream(np.zeros(int(RATE * lead_silence_s), np.float32), pace=pace)
            ex.speech_end_sent = await self.stream(audio, pace=pace)
            silence = np.zeros(RATE * CHUNK_MS // 1000, np.float32)
            deadline = time.monotonic() + silence_s
            while not done.is_set() and time.monotonic() < deadline:
                await self.stream(silence, pace=pace)
            await asyncio.wait_for(task, timeout=60)
        finally:
            task.cancel()
        return ex


async def ask_typed(url: str, text: str, **config: Any) -> Exchange:
    """One typed question on a fresh session; the events up to its `response.done`."""
    client = await TellerClient.connect(url)
    try:
        await client.configure(**config)
        await client.send({"type": "input_text", "text": text})
        return await client.collect_until("response.done")
    finally:
        await client.close()
