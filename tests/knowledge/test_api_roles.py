"""Every role against every endpoint: anonymous and kiosk callers get 401, staff below the
endpoint's role 403, everyone else gets past the check (store on SQLite and on PostgreSQL)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from knowledge import KnowledgeIndex
from knowledge.api import feedback_router, router
from knowledge.staff import Role
from knowledge.sync import IndexFollower, sync

ENTRY = {"id": "matrix-entry", "questions": {"en": ["matrix question"]}, "answer": {"en": "matrix answer"}}

# (method, path, json body, lowest role allowed); None = open to anyone
ENDPOINTS = [
    ("GET", "/v1/kb/me", None, Role.viewer),
    ("POST", "/v1/kb/logout", None, Role.viewer),
    ("GET", "/v1/kb/entries", None, Role.viewer),
    ("GET", "/v1/kb/entries/lost-card", None, Role.viewer),
    ("GET", "/v1/kb/entries/lost-card/history", None, Role.viewer),
    ("GET", "/v1/kb/drafts", None, Role.viewer),
    ("GET", "/v1/kb/export?format=csv", None, Role.viewer),
    ("POST", "/v1/kb/test", {"question": "I lost my card"}, Role.viewer),
    ("GET", "/v1/kb/gaps", None, Role.viewer),
    ("POST", "/v1/kb/entries", {"entry": ENTRY}, Role.editor),
    ("PUT", "/v1/kb/entries/matrix-entry", {"entry": ENTRY, "base_version": 99}, Role.editor),
    ("DELETE", "/v1/kb/entries/lost-card?base_version=99", None, Role.editor),
    ("POST", "/v1/kb/entries/lost-card/rollback", {"to_version": 1, "base_version": 99}, Role.editor),
    ("POST", "/v1/kb/entries/lost-card/versions/99/submit", None, Role.editor),
    ("POST", "/v1/kb/import", {"format": "jsonl", "content": "{bad"}, Role.editor),
    ("POST", "/v1/kb/entries/lost-card/versions/99/approve", {"comment": ""}, Role.reviewer),
    ("POST", "/v1/kb/entries/lost-card/versions/99/reject", {"comment": "no"}, Role.reviewer),
    ("GET", "/v1/kb/audit", None, Role.reviewer),
    ("POST", "/v1/kb/import", {"format": "jsonl", "content": "{bad", "approve": True}, Role.admin),
    ("GET", "/v1/kb/audit/verify", None, Role.admin),
]
CALLERS = ["anonymous", "kiosk", "garbage", *[r.name for r in Role]]


@pytest.fixture(scope="module")
def client(tmp_path_factory, module_stores, embedder, demo_entries):
    from knowledge import dump_jsonl

    folder = tmp_path_factory.mktemp("api-roles")
    seed = folder / "seed.jsonl"
    dump_jsonl([e for e in demo_entries if e.id in ("lost-card", "open-account")] or demo_entries[:2], seed)
    store = module_stores.new()
    index = KnowledgeIndex(folder / "chroma", embedder)
    sync(store, index, seed_file=seed)
    IndexFollower(store, index).attach()
    app = FastAPI()
    app.include_router(router)
    app.include_router(feedback_router)
    # as the server wires it: the live index comes from the shared services
    app.state.kb_store, app.state.services = store, SimpleNamespace(index=index)
    keys = {"kiosk": "dtk_" + "k" * 43, "garbage": "dts_not-a-real-token"}
    for role in Role:
        store.staff.add(f"{role.name}-1", role, password="correct-horse-battery")
        keys[role.name] = store.staff.add_api_key(f"{role.name}-1", by="system").token
    with TestClient(app) as c:
        c.keys = keys
        yield c


def _call(client, method, path, body, caller):
    headers = {} if caller == "anonymous" else {"Authorization": f"Bearer {client.keys[caller]}"}
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("method, path, body, role", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_role_matrix(client, method, path, body, role, caller):
    if path.endswith("/logout"):  # logging out revokes an API key too: do it last, on a fresh key
        store = client.app.state.kb_store
        if caller in Role.__members__:
            client.keys[caller] = store.staff.add_api_key(f"{caller}-1", by="system").token
    got = _call(client, method, path, body, caller)
    if caller in ("anonymous", "kiosk", "garbage"):
        assert got.status_code == 401, got.text
        assert got.headers.get("www-authenticate") == "Bearer"
    elif Role[caller] < role:
        assert got.status_code == 403, got.text
    else:
        assert got.status_code not in (401, 403), (got.status_code, got.text)
    if path.endswith("/logout") and caller in Role.__members__:
        store = client.app.state.kb_store
        client.keys[caller] = store.staff.add_api_key(f"{caller}-1", by="system").token


@pytest.mark.parametrize("caller", ["anonymous", "kiosk", "viewer"])
def test_login_and_feedback_are_open(client, caller):
    assert _call(client, "POST", "/v1/kb/login", {"name": "viewer-1", "password": "wrong-password"},
                 caller).status_code == 401
    assert _call(client, "POST", "/v1/feedback", {"question": "where is the branch", "helpful": False},
                 caller).status_code == 201
