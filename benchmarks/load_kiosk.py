"""One kiosk of `benchmarks/load.py`: a WebSocket client that streams 20 ms PCM16 frames in real
time for as long as it is connected (silence between questions, as a microphone does), speaks a
question when asked, and records what came back for it (`Asked`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latency_questions import RATE, Question

FRAME = RATE * 20 // 1000              # 20 ms microphone frames
SILENCE = bytes(FRAME * 2)
ANSWER_TIMEOUT_S = 40.0                # after the end of speech, a question counts as unanswered


@dataclass
class Asked:
    """One question one kiosk asked, and what came back."""

    kiosk: int
    phase: str
    qid: str
    language: str
    expected: str
    speech_end: float | None = None
    first_audio: float | None = None       # the answer's first audio
    first_sound: float | None = None       # the first audio of any response (a hold counts)
    held: bool = False
    answered: bool = False
    entry: str | None = None
    refused: bool = False
    early: bool = False
    errors: list[str] = field(default_factory=list)
    answers: int = 0                       # answers (not holds) created for this one question
    heard: str | None = None               # the turn's transcript.final
    # Stream positions (ms of audio sent on the connection): where the question's audio was and
    # where the server heard speech start and stop.
    sent_ms: tuple[int, int] | None = None
    heard_ms: tuple[int | None, int | None] = (None, None)

    def latency(self, t: float | None) -> float | None:
        return None if t is None or self.speech_end is None else t - self.speech_end


class Kiosk:
    """One kiosk: a connection that streams microphone frames in real time and reads events."""

    def __init__(self, index: int, url: str, token: str):
        self.index, self.url, self.token = index, url, token
        self.frames: deque[bytes] = deque()
        self.current: Asked | None = None
        self.finished = asyncio.Event()
        self.open_responses: set[str] = set()   # created, not yet done
        self.kinds: dict[str, str] = {}
        self.closed_by_server: int | None = None
        self.violations: list[str] = []
        self._last_frame: bytes | None = None
        self._first_frame: bytes | None = None
        self._first_at = 0
        self._tasks: list[asyncio.Task] = []

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"},
                                           max_size=2 ** 24, open_timeout=30, close_timeout=2)
        first = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
        assert first["type"] == "session.created", first
        await self.ws.send(json.dumps({"type": "session.update", "session": {"input_sample_rate": RATE}}))
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._stream())]

    async def _stream(self) -> None:
        start, k = time.monotonic(), 0
        while True:
            delay = start + (k + 1) * 0.020 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = self.frames.popleft() if self.frames else SILENCE
            await self.ws.send(frame)
            if frame is self._first_frame and self.current is not None:
                self._first_at = k * 20
            if frame is self._last_frame and self.current is not None:
                self.current.speech_end = time.monotonic()
                self.current.sent_ms = (self._first_at, (k + 1) * 20)
            k += 1

    async def _read(self) -> None:
        import websockets

        try:
            async for message in self.ws:
                self._on(json.loads(message), time.monotonic())
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.closed_by_server = closed.rcvd.code
        else:
            self.closed_by_server = self.ws.close_code

    def _on(self, event: dict[str, Any], now: float) -> None:
        kind, q = event["type"], self.current
        if kind == "response.created":
            rid = event["response_id"]
            self.open_responses.add(rid)
            self.kinds[rid] = event["kind"]
            if q is None:
                self.violations.append("response.created with no question asked")
                return
            if q.speech_end is None:
                q.early = True
            if event["kind"] == "hold":
                q.held = True
            else:
                q.answers += 1
                q.entry = event["entry_id"]
        elif kind == "response.audio.delta" and q is not None:
            rid = event["response_id"]
            if q.first_sound is None:
                q.first_sound = now
            if self.kinds.get(rid) != "hold" and q.first_audio is None:
                q.first_audio = now
        elif kind == "response.done":
            rid = event["response_id"]
            self.open_responses.discard(rid)
            if q is not None and self.kinds.get(rid) != "hold":
                q.answered = True
                self.finished.set()
        elif kind == "input_audio_buffer.speech_started" and q is not None:
            q.heard_ms = (event["audio_start_ms"], q.heard_ms[1])
        elif kind == "input_audio_buffer.speech_stopped" and q is not None:
            q.heard_ms = (q.heard_ms[0], event["audio_end_ms"])
        elif kind == "transcript.final" and q is not None:
            q.heard = event["text"]
        elif kind == "error" and q is not None:
            q.errors.append(event["code"])
            if event["code"] == "server_busy":
                q.refused = True
                self.finished.set()

    async def ask(self, phase: str, question: Question) -> Asked:
        """Speak `question` (its frames join the stream at the next tick) and wait for its answer."""
        q = self.current = Asked(self.index, phase, question.qid, question.language, question.expected)
        self.finished.clear()
        await self.ws.send(json.dumps({"type": "session.update", "session": {"language": question.language}}))
        pcm = (np.clip(question.audio, -1, 1) * 32767).astype("<i2").tobytes()
        lead = (-len(pcm)) % (FRAME * 2)            # the last speech sample ends a frame
        pcm = bytes(lead) + pcm
        frames = [pcm[i:i + FRAME * 2] for i in range(0, len(pcm), FRAME * 2)]
        self._first_frame, self._last_frame = frames[0], frames[-1]
        self.frames.extend(frames)
        deadline = time.monotonic() + question.seconds + ANSWER_TIMEOUT_S
        while not self.finished.is_set() and time.monotonic() < deadline and self.closed_by_server is None:
            try:
                await asyncio.wait_for(self.finished.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        await asyncio.sleep(0.3)                    # a stray second answer would arrive now
        self.current = None
        return q

    async def close(self) -> None:
        await asyncio.sleep(1.0)                    # let any response in progress end
        if self.open_responses:
            self.violations += [f"response {r} created but never done" for r in self.open_responses]
        for task in self._tasks:
            task.cancel()
        await self.ws.close()
