"""docs/security.md's auth matrix against the real app: every route the app has is in the matrix
(and nothing else is), and every cell (route × caller) is what the app does.

The app is `create_app` on fake engines (tests/fakes.py) with a real SQLite knowledge store, as
tests/assistant/test_http_admission.py builds it; FastAPI's TestClient drives it (HTTP and the
WebSocket), so the fast tier runs it. Staff callers use a fresh API key per cell: a cell that
revokes (`/logout`) or changes a password must not change what the next cell is.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant.kiosks import KioskRegistry
from knowledge.store import KnowledgeStore
from tests.fakes import fake_services

DOC = Path(__file__).resolve().parents[1] / "docs" / "security.md"
CALLERS = ["none", "page", "kiosk", "viewer", "editor", "reviewer", "admin"]
PASSWORD = "matrix-password-123"
ENTRY = {"id": "matrix-entry", "questions": {"en": ["matrix question"]}, "answer": {"en": "matrix answer"}}

# The request each row of the matrix sends: (path, JSON body or None). Ids and versions that do not
# exist are fine: a ✓ cell only claims the caller got past admission and the role check.
REQUESTS: dict[str, tuple[str, object]] = {
    "GET /{path}": ("/", None),
    "GET /healthz": ("/healthz", None),
    "GET /readyz": ("/readyz", None),
    "GET /metrics": ("/metrics", None),
    "GET /openapi.json": ("/openapi.json", None),
    "GET /docs": ("/docs", None),
    "GET /docs/oauth2-redirect": ("/docs/oauth2-redirect", None),
    "GET /redoc": ("/redoc", None),
    "WS /v1/session": ("/v1/session", None),
    "POST /v1/ask": ("/v1/ask", {"text": "how do I report a lost card"}),
    "POST /v1/tts": ("/v1/tts", {"text": "Hello.", "language": "en"}),
    "POST /v1/feedback": ("/v1/feedback", {"helpful": False, "question": "matrix feedback"}),
    "POST /v1/kb/login": ("/v1/kb/login", {"name": "matrix-login", "password": PASSWORD}),
    "POST /v1/kb/logout": ("/v1/kb/logout", None),
    "GET /v1/kb/me": ("/v1/kb/me", None),
    # The right current password: a wrong one is a 403 of its own (docs/security.md, "Passwords").
    "PUT /v1/kb/me/password": ("/v1/kb/me/password", {"current_password": PASSWORD,
                                                      "new_password": "matrix-password-456"}),
    "GET /v1/kb/entries": ("/v1/kb/entries", None),
    "GET /v1/kb/entries/{entry_id}": ("/v1/kb/entries/lost-card", None),
    "GET /v1/kb/entries/{entry_id}/history": ("/v1/kb/entries/lost-card/history", None),
    "GET /v1/kb/drafts": ("/v1/kb/drafts", None),
    "GET /v1/kb/export": ("/v1/kb/export?format=csv", None),
    "POST /v1/kb/test": ("/v1/kb/test", {"question": "I lost my card"}),
    "GET /v1/kb/gaps": ("/v1/kb/gaps", None),
    "POST /v1/kb/entries": ("/v1/kb/entries", {"entry": {**ENTRY, "id": "bad id"}}),
    "PUT /v1/kb/entries/{entry_id}": ("/v1/kb/entries/matrix-entry", {"entry": ENTRY, "base_version": 99}),
    "DELETE /v1/kb/entries/{entry_id}": ("/v1/kb/entries/lost-card?base_version=99", None),
    "POST /v1/kb/entries/{entry_id}/rollback": ("/v1/kb/entries/lost-card/rollback",
                                                {"to_version": 1, "base_version": 99}),
    "POST /v1/kb/entries/{entry_id}/versions/{version}/submit": ("/v1/kb/entries/lost-card/versions/99/submit", None),
    "POST /v1/kb/import": ("/v1/kb/import", {"format": "jsonl", "content": "{bad"}),
    "POST /v1/kb/entries/{entry_id}/versions/{version}/approve": (
        "/v1/kb/entries/lost-card/versions/99/approve", {"comment": ""}),
    "POST /v1/kb/entries/{entry_id}/versions/{version}/reject": (
        "/v1/kb/entries/lost-card/versions/99/reject", {"comment": "no"}),
    "GET /v1/kb/audit": ("/v1/kb/audit", None),
    "GET /v1/kb/audit/verify": ("/v1/kb/audit/verify", None),
    "GET /v1/kb/staff": ("/v1/kb/staff", None),
    "POST /v1/kb/staff": ("/v1/kb/staff", {"name": "Not A Valid Name", "role": "viewer"}),
    "GET /v1/kb/staff/{name}": ("/v1/kb/staff/matrix-target", None),
    "PUT /v1/kb/staff/{name}/role": ("/v1/kb/staff/matrix-target/role", {"role": "viewer"}),
    "POST /v1/kb/staff/{name}/disable": ("/v1/kb/staff/nobody/disable", None),
    "POST /v1/kb/staff/{name}/enable": ("/v1/kb/staff/matrix-target/enable", None),
    "POST /v1/kb/staff/{name}/revoke": ("/v1/kb/staff/matrix-target/revoke", {}),
    "POST /v1/kb/staff/{name}/api-keys": ("/v1/kb/staff/nobody/api-keys", {"label": "matrix"}),
    "PUT /v1/kb/staff/{name}/password": ("/v1/kb/staff/nobody/password", {}),
}


def documented() -> dict[str, dict[str, str]]:
    """The matrix of docs/security.md: route → caller → cell text."""
    rows: dict[str, dict[str, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\| `((?:GET|POST|PUT|DELETE|WS) [^`]+)` \|(.*)\|$", line)
        if found:
            cells = [c.strip() for c in found.group(2).split("|")][:len(CALLERS)]
            rows[found.group(1)] = dict(zip(CALLERS, cells, strict=True))
    return rows


MATRIX = documented()


def app_routes(app) -> set[str]:
    """`METHOD path` of every route the app serves (HEAD aside), included routers' too."""
    from fastapi.routing import APIWebSocketRoute, iter_route_contexts
    from starlette.routing import Mount

    found: set[str] = set()
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if isinstance(route, APIWebSocketRoute):
            found.add(f"WS {path}")
        elif isinstance(route, Mount):
            found.add(f"GET {path.rstrip('/')}/{{path}}")
        else:
            found.update(f"{m} {path}" for m in context.methods - {"HEAD"})
    return found


