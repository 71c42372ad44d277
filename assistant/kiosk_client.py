"""A reference client for `WS /v1/session` (docs/protocol.md): what a remote-counter kiosk does.

    client = await KioskClient.connect("ws://teller:8000/v1/session", token="dtk_...")
    await client.configure(language="zh", input_sample_rate=16000)
    await client.send_audio(pcm16)            # as the microphone captures it (20-100 ms frames),
    await client.stream(pcm16)                # or a recording, paced in real time
    async for event in client:                # every server event, as a dict
        ...
    await client.close()

It keeps the session through a dropped connection: when the socket fails (not a close it asked
for), it reconnects with backoff within the server's resume window and sends `session.resume`
with the answer in progress and how much of it was played, so the rest arrives as if nothing had
happened. If the server refuses (expired, restarted), it opens a new session with the same
settings and ends the answer that was open with a local `response.done` (`cut: true`), so a
consumer never sees a `response.created` without its `response.done`. A heartbeat (WebSocket
pings) notices a dead link within `heartbeat_s`. Audio sent while the link is down is dropped: a
live microphone cannot wait.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

# Closes the server means (a limit, idle, a refusal, a broken rule): the session is over. Any other
# end (no close frame, 1011-1014) is a lost link, resumed.
FINAL = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010)


class KioskClient:
    def __init__(self, url: str, *, token: str | None, origin: str | None, resume: bool, heartbeat_s: float,
                 max_size: int):
        self.url = url
        self.token = token
        self.origin = origin
        self.resume = resume
        self.heartbeat_s = heartbeat_s
        self.max_size = max_size
        self.ws: Any = None
        self.session_id: str | None = None
        self.resume_token: str | None = None
        self.resume_window_s = 0.0
        self.config: dict[str, Any] = {}          # what session.update set, sent again on a new session
        self.last_response: str | None = None     # the last response.created received
        self.open_response: str | None = None     # ... while its response.done has not been
        self.received_ms = 0.0                     # audio of the open response received so far
        # How much of the open response was played; by default what was received (a client
        # that plays audio gives its player's position, so a resume repeats nothing it missed).
        self.heard_ms: Callable[[], float] = lambda: self.received_ms
        self.resumes = 0                           # connections taken back
        self.fresh_starts = 0                      # drops after which a new session had to start
        self._closing = False
        self._pending: list[dict[str, Any]] = []   # events to hand out before reading the socket

    @classmethod
    async def connect(cls, url: str, token: str | None = None, *, origin: str | None = None, resume: bool = True,
                      heartbeat_s: float = 10.0, max_size: int = 2 ** 24) -> "KioskClient":
        """Open a session (a kiosk token as `Authorization: Bearer`, or a web `origin`)."""
        client = cls(url, token=token, origin=origin, resume=resume, heartbeat_s=heartbeat_s, max_size=max_size)
        created = await client._open(url)
        if created.get("type") != "session.created":
            raise ConnectionError(f"expected session.created, got {created.get('type')}")
        client._note(created)
        return client

    async def _open(self, url: str, first: dict[str, Any] | None = None) -> dict[str, Any]:
        """Connect (sending `first` at once, if given) and return the server's first event."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        self.ws = await websockets.connect(url, origin=self.origin, additional_headers=headers,
                                           max_size=self.max_size, ping_interval=self.heartbeat_s,
                                           ping_timeout=self.heartbeat_s)
        if first is not None:
            await self.ws.send(json.dumps(first))
        return json.loads(await asyncio.wait_for(self.ws.recv(), 30))

    # ------------------------------------------------------------------ sending

    async def send(self, event: dict[str, Any]) -> None:
        if event.get("type") == "session.update":
            self.config.update(event.get("session", {}))
        await self.ws.send(json.dumps(event, ensure_ascii=False))

    async def send_audio(self, pcm: bytes) -> bool:
        """One frame of PCM16LE mono; False (dropped) while the link is down."""
        try:
            await self.ws.send(pcm)
            return True
        except ConnectionClosed:
            return False

    async def stream(self, pcm: bytes, *, rate: int = 16_000, chunk_ms: int = 40, pace: float = 1.0,
                     frame: Callable[[bytes], Awaitable[Any]] | None = None) -> float:
        """Send PCM16LE mono at `rate` as a microphone would: `chunk_ms` frames, `pace` x real
        time (on the clock of the first frame, so a slow send is caught up, never drifts). `frame`
        sends one chunk (default: a binary frame). Returns the monotonic time the last one left."""
        step = rate * chunk_ms // 1000 * 2
        start = time.monotonic()
        for i, offset in enumerate(range(0, len(pcm), step)):
            await (frame or self.send_audio)(pcm[offset:offset + step])
            delay = start + (i + 1) * chunk_ms / 1000 / pace - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return time.monotonic()

    async def configure(self, **session: Any) -> dict[str, Any]:
        await self.send({"type": "session.update", "session": session})
        while (event := await self.recv()).get("type") != "session.updated":
            pass
        return event

    # ------------------------------------------------------------------ receiving

    async def recv(self, timeout: float = 30.0) -> dict[str, Any]:
        """The next server event; a dropped link is resumed (or replaced) on the way. Raises
        `websockets.ConnectionClosed` when the session ended (a close the server meant, or
        resuming off)."""
        while True:
            if self._pending:
                return self._pending.pop(0)
            try:
                event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            except ConnectionClosed as closed:
                await self._recover(closed)
                continue
            self._note(event)
            return event

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            try:
                yield await self.recv(timeout=3600.0)
            except ConnectionClosed:
                return

    def _note(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in ("session.created", "session.resumed"):
            self.session_id = event.get("session_id")
            self.resume_token = event.get("resume_token")
            self.resume_window_s = float(event.get("resume_window_s") or 0.0)
        elif kind == "response.created":
            self.last_response = self.open_response = event.get("response_id")
            self.received_ms = 0.0
        elif kind == "response.audio.delta" and event.get("response_id") == self.open_response:
            self.received_ms = max(self.received_ms, event["offset_ms"] + event["duration_ms"])
        elif kind == "response.done" and event.get("response_id") == self.open_response:
            self.open_response = None

    # ------------------------------------------------------------------ resuming

    async def _recover(self, closed: ConnectionClosed) -> None:
        code = closed.rcvd.code if closed.rcvd is not None else None
        if self._closing or code in FINAL or not self.resume or not self.resume_token:
            raise closed   # the server meant it (a limit, a refusal), or resuming is off
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.resume_window_s, 0.1
        while loop.time() < deadline:
            point = {"type": "session.resume", "session_id": self.session_id, "resume_token": self.resume_token,
                     "response_id": self.last_response,
                     "heard_ms": int(self.heard_ms()) if self.open_response is not None else None}
            try:
                first = await self._open(f"{self.url}?resume={self.session_id}", point)
            except (OSError, InvalidHandshake, ConnectionClosed, asyncio.TimeoutError):
                await asyncio.sleep(delay)   # the network may still be down: back off and retry
                delay = min(delay * 2, 2.0)
                continue
            if first.get("type") == "session.resumed":
                self.resumes += 1
                self._note(first)
                self._pending.append(first)
                return
            break   # refused (`resume_refused`): the session is gone
        await self._start_fresh()

    async def _start_fresh(self) -> None:
        """The session is gone: a new one with the same settings, and the open answer ended."""
        self.fresh_starts += 1
        if self.open_response is not None:
            self._pending.append({"type": "response.done", "response_id": self.open_response, "interrupted": True,
                                  "audio_ms": self.received_ms, "heard_ms": self.heard_ms(), "heard_text": None,
                                  "degraded": False, "cut": True})
            self.open_response = None
        created = await self._open(self.url)   # unreachable now: the error is the caller's
        self._note(created)
        self._pending.append(created)
        if self.config:
            await self.ws.send(json.dumps({"type": "session.update", "session": self.config}))

    async def close(self) -> None:
        self._closing = True
        if self.ws is not None:
            await self.ws.close()


# ---------------------------------------------------------------- python -m assistant.kiosk_client


async def ask(url: str, *, token: str | None = None, origin: str | None = None, text: str | None = None,
              wav: str | None = None, language: str = "auto", tail_s: float = 8.0) -> list[dict[str, Any]]:
    """One question, typed (`text`) or spoken (`wav`: PCM16 mono at a protocol rate, streamed in
    real time, then silence as a live microphone keeps sending); the events up to its answer's
    `response.done`, audio left out."""
    import wave

    client = await KioskClient.connect(url, token, origin=origin)
    events: list[dict[str, Any]] = []
    try:
        rate, pcm = 16_000, b""
        if wav is not None:
            with wave.open(wav, "rb") as f:
                if f.getsampwidth() != 2 or f.getnchannels() != 1:
                    raise ValueError(f"{wav}: needs 16-bit mono PCM")
                rate, pcm = f.getframerate(), f.readframes(f.getnframes())
        await client.configure(language=language, input_sample_rate=rate)

        async def speak() -> None:
            if text is not None:
                await client.send({"type": "input_text", "text": text})
                return
            await client.stream(pcm, rate=rate)
            await client.stream(bytes(int(rate * tail_s) * 2), rate=rate)

        speaking = asyncio.create_task(speak())
        try:
            async for event in client:
                events.append({k: v for k, v in event.items() if k != "audio"})
                if event["type"] == "response.done" and event.get("response_id") == events_answer(events):
                    break
        finally:
            speaking.cancel()
    finally:
        await client.close()
    return events


def events_answer(events: list[dict[str, Any]]) -> str | None:
    """The id of the answer (not a "one moment, please" hold) among `events`, once it began."""
    return next((e["response_id"] for e in events if e["type"] == "response.created" and e.get("kind") != "hold"), None)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m assistant.kiosk_client",
                                     description="Ask the teller one question as a kiosk would; prints the events (no audio) as JSON lines.")
    parser.add_argument("url", help="ws://HOST:PORT/v1/session")
    parser.add_argument("--token", help="a kiosk token (digital-teller kiosk add NAME); else --origin")
    parser.add_argument("--origin", help="an allowed Origin, for an anonymous session")
    question = parser.add_mutually_exclusive_group(required=True)
    question.add_argument("--text", help="a typed question")
    question.add_argument("--wav", help="a spoken question: 16-bit mono WAV")
    parser.add_argument("--language", default="auto", choices=["auto", "zh", "en"])
    args = parser.parse_args(argv)
    for event in asyncio.run(ask(args.url, token=args.token, origin=args.origin, text=args.text, wav=args.wav,
                                 language=args.language)):
        print(json.dumps(event, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
