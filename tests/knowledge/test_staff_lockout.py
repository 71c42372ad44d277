"""Staff sign-in lockout and password changes (knowledge/staff_login.py, staff.py): in the store,
over HTTP (`POST /v1/kb/login` 429 + Retry-After, `PUT /v1/kb/me/password`,
`PUT /v1/kb/staff/{name}/password`) and through `digital-teller staff password`.
Runs with the store on SQLite and on PostgreSQL (conftest)."""

from __future__ import annotations

import io
import json
import time
from types import SimpleNamespace

import pytest

from assistant.cli import main
from knowledge.staff import AccountLocked, AuthError, Lockout, StaffError
from tests.knowledge.test_staff_api import PASSWORD, bearer, make_client

NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.fixture()
def store(stores):
    store = stores.new()
    store.staff.add("ada", "admin", password=PASSWORD)
    store.staff.add("vic", "viewer", password=PASSWORD)
    return store


def audit_of(store, name):
    return [(r.action, r.details) for r in store.audit.query(subject=f"staff:{name}", limit=1000)]


def failure_rows(store):
    with store.db.read() as con:
        return {r["staff_name"]: r["failures"] for r in con.execute("SELECT * FROM kb_login_failures")}


def test_consecutive_failures_lock_the_account_then_it_unlocks(store):
    rule = Lockout(max_failures=3, lockout_s=0.6)
    for _ in range(2):
        with pytest.raises(AuthError):
            store.staff.login("vic", "wrong-password-guess", lockout=rule)
    store.staff.login("vic", PASSWORD, lockout=rule)            # a success resets the count
    assert failure_rows(store) == {}
    for _ in range(2):
        with pytest.raises(AuthError):
            store.staff.login("vic", "wrong-password-guess", lockout=rule)
    with pytest.raises(AccountLocked) as third:                 # the third in a row locks
        store.staff.login("vic", "wrong-password-guess", lockout=rule)
    assert third.value.retry_after_s == 1 and "locked" in str(third.value)
    with pytest.raises(AccountLocked):                          # the right password too, while locked
        store.staff.login("vic", PASSWORD, lockout=rule)
    store.staff.login("ada", PASSWORD, lockout=rule)            # per account: others are untouched
    time.sleep(0.7)
    assert store.staff.login("vic", PASSWORD, lockout=rule).staff.name == "vic"
    actions = [a for a, _ in audit_of(store, "vic")]
    assert actions.count("staff.login_failed") == 5 and actions.count("staff.locked") == 1
    assert "staff.login_locked" in actions
    details = json.dumps([d for _, d in audit_of(store, "vic")])
    assert "wrong-password-guess" not in details and PASSWORD not in details   # never the password


def test_unknown_names_leave_nothing_behind(store):
    for i in range(20):
        with pytest.raises(AuthError) as refused:
            store.staff.login(f"nobody-{i}", "wrong-password-guess", lockout=Lockout(max_failures=1))
        assert not isinstance(refused.value, AccountLocked)
    assert failure_rows(store) == {}


def test_changing_your_password_ends_your_sessions_not_your_api_keys(store):
    session = store.staff.login("vic", PASSWORD).token
    key = store.staff.add_api_key("vic", by="ada").token
    with pytest.raises(AuthError):
        store.staff.change_password("vic", "not-my-password", NEW_PASSWORD)
    assert failure_rows(store) == {"vic": 1}                     # a wrong current password counts
    with pytest.raises(StaffError):
        store.staff.change_password("vic", PASSWORD, "short")
    with pytest.raises(StaffError):
        store.staff.change_password("vic", PASSWORD, PASSWORD)
    assert store.staff.change_password("vic", PASSWORD, NEW_PASSWORD) == 1
    with pytest.raises(AuthError):
        store.staff.authenticate(session)
    assert store.staff.authenticate(key).name == "vic"
    with pytest.raises(AuthError):
        store.staff.login("vic", PASSWORD)
    assert store.staff.login("vic", NEW_PASSWORD).staff.name == "vic"
    assert ("staff.password", {"revoked": 1}) in audit_of(store, "vic")


