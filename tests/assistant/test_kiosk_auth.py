"""Kiosk tokens: hashed at rest, refused once revoked; anonymous admission by origin and rate."""

import sqlite3

import pytest

from assistant.admission import Gate, RateLimiter
from assistant.cli import main
from assistant.kiosks import KioskError, KioskRegistry


def test_tokens_are_stored_hashed_and_revocation_is_immediate(tmp_path):
    reg = KioskRegistry(tmp_path / "t.db")
    token = reg.add("laoshan-01")
    assert reg.authenticate(token) == "laoshan-01"
    stored = sqlite3.connect(tmp_path / "t.db").execute("SELECT token_hash FROM kiosks").fetchone()[0]
    assert token not in stored and len(stored) == 64
    reg.revoke("laoshan-01")
    assert reg.authenticate(token) is None
    assert reg.authenticate("dtk_" + "x" * 43) is None
    with pytest.raises(KioskError):
        reg.revoke("laoshan-01")
    with pytest.raises(KioskError):
        reg.add("bad name!")


def test_duplicate_kiosk_is_refused(tmp_path):
    reg = KioskRegistry(tmp_path / "t.db")
    reg.add("k1")
    with pytest.raises(KioskError):
        reg.add("k1")


def test_cli_kiosk_add_list_revoke(tmp_path, capsys):
    assert main(["kiosk", "add", "shinan-02", "--data-dir", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    reg = KioskRegistry(tmp_path / "teller.sqlite3")
    assert reg.authenticate(token) == "shinan-02"
    assert main(["kiosk", "revoke", "shinan-02", "--data-dir", str(tmp_path)]) == 0
    assert reg.authenticate(token) is None
    assert main(["kiosk", "revoke", "nobody", "--data-dir", str(tmp_path)]) == 2


def make_gate(tmp_path, per_minute=3):
    reg = KioskRegistry(tmp_path / "t.db")
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


def test_anonymous_sessions_are_rate_limited_per_address(tmp_path):
    _, gate = make_gate(tmp_path, per_minute=3)
    hdr = {"origin": "http://localhost:8000"}
    assert [gate.admit(hdr, "1.1.1.1").allowed for _ in range(4)] == [True, True, True, False]
    assert gate.admit(hdr, "2.2.2.2").allowed
    limiter = RateLimiter(2, window_s=60)
    assert limiter.allow("a", now=0) and limiter.allow("a", now=1) and not limiter.allow("a", now=2)
    assert limiter.allow("a", now=61)
