"""Resuming a session whose connection dropped (docs/protocol.md, "Resuming a session").

A session talks to its client through a `Link`: the socket of the moment, the session's resume
token, and a record of the answer in progress. When the socket drops abruptly (not a clean close),
the session's link is detached for `limits.resume_window_s` and the session waits;
everything it would send meanwhile waits too (playback pauses: each of its tasks holds at most one
event, so memory stays bounded without a buffer of its own). A client that reconnects with
`?resume=<session_id>` and `session.resume` (its token, and where its answer stopped) gets the
link's new socket: `session.resumed`, the rest of the answer from the client's point (or its
`response.done` marked `cut`), then the session goes on as before, with its conversation intact.

Data flows one way: the registry knows links (and a channel per session), never sessions; a link
knows a socket and the events it carried, never the session. The session asks the link to send and
to receive, and the link calls back two things: `on_cut`, to stop an answer that can no longer be
resumed, and `config`, the session's settings for `session.resumed`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from starlette.websockets import WebSocketDisconnect

from . import protocol as p

log = logging.getLogger(__name__)
FIRST_EVENT_TIMEOUT_S = 10.0   # a resume connection that says nothing is closed this soon


def resumable_close(code: int | None) -> bool:
    """A connection lost (1006, or 1005: uvicorn reports a connection that ended without a close
    frame as "no status", the same as a close frame without a code, so a client ends a session on
    purpose with 1000; 1011-1014: the keepalive failed, a restart) or closed by the client with a
    code of its own (4000-4999: the page's heartbeat went unanswered) may be resumed. A deliberate
    close (1000, or 1001: the page was left) or one the transport made for a broken rule (1002,
    1003, 1007-1010: a frame too large) ends the session."""
    return code is None or code in (1005, 1006, 1011, 1012, 1013, 1014) or 4000 <= code <= 4999


class Socket(Protocol):
    """What a session needs of a WebSocket (starlette's, or a test's in-memory one)."""

    async def receive(self) -> Mapping[str, Any]: ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class AnswerRecord:
    """The latest response's events as they were sent (its audio bounded by `max_bytes`, oldest
    chunks dropped first), and the `response.done` of the one before: what a resumed client may
    be missing. Nothing else is kept: a transcript or an error lost with the connection stays lost."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.created: p.ResponseCreated | None = None
        self.deltas: deque[p.AudioDelta] = deque()
        self.done: p.ResponseDone | None = None
        self.previous_done: p.ResponseDone | None = None
        self.dropped_to_ms = 0.0   # audio before this was dropped to stay within max_bytes
        self._bytes = 0

    def note(self, event: p.ServerEvent) -> None:
        if isinstance(event, p.ResponseCreated):
            self.previous_done = self.done
            self.created, self.done, self.dropped_to_ms, self._bytes = event, None, 0.0, 0
            self.deltas.clear()
        elif self.created is None or getattr(event, "response_id", None) != self.created.response_id:
            return
        elif isinstance(event, p.AudioDelta):
            self.deltas.append(event)
            self._bytes += len(event.audio)
            while self._bytes > self.max_bytes and self.deltas:
                old = self.deltas.popleft()
                self._bytes -= len(old.audio)
                self.dropped_to_ms = old.offset_ms + old.duration_ms
        elif isinstance(event, p.ResponseDone):
            self.done = event

    def catch_up(self, response_id: str | None, heard_ms: int | None) -> tuple[list[p.ServerEvent], str | None]:
        """What a client that last got `response.created` of `response_id` and played `heard_ms`
        of it (None: it got its `response.done`) is missing, and the id of the response cut
        because the audio it needs is gone (None if none)."""
        current = self.created
        if current is None or (response_id == current.response_id and heard_ms is None):
            return [], None
        missing: list[p.ServerEvent] = []
        start = float(heard_ms or 0)
        if response_id != current.response_id:   # it never got this one's `response.created`
            previous = self.previous_done
            if previous is not None and heard_ms is not None and previous.response_id == response_id:
                missing.append(previous)
            missing.append(current)
            start = 0.0
        if start < self.dropped_to_ms:
            audio_ms = self.deltas[-1].offset_ms + self.deltas[-1].duration_ms if self.deltas else self.dropped_to_ms
            missing.append(p.ResponseDone(response_id=current.response_id, interrupted=True, audio_ms=audio_ms,
                                          heard_ms=start, heard_text=None,
                                          degraded=self.done.degraded if self.done else False, cut=True))
            return missing, None if self.done is not None else current.response_id
        missing.extend(d for d in self.deltas if d.offset_ms + d.duration_ms > start)
        if self.done is not None:
            missing.append(self.done)
        return missing, None


