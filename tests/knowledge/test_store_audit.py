"""The audit chain detects edited, removed and reordered records; staff credentials.
Every test runs on SQLite and on PostgreSQL (conftest)."""

from __future__ import annotations

import json
import time

import pytest

from knowledge import Entry
from knowledge.audit import GENESIS
from knowledge.staff import AuthError, StaffError
from knowledge.store import KnowledgeStore

PASSWORD = "correct-horse-battery"


@pytest.fixture()
def store(stores) -> KnowledgeStore:
    s = stores.new()
    s.staff.add("ed", "editor", password=PASSWORD)
    s.staff.add("rita", "reviewer", password=PASSWORD)
    e = Entry("lost-card", {"en": ["I lost my card"]}, {"en": "Please call us."})
    s.create(e, author="ed", submit=True)
    s.approve("lost-card", 1, reviewer="rita", comment="fine")
    s.audit.record_served(question="I lost my card", channel="web", language="en", kind="answer",
                          handoff=False, confidence=0.91, entry_id="lost-card", entry_version=1)
    return s


def test_every_change_is_chained_and_the_chain_verifies(store):
    records = store.audit.query(limit=1000)
    assert [r.action for r in records] == ["staff.add", "staff.add", "entry.create", "version.approve",
                                           "answer.served"]
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:]))
    report = store.audit.verify()
    assert (report.ok, report.records, report.head_hash) == (True, 5, records[-1].hash)
    approve = records[3]
    assert (approve.actor, approve.subject, approve.details["comment"]) == ("rita", "entry:lost-card@1", "fine")


def test_the_database_refuses_updates_and_deletes_of_audit_rows(store, stores):
    con = stores.raw(store)
    with pytest.raises(stores.driver_error, match="append-only"):
        con.execute("UPDATE kb_audit SET actor = 'mallory' WHERE seq = 3")
    with pytest.raises(stores.driver_error, match="append-only"):
        con.execute("DELETE FROM kb_audit WHERE seq = 3")
    con.close()
    assert store.audit.verify().ok


@pytest.mark.parametrize("tamper, seq, reason", [
    ("UPDATE kb_audit SET actor = 'mallory' WHERE seq = 3", 3, "content"),
    ("UPDATE kb_audit SET details = replace(details, 'fine', 'FINE') WHERE seq = 4", 4, "content"),
    ("DELETE FROM kb_audit WHERE seq = 2", 2, "missing"),
    ("UPDATE kb_audit SET hash = 'x' WHERE seq = 3", 3, "content"),
    ("UPDATE kb_audit SET prev_hash = hash WHERE seq = 5", 5, "prev_hash"),
])
def test_tampering_with_a_row_is_found_at_that_row(store, stores, tamper, seq, reason):
    con = stores.raw(store)
    # A determined insider first removes the guard triggers; the chain still tells.
    stores.drop_audit_guard(con)
    con.execute(tamper)
    con.close()
    report = store.audit.verify()
    assert not report.ok
    assert report.broken_seq == seq
    assert reason in report.reason


def test_recomputing_one_hash_after_an_edit_still_breaks_the_next_link(store, stores):
    from knowledge.audit import record_hash

    con = stores.raw(store)
    stores.drop_audit_guard(con)
    row = con.execute("SELECT seq, ts, actor, action, subject, details, prev_hash"
                      " FROM kb_audit WHERE seq = 4").fetchone()
    details = json.loads(row[5]) | {"comment": "rubber stamp"}
    digest = record_hash(row[0], row[1], row[2], row[3], row[4], details, row[6])
    con.execute("UPDATE kb_audit SET details = ?, hash = ? WHERE seq = 4", (json.dumps(details), digest))
    con.close()
    report = store.audit.verify()
    assert (report.ok, report.broken_seq) == (False, 5)


def test_query_filters_and_paging(store):
    assert [r.seq for r in store.audit.query(action="version.")] == [4]
    assert [r.seq for r in store.audit.query(actor="ed")] == [3]
    assert [r.seq for r in store.audit.query(subject="entry:lost-card@1")] == [3, 4, 5]
    page1 = store.audit.query(limit=2)
    page2 = store.audit.query(after_seq=page1[-1].seq, limit=2)
    assert [r.seq for r in page1 + page2] == [1, 2, 3, 4]
    assert store.audit.query(newest_first=True, limit=1)[0].action == "answer.served"


def test_served_answers_are_recorded_with_entry_version_and_can_be_found(store):
    rid = store.audit.record_served(question="转人工", channel="kiosk:k1", language="zh", kind="handoff",
                                    handoff=True, confidence=0.0, response_id="resp-1")
    assert rid == "resp-1"
    found = store.audit.find_served("resp-1")
    assert found.actor == "kiosk:k1" and found.details["handoff"] is True and found.subject == "handoff"
    served = store.audit.query(action="answer.served")[0]
    assert (served.details["entry_id"], served.details["entry_version"]) == ("lost-card", 1)
    assert store.audit.verify().ok


def test_login_tokens_api_keys_expiry_revocation_and_no_secret_stored(store):
    issued = store.staff.login("ed", PASSWORD)
    assert store.staff.authenticate(issued.token).name == "ed"
    with pytest.raises(AuthError):
        store.staff.login("ed", "wrong password!!")
    with pytest.raises(AuthError):
        store.staff.login("nobody", PASSWORD)
    key = store.staff.add_api_key("rita", by="rita")
    assert store.staff.authenticate(key.token).role.name == "reviewer"
    short = store.staff.login("ed", PASSWORD, ttl_s=0.01)
    time.sleep(0.05)
    with pytest.raises(AuthError, match="expired"):
        store.staff.authenticate(short.token)
    assert store.staff.revoke(issued.token, by="ed")
    with pytest.raises(AuthError):
        store.staff.authenticate(issued.token)
    with pytest.raises(AuthError):
        store.staff.authenticate("dtk_kiosk-token-is-not-staff")
    store.staff.disable("rita", by="ed")
    with pytest.raises(AuthError):
        store.staff.authenticate(key.token)
    with store.db.read() as con:
        dump = "\n".join(str(tuple(row)) for table in ("kb_staff", "kb_credentials", "kb_audit")
                         for row in con.execute(f"SELECT * FROM {table}"))
    assert "scrypt$" in dump and "staff.api_key" in dump  # the dump does hold the tables
    for secret in (PASSWORD, issued.token, key.token):
        assert secret not in dump
    assert {r.action for r in store.audit.query(limit=1000)} >= {"staff.login", "staff.login_failed",
                                                                 "staff.api_key", "staff.logout",
                                                                 "staff.disable"}
    assert store.audit.verify().ok


def test_staff_names_roles_and_passwords_are_validated(store):
    with pytest.raises(StaffError):
        store.staff.add("Bad Name", "editor")
    with pytest.raises(StaffError):
        store.staff.add("system", "admin")
    with pytest.raises(StaffError):
        store.staff.add("carl", "superuser")
    with pytest.raises(StaffError):
        store.staff.add("carl", "editor", password="short")
    with pytest.raises(StaffError):
        store.staff.add("ed", "editor")
    member, password = store.staff.add("carl", "viewer")
    assert len(password) >= 12 and store.staff.login("carl", password).staff == member