@pytest.fixture(scope="module")
def teller(tmp_path_factory):
    from assistant.app import create_app

    services = fake_services(tmp_path_factory.mktemp("auth-matrix"))
    services.kb_store = store = KnowledgeStore(services.settings.knowledge_db)
    for role in ("viewer", "editor", "reviewer", "admin"):
        store.staff.add(f"matrix-{role}", role, password=PASSWORD)
    store.staff.add("matrix-login", "viewer", password=PASSWORD)
    store.staff.add("matrix-target", "viewer", password=PASSWORD)
    with TestClient(create_app(services.settings, services)) as client:
        client.app.state.kb_login_per_minute = 10_000   # every login cell comes from one address
        client.kiosk = KioskRegistry(store.db).add("matrix-kiosk")
        client.store = store
        yield client
    services.close()


def headers_of(teller, caller: str) -> dict[str, str]:
    if caller == "none":
        return {}
    if caller == "page":
        return {"Origin": "http://testserver"}   # the page this server serves (TestClient's host)
    if caller == "kiosk":
        return {"Authorization": f"Bearer {teller.kiosk}"}
    key = teller.store.staff.add_api_key(f"matrix-{caller}", by="system").token
    return {"Authorization": f"Bearer {key}"}


def test_every_route_is_in_the_matrix(teller):
    served = app_routes(teller.app)
    assert served - set(MATRIX) == set(), "routes missing from docs/security.md's matrix"
    assert set(MATRIX) - served == set(), "rows of docs/security.md's matrix the app does not serve"
    assert set(MATRIX) == set(REQUESTS), "every row needs its request in REQUESTS"


def websocket_cell(teller, headers: dict[str, str]) -> str:
    try:
        with teller.websocket_connect("/v1/session", headers=headers) as ws:
            first = ws.receive_json()
            assert first["type"] == "session.created", first
            return "✓"
    except WebSocketDisconnect as closed:
        return f"✗ {closed.code}"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", sorted(MATRIX))
def test_cell(teller, route, caller):
    expected = MATRIX[route][caller]
    headers = headers_of(teller, caller)
    if route.startswith("WS "):
        assert websocket_cell(teller, headers) == expected
        return
    method = route.split()[0]
    path, body = REQUESTS[route]
    paths = [path, "/admin/", "/app.js", "/admin/admin.js"] if route == "GET /{path}" else [path]
    for one in paths:
        got = teller.request(method, one, json=body, headers=headers)
        assert got.status_code < 500, got.text
        if expected == "✓":
            assert got.status_code not in (401, 403), (one, got.status_code, got.text)
        else:
            assert expected == f"✗ {got.status_code}", (one, got.text)
            if got.status_code == 401 and route.startswith(("GET /v1/kb", "POST /v1/kb", "PUT /v1/kb",
                                                            "DELETE /v1/kb")):
                assert got.headers.get("www-authenticate") == "Bearer"
