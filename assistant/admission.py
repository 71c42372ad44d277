"""Who may open a session: kiosks by token, the web demo anonymously from allowed origins.

The page this server serves is always an allowed origin, whatever host and port it listens on:
a browser's `Origin` naming the very host the request was sent to (`Host`) is the same-origin
case. Configured origins (a bank's own site embedding the teller) add to that.

Anonymous sessions are rate-limited per client address so one page cannot exhaust the CPU that
every other customer shares.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Mapping

from .kiosks import KioskRegistry


@dataclass(frozen=True)
class Admission:
    allowed: bool
    reason: str
    channel: str = ""  # "kiosk:<name>" or "web"


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
    def __init__(self, kiosks: KioskRegistry, *, allowed_origins: list[str], allow_anonymous: bool,
                 limiter: RateLimiter):
        self._kiosks = kiosks
        self._origins = {o.rstrip("/") for o in allowed_origins}
        self._allow_anonymous = allow_anonymous
        self._limiter = limiter

    def admit(self, headers: Mapping[str, str], client_host: str) -> Admission:
        auth = headers.get("authorization", "")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token:
                return Admission(False, "malformed Authorization header")
            name = self._kiosks.authenticate(token.strip())
            if name is None:
                return Admission(False, "invalid or revoked kiosk token")
            return Admission(True, "", f"kiosk:{name}")
        if not self._allow_anonymous:
            return Admission(False, "a kiosk token is required")
        origin = headers.get("origin", "").rstrip("/")
        if origin not in self._origins and not same_origin(origin, headers.get("host", "")):
            return Admission(False, "origin not allowed")
        if not self._limiter.allow(client_host):
            return Admission(False, "too many sessions from this address; try again in a minute")
        return Admission(True, "", "web")