def test_an_admin_reset_unlocks_and_ends_sessions(store):
    session = store.staff.login("vic", PASSWORD).token
    with pytest.raises(AccountLocked):
        store.staff.login("vic", "wrong-password-guess", lockout=Lockout(max_failures=1))
    revoked, generated = store.staff.reset_password("vic", by="ada")
    assert revoked == 1 and len(generated) >= 12 and failure_rows(store) == {}
    with pytest.raises(AuthError):
        store.staff.authenticate(session)
    assert store.staff.login("vic", generated).staff.name == "vic"
    assert ("staff.password_reset", {"revoked": 1}) in [(a, d) for a, d in audit_of(store, "vic")]


# ---------------------------------------------------------------- HTTP


@pytest.fixture()
def client(store):
    with make_client(store) as client:
        client.app.state.settings = SimpleNamespace(staff_login=SimpleNamespace(max_failures=2, lockout_minutes=5))
        yield client


def login(client, name, password):
    return client.post("/v1/kb/login", json={"name": name, "password": password})


def test_http_login_lockout_is_a_429_with_retry_after(client):
    assert login(client, "vic", "wrong-password-guess").status_code == 401
    locked = login(client, "vic", "wrong-password-guess")       # settings: 2 failures lock for 5 minutes
    assert locked.status_code == 429 and 290 <= int(locked.headers["Retry-After"]) <= 300
    assert "locked" in locked.json()["detail"]
    assert login(client, "vic", PASSWORD).status_code == 429
    responses = client.get("/openapi.json").json()["paths"]["/v1/kb/login"]["post"]["responses"]
    assert "locked" in responses["429"]["description"] and "Retry-After" in responses["429"]["description"]


def test_http_password_change_and_admin_reset(client):
    vic = login(client, "vic", PASSWORD).json()["token"]
    ada = login(client, "ada", PASSWORD).json()["token"]
    change = {"current_password": "not-my-password", "new_password": NEW_PASSWORD}
    assert client.put("/v1/kb/me/password", json=change, headers=bearer(vic)).status_code == 403
    short = {"current_password": PASSWORD, "new_password": "short"}
    assert client.put("/v1/kb/me/password", json=short, headers=bearer(vic)).status_code == 422
    done = client.put("/v1/kb/me/password", json={**change, "current_password": PASSWORD}, headers=bearer(vic))
    assert done.status_code == 200 and done.json() == {"name": "vic", "revoked": 1}
    assert client.get("/v1/kb/me", headers=bearer(vic)).status_code == 401     # that session ended
    assert login(client, "vic", NEW_PASSWORD).status_code == 200
    # An admin sets another's password: generated unless given, shown once; the viewer may not.
    assert client.put("/v1/kb/staff/ada/password", json={}, headers=bearer(
        login(client, "vic", NEW_PASSWORD).json()["token"])).status_code == 403
    reset = client.put("/v1/kb/staff/vic/password", json={}, headers=bearer(ada)).json()
    assert reset["revoked"] == 2 and len(reset["password"]) >= 12
    chosen = client.put("/v1/kb/staff/vic/password", json={"password": PASSWORD}, headers=bearer(ada)).json()
    assert chosen["password"] is None and login(client, "vic", PASSWORD).status_code == 200
    assert client.put("/v1/kb/staff/nobody/password", json={}, headers=bearer(ada)).status_code == 404


# ---------------------------------------------------------------- CLI


def test_cli_staff_password(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DT_DATABASE_URL", raising=False)
    data = str(tmp_path / "data")
    assert main(["staff", "add", "vic", "--role", "viewer", "--data-dir", data]) == 0
    assert main(["staff", "password", "vic", "--as", "ada", "--data-dir", data]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "new password (shown once):" and "any lockout lifted" in out[-3]
    from knowledge.store import KnowledgeStore

    store = KnowledgeStore(tmp_path / "data" / "teller.sqlite3")
    assert store.staff.login("vic", out[-1]).staff.name == "vic"
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    assert main(["staff", "password", "vic", "--stdin", "--data-dir", data]) == 0
    assert NEW_PASSWORD not in capsys.readouterr().out           # a chosen password is never printed
    assert store.staff.login("vic", NEW_PASSWORD).staff.name == "vic"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["staff", "password", "vic", "--stdin", "--data-dir", data]) == 2
    assert main(["staff", "password", "nobody", "--data-dir", data]) == 2
    store.close()
