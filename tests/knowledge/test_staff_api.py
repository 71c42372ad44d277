"""Staff management over HTTP (/v1/kb/staff): admins only, every action audited, no lockout
of the last admin, and changes to an account take effect on its very next request.
Runs with the store on SQLite and on PostgreSQL (conftest)."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from knowledge.api import router as kb_router
from knowledge.staff import LastAdmin, Role, SelfLockout
from knowledge.staff_api import router as staff_router

PASSWORD = "correct-horse-battery"
ENTRY = {"id": "staff-test", "questions": {"en": ["staff test question"]}, "answer": {"en": "staff test answer"}}

# (method, path, body, status an admin gets); every other caller gets 401 or 403
ENDPOINTS = [
    ("GET", "/v1/kb/staff", None, 200),
    ("GET", "/v1/kb/staff/viewer-1", None, 200),
    ("POST", "/v1/kb/staff", {"name": "made-by-matrix", "role": "viewer"}, 201),
    ("PUT", "/v1/kb/staff/target-role/role", {"role": "editor"}, 200),
    ("POST", "/v1/kb/staff/target-on/disable", None, 200),
    ("POST", "/v1/kb/staff/target-off/enable", None, 200),
    ("POST", "/v1/kb/staff/target-role/revoke", {}, 200),
    ("POST", "/v1/kb/staff/target-role/api-keys", {"label": "matrix"}, 201),
    ("PUT", "/v1/kb/staff/target-role/password", {}, 200),
]
CALLERS = ["anonymous", "kiosk", "garbage", *[r.name for r in Role]]


def make_client(store) -> TestClient:
    app = FastAPI()
    app.include_router(kb_router)
    app.include_router(staff_router)
    app.state.kb_store = store
    return TestClient(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def matrix(module_stores):
    store = module_stores.new()
    keys = {"kiosk": "dtk_" + "k" * 43, "garbage": "dts_not-a-real-token"}
    for role in Role:
        store.staff.add(f"{role.name}-1", role, password=PASSWORD)
        keys[role.name] = store.staff.add_api_key(f"{role.name}-1", by="system").token
    for name in ("target-role", "target-on", "target-off"):
        store.staff.add(name, "viewer", password=PASSWORD)
    store.staff.disable("target-off", by="admin-1")
    with make_client(store) as client:
        yield client, keys


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("method, path, body, admin_status", ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS])
def test_role_matrix(matrix, method, path, body, admin_status, caller):
    client, keys = matrix
    headers = {} if caller == "anonymous" else bearer(keys[caller])
    got = client.request(method, path, json=body, headers=headers)
    if caller in ("anonymous", "kiosk", "garbage"):
        assert got.status_code == 401 and got.headers.get("www-authenticate") == "Bearer", got.text
    elif caller != "admin":
        assert got.status_code == 403, got.text
    else:
        assert got.status_code == admin_status, got.text


@pytest.fixture()
def team(stores):
    store = stores.new()
    store.staff.add("ada", "admin", password=PASSWORD)
    store.staff.add("ed", "editor", password=PASSWORD)
    store.staff.add("vic", "viewer", password=PASSWORD)
    with make_client(store) as client:
        tokens = {n: client.post("/v1/kb/login", json={"name": n, "password": PASSWORD}).json()["token"]
                  for n in ("ada", "ed", "vic")}
        yield store, client, tokens


def test_a_disabled_accounts_token_and_api_key_stop_working(team):
    store, client, tokens = team
    ada = bearer(tokens["ada"])
    key = client.post("/v1/kb/staff/ed/api-keys", json={"label": "deploy script"}, headers=ada).json()["token"]
    for credential in (tokens["ed"], key):
        assert client.get("/v1/kb/me", headers=bearer(credential)).json()["name"] == "ed"
    disabled = client.post("/v1/kb/staff/ed/disable", headers=ada)
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    for credential in (tokens["ed"], key):
        assert client.get("/v1/kb/me", headers=bearer(credential)).status_code == 401
    assert client.post("/v1/kb/login", json={"name": "ed", "password": PASSWORD}).status_code == 401
    assert client.post("/v1/kb/staff/ed/disable", headers=ada).status_code == 409  # already disabled

    assert client.post("/v1/kb/staff/ed/enable", headers=ada).json()["disabled"] is False
    assert client.get("/v1/kb/me", headers=bearer(tokens["ed"])).status_code == 401  # old credentials stay dead
    fresh = client.post("/v1/kb/login", json={"name": "ed", "password": PASSWORD}).json()["token"]
    assert client.get("/v1/kb/me", headers=bearer(fresh)).json()["name"] == "ed"


def test_a_role_change_takes_effect_on_the_next_request(team):
    store, client, tokens = team
    ada, vic = bearer(tokens["ada"]), bearer(tokens["vic"])
    assert client.post("/v1/kb/entries", json={"entry": ENTRY}, headers=vic).status_code == 403
    promoted = client.put("/v1/kb/staff/vic/role", json={"role": "editor"}, headers=ada)
    assert promoted.status_code == 200 and promoted.json()["role"] == "editor"
    assert client.post("/v1/kb/entries", json={"entry": ENTRY}, headers=vic).status_code == 201
    assert client.get("/v1/kb/staff", headers=vic).status_code == 403  # still not an admin
    client.put("/v1/kb/staff/vic/role", json={"role": "viewer"}, headers=ada)
    assert client.put("/v1/kb/entries/staff-test", json={"entry": ENTRY, "base_version": 1},
                      headers=vic).status_code == 403
    assert client.put("/v1/kb/staff/vic/role", json={"role": "superuser"}, headers=ada).status_code == 422


def test_no_admin_can_lock_the_bank_out(team):
    store, client, tokens = team
    ada = bearer(tokens["ada"])
    itself = client.post("/v1/kb/staff/ada/disable", headers=ada)
    assert itself.status_code == 409 and itself.json()["detail"]["error"] == "SelfLockout"
    demoted = client.put("/v1/kb/staff/ada/role", json={"role": "reviewer"}, headers=ada)
    assert demoted.status_code == 409 and demoted.json()["detail"]["error"] == "LastAdmin"
    with pytest.raises(LastAdmin):  # the CLI's "system" actor is held to the same rule
        store.staff.disable("ada", by="system")
    with pytest.raises(SelfLockout):
        store.staff.disable("ada", by="ada")

    client.put("/v1/kb/staff/ed/role", json={"role": "admin"}, headers=ada)
    assert client.put("/v1/kb/staff/ada/role", json={"role": "reviewer"}, headers=ada).status_code == 200
    assert client.get("/v1/kb/staff", headers=ada).status_code == 403  # effective at once, for herself too
    assert [s.name for s in store.staff.list() if s.role == Role.admin and not s.disabled] == ["ed"]


def test_two_admins_demoting_each_other_at_once_leave_one_admin(team):
    store, _, _ = team
    store.staff.set_role("ed", "admin", by="ada")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def demote(name: str, by: str) -> None:
        barrier.wait()
        try:
            store.staff.set_role(name, "editor", by=by)
            outcomes.append("ok")
        except LastAdmin:
            outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=a) for a in [("ada", "ed"), ("ed", "ada")]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["ok", "refused"]
    assert len([s for s in store.staff.list() if s.role == Role.admin]) == 1


def test_create_revoke_and_keys_are_audited_and_secrets_shown_once(team):
    store, client, tokens = team
    ada = bearer(tokens["ada"])
    made = client.post("/v1/kb/staff", json={"name": "nina", "role": "reviewer"}, headers=ada)
    assert made.status_code == 201 and made.json()["role"] == "reviewer" and len(made.json()["password"]) >= 12
    login = client.post("/v1/kb/login", json={"name": "nina", "password": made.json()["password"]})
    assert login.status_code == 200
    chosen = client.post("/v1/kb/staff", json={"name": "omar", "role": "viewer", "password": PASSWORD}, headers=ada)
    assert chosen.status_code == 201 and chosen.json()["password"] is None
    assert client.post("/v1/kb/staff", json={"name": "nina", "role": "viewer"}, headers=ada).status_code == 409
    assert client.post("/v1/kb/staff", json={"name": "Bad Name", "role": "viewer"}, headers=ada).status_code == 422
    assert client.post("/v1/kb/staff", json={"name": "pat", "role": "viewer", "password": "short"},
                       headers=ada).status_code == 422
    for method, path in [("GET", "/v1/kb/staff/nobody"), ("POST", "/v1/kb/staff/nobody/disable"),
                         ("PUT", "/v1/kb/staff/nobody/role"), ("POST", "/v1/kb/staff/nobody/revoke"),
                         ("POST", "/v1/kb/staff/nobody/api-keys")]:
        body = {"role": "viewer"} if method == "PUT" else {}
        assert client.request(method, path, json=body, headers=ada).status_code == 404, path

    nina = bearer(login.json()["token"])
    key = client.post("/v1/kb/staff/nina/api-keys", json={"label": "nightly export"}, headers=ada).json()
    assert key["token"].startswith("dtkey_") and key["label"] == "nightly export"
    only_keys = client.post("/v1/kb/staff/nina/revoke", json={"kind": "api_key"}, headers=ada)
    assert only_keys.json() == {"name": "nina", "revoked": 1}
    assert client.get("/v1/kb/me", headers=bearer(key["token"])).status_code == 401
    assert client.get("/v1/kb/me", headers=nina).status_code == 200  # her session was not touched
    assert client.post("/v1/kb/staff/nina/revoke", json={}, headers=ada).json()["revoked"] == 1
    assert client.get("/v1/kb/me", headers=nina).status_code == 401

    listed = {s["name"]: s for s in client.get("/v1/kb/staff", headers=ada).json()}
    assert set(listed) == {"ada", "ed", "vic", "nina", "omar"} and listed["nina"]["disabled"] is False
    by_ada = [(r.action, r.subject) for r in store.audit.query(actor="ada", action="staff.", limit=100)]
    assert by_ada == [("staff.login", "staff:ada"), ("staff.add", "staff:nina"), ("staff.add", "staff:omar"),
                      ("staff.api_key", "staff:nina"), ("staff.revoke", "staff:nina"), ("staff.revoke", "staff:nina")]
    dump = repr([r.to_dict() for r in store.audit.query(limit=1000)])
    assert made.json()["password"] not in dump and key["token"] not in dump
    assert store.audit.verify().ok
