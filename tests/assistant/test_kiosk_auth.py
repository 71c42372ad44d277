"""Kiosk admission and the kiosk CLI; anonymous admission by origin and rate. The registry
itself is tested on both database engines in tests/knowledge/test_kiosk_registry.py."""

import hashlib
import sqlite3
from contextlib import closing

import pytest

from assistant.admission import Gate, RateLimiter
from assistant.cli import main
from assistant.kiosks import TOKEN_PREFIX, KioskRegistry
from knowledge.db import open_database
from knowledge.store import KnowledgeStore


def test_a_kiosk_added_before_the_move_to_the_store_still_admits(tmp_path):
    # What the SQLite-only registry left in teller.sqlite3: same table, same columns.
    token = TOKEN_PREFIX + "old-token"
    with closing(sqlite3.connect(tmp_path / "teller.sqlite3")) as con, con:
        con.execute("CREATE TABLE kiosks (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
                    " created_at REAL NOT NULL, revoked_at REAL)")
        con.execute("INSERT INTO kiosks VALUES ('old-01', ?, 1.0, NULL)", (hashlib.sha256(token.encode()).hexdigest(),))
    assert KioskRegistry(open_database(tmp_path / "teller.sqlite3")).authenticate(token) == "old-01"


def test_cli_kiosk_add_list_revoke(tmp_path, capsys):
    assert main(["kiosk", "add", "shinan-02", "--data-dir", str(tmp_path), "--as", "ada"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    store = KnowledgeStore(tmp_path / "teller.sqlite3")  # the CLI writes where the server reads
    reg = KioskRegistry(store.db)
    assert reg.authenticate(token) == "shinan-02"
    assert main(["kiosk", "list", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "shinan-02\tactive\n"
    assert main(["kiosk", "revoke", "shinan-02", "--data-dir", str(tmp_path)]) == 0
    assert reg.authenticate(token) is None
    assert main(["kiosk", "revoke", "nobody", "--data-dir", str(tmp_path)]) == 2
    assert [(r.actor, r.action) for r in store.audit.query(action="kiosk.")] == [
        ("ada", "kiosk.add"), ("system", "kiosk.revoke")]


def make_gate(tmp_path, per_minute=3):
    reg = KioskRegistry(open_database(tmp_path / "t.db"))
    gate = Gate(reg, allowed_origins=["http://localhost:8000"], allow_anonymous=True,
                limiter=RateLimiter(per_minute))
    return reg, gate


def test_gate_admits_kiosks_and_allowed_origins_only(tmp_path):
    reg, gate = make_gate(tmp_path)
    token = reg.add("k")
    assert gate.admit({"authorization": f"Bearer {token}"}, "10.0.0.1").channel == "kiosk:k"
    assert not gate.admit({"authorization": "Bearer dtk_wrong"}, "1.1.1.1").allowed
    assert not gate.admit({"authorization": "Basic abc"}, "1.1.1.1").allowed
    assert gate.admit({"origin": "http://localhost:8000"}, "1.1.1.1").channel == "web"
    refused = gate.admit({"origin": "https://evil.example"}, "1.1.1.1")
    assert not refused.allowed and "origin" in refused.reason
    assert not gate.admit({}, "1.1.1.1").allowed


@pytest.mark.parametrize("origin,host,allowed", [
    ("http://127.0.0.1:8123", "127.0.0.1:8123", True),        # the page served on another port
    ("http://Teller.Bank.example", "teller.bank.example", True),  # host names are case-insensitive
    ("https://teller.bank.example", "teller.bank.example", True),  # behind a TLS-terminating proxy
    ("http://127.0.0.1:8124", "127.0.0.1:8123", False),       # another port is another origin
    ("http://evil.example", "127.0.0.1:8123", False),
    ("ftp://127.0.0.1:8123", "127.0.0.1:8123", False),
    ("127.0.0.1:8123", "127.0.0.1:8123", False),              # no scheme: not an origin
    ("null", "", False),
    ("", "", False),
])
def test_the_servers_own_page_is_always_an_allowed_origin(tmp_path, origin, host, allowed):
    reg = KioskRegistry(open_database(tmp_path / "t.db"))
    gate = Gate(reg, allowed_origins=[], allow_anonymous=True, limiter=RateLimiter(100))
    verdict = gate.admit({"origin": origin, "host": host}, "1.1.1.1")
    assert verdict.allowed is allowed and (allowed or verdict.reason == "origin not allowed")


def test_anonymous_sessions_are_rate_limited_per_address(tmp_path):
    _, gate = make_gate(tmp_path, per_minute=3)
    hdr = {"origin": "http://localhost:8000"}
    assert [gate.admit(hdr, "1.1.1.1").allowed for _ in range(4)] == [True, True, True, False]
    assert gate.admit(hdr, "2.2.2.2").allowed
    limiter = RateLimiter(2, window_s=60)
    assert limiter.allow("a", now=0) and limiter.allow("a", now=1) and not limiter.allow("a", now=2)
    assert limiter.allow("a", now=61)
