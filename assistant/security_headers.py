"""Security headers on every HTTP response; a Content-Security-Policy on every HTML page.

An ASGI middleware, so the static pages (`web_demo/`, the staff console under `/admin`) and the
API documentation (`/docs`, `/redoc`) get their policy from one place, whatever route served them.

- Every response: `X-Content-Type-Options: nosniff` (a JSON body is never run as a script) and
  `Referrer-Policy: no-referrer` (a console URL naming an entry never leaks to another site).
- The customer page and the staff console load only their own files: no inline script or style,
  no other origin. `connect-src` names the page's own WebSocket (`ws:`/`wss:` on the request's
  host) as well as `'self'`, because older browsers do not count `ws:` as `'self'`. The customer
  page plays audio through Web Audio and captures the microphone through an AudioWorklet loaded
  from `'self'`, so `media-src` needs only `'self' blob:`.
- `frame-ancestors`: the customer page may be framed by its own origin and the origins of the
  `frame_ancestors` setting (a bank showing the teller inside its own site); the staff console
  and the API documentation only by their own origin, whatever that setting says, so no other
  site can overlay an approve button (clickjacking).
- `/docs` and `/redoc` are FastAPI's pages, which load Swagger UI / ReDoc from a CDN and start it
  with one inline block: their policy names those hosts and the SHA-256 of each inline block of
  the page actually sent (hashed here, so a FastAPI upgrade that changes the block still works).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
DOCS_PATHS = ("/docs", "/redoc")
# The hosts FastAPI's documentation pages load from (fastapi.openapi.docs).
DOCS_HOSTS = "https://cdn.jsdelivr.net"
DOCS_EXTRA = {"style-src": "https://fonts.googleapis.com", "font-src": "https://fonts.gstatic.com",
              "img-src": "https://fastapi.tiangolo.com https://cdn.redoc.ly"}
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
_INLINE = re.compile(rb"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.S | re.I)
_EXTERNAL = re.compile(rb"\ssrc\s*=", re.I)


def page_policy(host: str | None, frame_ancestors: Iterable[str] = ()) -> str:
    """The policy of the customer page and the staff console (`frame_ancestors`: other origins
    that may frame the page)."""
    own_socket = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    ancestors = " ".join(["'self'", *frame_ancestors])
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            f"media-src 'self' blob:; connect-src 'self'{own_socket}; worker-src 'self' blob:; "
            f"font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            f"frame-ancestors {ancestors}")


def docs_policy(html: bytes) -> str:
    """The policy of a FastAPI documentation page: its CDN, and the hash of each inline block."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for match in _INLINE.finditer(html):
        if _EXTERNAL.search(html[match.start(): match.start(2)]):
            continue  # <script src=...></script>: not inline
        digest = base64.b64encode(hashlib.sha256(match.group(2)).digest()).decode()
        hashes[match.group(1).decode().lower()].append(f"'sha256-{digest}'")
    script = " ".join(["'self'", DOCS_HOSTS, *hashes["script"]])
    style = " ".join(["'self'", DOCS_HOSTS, DOCS_EXTRA["style-src"], *hashes["style"]])
    return (f"default-src 'self'; script-src {script}; style-src {style}; "
            f"img-src 'self' data: {DOCS_EXTRA['img-src']}; font-src 'self' {DOCS_EXTRA['font-src']}; "
            "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'self'")


class SecurityHeaders:
    """`frame_ancestors`: the origins (besides its own) that may frame the customer page."""

    def __init__(self, app: ASGIApp, frame_ancestors: Iterable[str] = ()) -> None:
        self.app = app
        self.frame_ancestors = tuple(frame_ancestors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path in DOCS_PATHS:
            await self.app(scope, receive, _DocsPage(send))
            return
        host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), None)
        customer = not (path == "/admin" or path.startswith("/admin/"))
        policy = page_policy(host, self.frame_ancestors if customer else ()).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if _is_html(headers):
                    headers.append((b"content-security-policy", policy))
                message["headers"] = headers + ALWAYS
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _DocsPage:
    """Holds back a documentation page's start until its body is known (one small chunk), so the
    policy can carry the hashes of exactly the inline blocks sent."""

    def __init__(self, send: Send) -> None:
        self.send, self.start, self.body = send, None, b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] == "http.response.body" and self.start is not None:
            self.body += message.get("body", b"")
            if message.get("more_body", False):
                return
            start, self.start = self.start, None
            headers = list(start.get("headers", ()))
            if _is_html(headers):
                headers.append((b"content-security-policy", docs_policy(self.body).encode()))
            start["headers"] = headers + ALWAYS
            await self.send(start)
            await self.send({"type": "http.response.body", "body": self.body})
            return
        await self.send(message)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in headers)