class Link:
    """A session's connection to its client, which a resume may replace. `send` delivers events in
    order; while the link is detached, senders wait (releasing the lock) until a client takes it
    back or the session ends. A resumable link is listed in the app's `ResumeRegistry` while its
    session lives."""

    def __init__(self, ws: Socket, session_id: str, limits: Any, *, registry: ResumeRegistry | None, channel: str,
                 on_cut: Callable[[], None], config: Callable[[], p.SessionConfig]):
        self.ws = ws
        self.session_id = session_id
        self.channel = channel
        # `limits`: the settings' (resume_window_s, resume_buffer_bytes); a window of 0 is no resuming.
        self.window_s = float(limits.resume_window_s) if registry is not None else 0.0
        self.resumable = self.window_s > 0
        self.token = secrets.token_urlsafe(32) if self.resumable else None
        self.record = AnswerRecord(limits.resume_buffer_bytes)
        self.detached = False
        self.closed = False
        self._registry = registry if self.resumable else None
        self._on_cut = on_cut
        self._config = config
        self._cond = asyncio.Condition()
        self._back = asyncio.Event()
        self._switched = asyncio.Event()  # set when a resume replaced the socket
        self._switch_waiter: asyncio.Future[Any] | None = None
        self._settled: set[str] = set()   # responses a catch-up already settled (sent, heard or cut)
        self._swallow: str | None = None  # a response ended as `cut`: its own later events are dropped
        self._released: asyncio.Future[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        if self._registry is not None:
            self._registry.add(self)

    # ------------------------------------------------------------------ sending and receiving

    async def send(self, events: Sequence[p.ServerEvent]) -> bool:
        """Send `events` in order, nothing of another sender's in between; False once the link is
        gone for good (closed, or dropped and not resumable)."""
        async with self._cond:
            for event in events:
                if self.resumable:
                    self.record.note(event)
                if not await self._deliver(event):
                    return False
        return True

    async def _deliver(self, event: p.ServerEvent) -> bool:
        waited = False
        while not self.closed:
            if self.detached:
                await self._cond.wait_for(lambda: not self.detached or self.closed)
                waited = True
                continue
            response_id = getattr(event, "response_id", None)
            if (waited and response_id in self._settled) or (self._swallow is not None and response_id == self._swallow):
                return True
            try:
                await self.ws.send_text(event.to_json())
                return True
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.drop()
                waited = True   # whether it arrived is unknown: the catch-up decides
        return False

    async def receive(self) -> tuple[Socket, Mapping[str, Any]]:
        """The next frame from the client's socket of the moment, and that socket. A resume that
        replaces the socket ends a wait on the old one (which may never answer: half-open)."""
        while True:
            ws = self.ws
            if not self.resumable:
                return ws, await ws.receive()
            # One waiter on the switch for every frame of this socket (frames come 25 a second).
            if self._switch_waiter is None or self._switch_waiter.done():
                self._switched.clear()
                self._switch_waiter = asyncio.ensure_future(self._switched.wait())
            frame = asyncio.ensure_future(ws.receive())
            try:
                await asyncio.wait((frame, self._switch_waiter), return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not frame.done():
                    frame.cancel()
            if frame.done() and not frame.cancelled() and ws is self.ws:
                return ws, frame.result()   # raises what the socket raised

    # ------------------------------------------------------------------ dropping and taking back

    def drop(self) -> None:
        """The socket is gone. A resumable link waits for a client; any other is closed."""
        if self.resumable and not self.closed:
            self.detached = True
            self._back.clear()
        else:
            self.closed = True
        self._release()

    def close(self) -> None:
        self.closed = True
        if self._switch_waiter is not None:
            self._switch_waiter.cancel()
        self._back.set()
        self._release()
        if self._registry is not None:
            self._registry.remove(self)

    async def wait_back(self, timeout_s: float) -> bool:
        """Until a client takes the link back (True) or `timeout_s` passes (False)."""
        try:
            await asyncio.wait_for(self._back.wait(), timeout=max(0.0, timeout_s))
        except asyncio.TimeoutError:
            return False
        return not self.closed

    def token_matches(self, token: str) -> bool:
        # Constant time: a wrong guess learns nothing of how close it came.
        return self.token is not None and hmac.compare_digest(self.token.encode(), token.encode("utf-8", "replace"))

    def take(self, ws: Socket) -> bool:
        """A client proved it owns this session: its socket is the link's from now on (the
        session reads from it at once; sending resumes after `catch_up`). The client may come
        back before the server noticed its old connection die: that one is dropped now."""
        if self.closed:
            return False
        old = self.ws
        if not self.detached:
            self.drop()
            self._retire(old)
        self.ws = ws
        self.token = secrets.token_urlsafe(32)   # the token just used is spent
        self._released = asyncio.get_running_loop().create_future()
        self._back.set()
        self._switched.set()
        return True

    def _retire(self, old: Socket) -> None:
        async def close() -> None:
            try:
                await old.close(code=4001, reason="resumed on another connection")
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass
        task = asyncio.get_running_loop().create_task(close())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def catch_up(self, point: p.SessionResume) -> None:
        """Send `session.resumed` and what the client missed, then let the waiting senders go on
        (what they hold of a response the catch-up settled is not sent twice)."""
        async with self._cond:
            resumed = p.SessionResumed(session_id=self.session_id, session=self._config(),
                                       resume_token=self.token or "", resume_window_s=self.window_s)
            missing, cut = self.record.catch_up(point.response_id, point.heard_ms)
            self._settled = {e.response_id for e in (self.record.previous_done, self.record.created) if e is not None}
            if cut is not None:
                self._swallow = cut
                self._on_cut()
            try:
                for event in (resumed, *missing):
                    await self.ws.send_text(event.to_json())
            except (WebSocketDisconnect, RuntimeError, OSError):
                return   # dropped again: the session sees the disconnect and waits once more
            self.detached = False
            self._cond.notify_all()

    async def released(self) -> None:
        """Until the session no longer uses the socket last taken (dropped again, or ended)."""
        if self._released is not None:
            await asyncio.shield(self._released)

    def _release(self) -> None:
        if self._released is not None and not self._released.done():
            self._released.set_result(None)


class ResumeRegistry:
    """The app's resumable sessions' links, by session id, while their sessions live. Those
    detached (`len()`) keep their place meanwhile (the app counts a session until it ends), so
    they are bounded by `limits.max_sessions`, and a kiosk's reserved places stay the kiosks'."""

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}

    def __len__(self) -> int:
        return sum(link.detached for link in self._links.values())

    def add(self, link: Link) -> None:
        self._links[link.session_id] = link

    def remove(self, link: Link) -> None:
        if self._links.get(link.session_id) is link:
            del self._links[link.session_id]

    def claim(self, point: p.SessionResume, channel: str, ws: Socket) -> Link | None:
        """The link `point` names, taken by `ws`, if its token matches and the client comes on
        the same channel (a kiosk never takes a web visitor's session, nor one kiosk another's)."""
        link = self._links.get(point.session_id)
        if link is None or link.channel != channel or not link.token_matches(point.resume_token):
            return None
        return link if link.take(ws) else None


async def hold_for_resume(link: Link, dropped: Socket, code: int | None, until_s: float) -> bool:
    """The session's socket `dropped` closed with `code`: True once a client has the session back,
    False when it should end (a clean close, resuming off, or the window passed)."""
    if link.ws is not dropped:
        return not link.closed   # already taken over by a resumed connection
    if not link.resumable or not resumable_close(code):
        link.close()
        return False
    link.drop()
    if not await link.wait_back(min(link.window_s, until_s)):
        link.close()
        return False
    return True


async def resume_connection(ws: Socket, registry: ResumeRegistry, channel: str, session_id: str,
                            *, max_frame_bytes: int, metrics: Any = None) -> None:
    """Serve a connection opened with `?resume=<session_id>`: its first event must be the
    matching `session.resume`; then the socket belongs to the session until it drops again or the
    session ends. Refused (unknown, expired, wrong token, another channel, malformed): error
    `resume_refused` and a close; the client starts a new session."""
    point: p.SessionResume | None = None
    try:
        message = await asyncio.wait_for(ws.receive(), timeout=FIRST_EVENT_TIMEOUT_S)
        text = message.get("text")
        if isinstance(text, str) and len(text) <= max_frame_bytes:
            event = p.parse_client_event(text)
            point = event if isinstance(event, p.SessionResume) and event.session_id == session_id else None
    except (asyncio.TimeoutError, WebSocketDisconnect, p.ProtocolError):
        point = None
    link = registry.claim(point, channel, ws) if point is not None else None
    if metrics is not None:
        metrics.resumes.labels(outcome="resumed" if link else "refused").inc()
    if link is None or point is None:
        # One answer for every reason (unknown, expired, wrong token, other channel), so a guesser
        # cannot tell a live session id from a dead one. The token is never logged.
        log.info("a resume was refused")
        try:
            await ws.send_text(p.Error(code=p.ErrorCode.RESUME_REFUSED, message=(
                "this session cannot be resumed (unknown, expired or not yours); start a new one")).to_json())
            await ws.close(code=1000, reason="resume refused")
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        return
    await link.catch_up(point)
    await link.released()
