"""Kiosk tokens in the knowledge store's database, on both backends (conftest's `stores`):
hashed at rest, refused once revoked, shared by two replicas on one database, and every add
and revoke in the audit chain without the token or its hash."""

from __future__ import annotations

import hashlib

import pytest

from assistant.kiosks import KioskError, KioskRegistry


@pytest.fixture()
def store(stores):
    return stores.new()


@pytest.fixture()
def registry(store) -> KioskRegistry:
    return KioskRegistry(store.db)


def test_tokens_are_stored_hashed_and_revocation_is_immediate(registry, store):
    token = registry.add("laoshan-01")
    assert registry.authenticate(token) == "laoshan-01"
    with store.db.read() as con:
        stored = con.execute("SELECT token_hash FROM kiosks").fetchone()[0]
    assert token not in stored and stored == hashlib.sha256(token.encode()).hexdigest()
    registry.revoke("laoshan-01")
    assert registry.authenticate(token) is None
    assert registry.authenticate("dtk_" + "x" * 43) is None
    assert registry.authenticate("not-a-kiosk-token") is None
    with pytest.raises(KioskError):
        registry.revoke("laoshan-01")  # already revoked
    with pytest.raises(KioskError):
        registry.revoke("nobody")
    with pytest.raises(KioskError):
        registry.add("bad name!")


def test_list_shows_active_and_revoked_kiosks_by_name(registry):
    for name in ("shinan-02", "laoshan-01", "Huangdao-03"):
        registry.add(name)
    registry.revoke("shinan-02")
    listed = registry.list()
    assert [k.name for k in listed] == ["Huangdao-03", "laoshan-01", "shinan-02"]  # byte order on both
    assert [k.active for k in listed] == [True, True, False]
    assert all(k.created_at > 0 for k in listed) and listed[2].revoked_at >= listed[2].created_at


def test_duplicate_kiosk_is_refused_and_nothing_is_written(registry, store):
    registry.add("k1", by="ada")
    with pytest.raises(KioskError, match="already exists"):
        registry.add("k1", by="ada")
    assert [k.name for k in registry.list()] == ["k1"]
    assert len(store.audit.query(action="kiosk.")) == 1  # the refused add left no record


def test_two_replicas_on_one_database_share_kiosks(registry, stores, store):
    other = KioskRegistry(stores.open(store.db.target).db)  # a second process's own registry
    token = registry.add("counter-7")
    assert other.authenticate(token) == "counter-7"
    with pytest.raises(KioskError):
        other.add("counter-7")
    other.revoke("counter-7")
    assert registry.authenticate(token) is None


def test_add_and_revoke_are_audited_without_the_token(registry, store):
    tokens = [registry.add("k1", by="ada"), registry.add("k2")]
    registry.revoke("k1", by="ada")
    records = store.audit.query(action="kiosk.")
    assert [(r.actor, r.action, r.subject) for r in records] == [
        ("ada", "kiosk.add", "kiosk:k1"), ("system", "kiosk.add", "kiosk:k2"), ("ada", "kiosk.revoke", "kiosk:k1")]
    assert store.audit.verify().ok
    secrets = tokens + [hashlib.sha256(t.encode()).hexdigest() for t in tokens]
    with store.db.read() as con:
        cells = [str(cell) for row in con.execute("SELECT * FROM kb_audit") for cell in row]
    assert not [s for s in secrets if any(s in cell for cell in cells)]
