"""Who may open a session or ask over HTTP: kiosks by token, staff by their credential, the web
demo anonymously from allowed origins.

The page this server serves is always an allowed origin, whatever host and port it listens on:
a browser's `Origin` naming the very host the request was sent to (`Host`) is the same-origin
case. Configured origins (a bank's own site embedding the teller) add to that.

Anonymous sessions (and anonymous `POST /v1/ask` / `/v1/tts` requests, on a limiter of their own)
are rate-limited per client address so one page cannot exhaust the CPU that every other customer
shares.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping

from fastapi import HTTPException, Request

from knowledge.api_models import refusals

from .kiosks import KioskRegistry
from .scheduler import Client, ServerBusy, asking


@dataclass(frozen=True)
class Admission:
    allowed: bool
    reason: str
    channel: str = ""  # "kiosk:<name>", "staff:<name>" or "web"
    status: int = 403  # for HTTP: 401 bad credentials, 403 not allowed, 429 too many


class RateLimiter:
    """Sliding-window counter per key; memory stays bounded by pruning idle keys.

    Thread-safe: the server admits each connection on a worker thread (a kiosk token is a
    database lookup, a network round trip with PostgreSQL, which must not hold the event loop).
    """

    def __init__(self, per_minute: int, *, window_s: float = 60.0, max_keys: int = 10_000):
        self.per_minute = per_minute
        self.window_s = window_s
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            return self._allow(key, now)

    def _allow(self, key: str, now: float) -> bool:
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        if len(self._hits) > self.max_keys:
            self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window_s]:
            del self._hits[key]


def same_origin(origin: str, host: str) -> bool:
    """True when `origin` (scheme://host[:port]) names the host the request was addressed to.

    Either scheme: behind a TLS-terminating proxy the page is https while the proxy forwards
    the original `Host`. A non-browser client can forge both headers, which is why anonymous
    sessions are also rate-limited; the check stops other sites' pages, not scripts.
    """
    scheme, sep, rest = origin.partition("://")
    return bool(sep and host) and scheme.lower() in ("http", "https") and rest.lower() == host.strip().lower()


class Gate:
    """`staff`, when given, names the staff member holding a bearer credential (None if invalid);
    tokens that are not staff credentials are looked up as kiosk tokens."""

    def __init__(self, kiosks: KioskRegistry, *, allowed_origins: list[str], allow_anonymous: bool,
                 limiter: RateLimiter, staff: Callable[[str], str | None] | None = None,
                 staff_prefixes: tuple[str, ...] = (), counted: str = "sessions"):
        self._kiosks = kiosks
        self._origins = {o.rstrip("/") for o in allowed_origins}
        self._allow_anonymous = allow_anonymous
        self._limiter = limiter
        self._staff = staff
        self._staff_prefixes = staff_prefixes
        self._counted = counted

    def admit(self, headers: Mapping[str, str], client_host: str) -> Admission:
        auth = headers.get("authorization", "")
        if auth:
            scheme, _, token = auth.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                return Admission(False, "malformed Authorization header", status=401)
            if self._staff is not None and token.startswith(self._staff_prefixes):
                name = self._staff(token)
                if name is None:
                    return Admission(False, "invalid or revoked staff credential", status=401)
                return Admission(True, "", f"staff:{name}")
            name = self._kiosks.authenticate(token)
            if name is None:
                return Admission(False, "invalid or revoked kiosk token", status=401)
            return Admission(True, "", f"kiosk:{name}")
        if not self._allow_anonymous:
            return Admission(False, "a kiosk token is required", status=401)
        origin = headers.get("origin", "").rstrip("/")
        if origin not in self._origins and not same_origin(origin, headers.get("host", "")):
            return Admission(False, "origin not allowed")
        if not self._limiter.allow(client_host):
            return Admission(False, f"too many {self._counted} from this address; try again in a minute", status=429)
        return Admission(True, "", "web")


REFUSALS = refusals({401: "bad or revoked kiosk token or staff credential",
                     403: "no credential, and the Origin is not allowed",
                     429: "too many anonymous requests from this address (Retry-After)",
                     503: "the models are still loading, or the server is too busy now; retry"})


async def admit_request(request: Request) -> Admission:
    """FastAPI dependency of the customer routes (`POST /v1/ask`, `/v1/tts`): admitted like a
    session (kiosk token, staff credential, or an allowed origin, rate-limited), or refused with
    401, 403 or 429. The lookup runs on a worker thread (a token is a database query)."""
    gate: Gate | None = getattr(request.app.state, "http_gate", None)
    if gate is None:
        raise HTTPException(503, "models are still loading")
    client = request.client.host if request.client else "unknown"
    verdict = await asyncio.to_thread(gate.admit, request.headers, client)
    if not verdict.allowed:
        headers = {"Retry-After": "60"} if verdict.status == 429 else None
        raise HTTPException(verdict.status, verdict.reason, headers=headers)
    # The request's model calls queue fairly under its caller (the dependency runs in the
    # endpoint's own context, so the endpoint sees this).
    settings = request.app.state.settings
    weight = settings.scheduling.kiosk_weight if verdict.channel.startswith("kiosk:") else 1.0
    asking.set(Client(f"http:{verdict.channel}:{client}", weight))
    return verdict


def busy(exc: ServerBusy) -> HTTPException:
    """The HTTP form of a full scheduler: 503 with `Retry-After` (whole seconds, rounded up)."""
    return HTTPException(503, str(exc), headers={"Retry-After": str(max(1, -(-exc.retry_after_ms // 1000)))})
