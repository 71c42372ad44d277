"""Question texts expire while the audit chain still verifies (issue 13): the chain holds a salted
digest, the text sits beside it and is purged; feedback and the gaps report follow; a tampered
digest or text is still found; a schema-1 database is migrated. SQLite and PostgreSQL (conftest)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from knowledge.api import feedback_router, router
from knowledge.audit import DIGESTS, append
from knowledge.gaps import GapsReport
from knowledge.privacy import PURGED
from knowledge.retention import RetentionError, purge

OLD, NEW = "我的卡号6222021234567890被吞了怎么办", "保险箱能租吗"


def served(store, question: str) -> str:
    return store.audit.record_served(question=question, channel="web", language="zh", kind="handoff",
                                     handoff=True, confidence=0.2, candidates=[("lost-card", 0.2)])


@pytest.fixture()
def aged(stores):
    """A store with an old served question (and its feedback), then a cutoff, then a new one."""
    store = stores.new()
    gaps = GapsReport(store.db, store.audit)
    old_id = served(store, OLD)
    gaps.add_feedback(helpful=False, response_id=old_id)
    time.sleep(0.01)
    cut = datetime.now(timezone.utc)
    time.sleep(0.01)
    new_id = served(store, NEW)
    gaps.add_feedback(helpful=False, response_id=new_id)
    return store, gaps, cut, old_id, new_id


def test_the_chain_holds_a_salted_digest_and_the_text_sits_beside_it(aged):
    store, _, _, old_id, _ = aged
    record = store.audit.find_served(old_id)
    assert "question" not in record.details and set(record.details[DIGESTS]) == {"question"}
    assert record.text("question") == "我的卡号[CARD]被吞了怎么办"
    # Salted: the same question asked twice leaves two unrelated digests.
    again = store.audit.find_served(served(store, OLD))
    assert again.details[DIGESTS]["question"] != record.details[DIGESTS]["question"]
    assert store.audit.verify().ok


def test_purge_removes_texts_older_than_the_cutoff_and_keeps_newer_ones(aged, stores):
    store, gaps, cut, old_id, new_id = aged
    report = purge(store.db, older_than_days=0, actor="cli:ops", now=cut)
    assert (report.questions, report.feedback, report.in_chain) == (1, 1, 0)
    assert store.audit.find_served(old_id).text("question") == PURGED
    assert store.audit.find_served(new_id).text("question") == NEW
    with store.db.read() as con:
        feedback = [r[0] for r in con.execute("SELECT question FROM kb_feedback ORDER BY id")]
        beside = con.execute("SELECT salt, text, purged_at FROM kb_audit_text ORDER BY seq").fetchall()
    assert feedback == [PURGED, NEW]
    assert beside[0][0] is None and beside[0][1] is None and beside[0][2] > 0   # the salt goes too
    assert beside[1][1] == NEW
    report = store.audit.verify()
    assert report.ok, report
    last = store.audit.query(newest_first=True, limit=1)[0]
    assert (last.action, last.actor, last.details["questions"], last.details["feedback"]) == \
        ("audit.purge", "cli:ops", 1, 1)
    # Nothing left to purge: no second record (a daily timer must not flood the chain).
    again = purge(store.db, older_than_days=0, actor="system", now=cut)
    assert (again.questions, again.feedback) == (0, 0)
    assert store.audit.query(newest_first=True, limit=1)[0].seq == last.seq


def test_the_gaps_report_and_the_console_show_a_purged_question_as_purged(aged, stores):
    store, gaps, cut, _, _ = aged
    purge(store.db, older_than_days=0, actor="system", now=cut)
    questions = {q["example"]: q for q in gaps.report()["questions"]}
    assert set(questions) == {PURGED, NEW}
    assert (questions[PURGED]["asked"], questions[PURGED]["not_helpful"]) == (1, 1)
    store.staff.add("rita", "reviewer", password="correct-horse-battery")
    app = FastAPI()
    app.include_router(router)
    app.include_router(feedback_router)
    app.state.kb_store = store
    with TestClient(app) as client:
        token = client.post("/v1/kb/login", json={"name": "rita", "password": "correct-horse-battery"}).json()
        auth = {"Authorization": f"Bearer {token['token']}"}
        report = client.get("/v1/kb/gaps", headers=auth)
        assert report.status_code == 200 and {q["example"] for q in report.json()["questions"]} == {PURGED, NEW}
        trail = client.get("/v1/kb/audit?action=answer.served", headers=auth).json()
        assert [r["texts"] for r in trail] == [{"question": PURGED}, {"question": NEW}]
        assert all("question" not in r["details"] for r in trail)
        assert "6222021234567890" not in json.dumps(trail) and "[CARD]" not in json.dumps(trail)


def test_a_tampered_digest_or_text_is_still_found(aged, stores):
    store, _, cut, _, _ = aged
    purge(store.db, older_than_days=0, actor="system", now=cut)
    con = stores.raw(store)
    # The guard: texts beside the chain may be purged, never rewritten or deleted.
    with pytest.raises(stores.driver_error, match="only be purged"):
        con.execute("UPDATE kb_audit_text SET text = 'something else' WHERE seq = 2")
    with pytest.raises(stores.driver_error, match="only be purged"):
        con.execute("DELETE FROM kb_audit_text WHERE seq = 2")
    stores.drop_audit_guard(con)
    drop = "DROP TRIGGER {} ON kb_audit_text" if stores.backend == "postgresql" else "DROP TRIGGER {}"
    for trigger in (("kb_audit_text_purge_only",) if stores.backend == "postgresql"
                    else ("kb_audit_text_purge_only", "kb_audit_text_no_delete")):
        con.execute(drop.format(trigger))
    # A rewritten text beside the chain (record 2: the new question, not purged).
    con.execute("UPDATE kb_audit_text SET text = 'I want a loan' WHERE seq = 2")
    report = store.audit.verify()
    assert (report.ok, report.broken_seq) == (False, 2) and "does not match the digest" in report.reason
    con.execute("UPDATE kb_audit_text SET text = ? WHERE seq = 2", (NEW,))
    assert store.audit.verify().ok
    # A digest edited in the chain (the purged record 1).
    con.execute("UPDATE kb_audit SET details = replace(details, ?, ?) WHERE seq = 1",
                (DIGESTS + '": {"question": "', DIGESTS + '": {"question": "0'))
    report = store.audit.verify()
    assert (report.ok, report.broken_seq) == (False, 1) and "content" in report.reason
    con.close()


def test_a_deleted_text_row_is_found(aged, stores):
    store = aged[0]
    con = stores.raw(store)
    con.execute("DROP TRIGGER kb_audit_text_purge_only ON kb_audit_text" if stores.backend == "postgresql"
                else "DROP TRIGGER kb_audit_text_no_delete")
    con.execute("DELETE FROM kb_audit_text WHERE seq = 2")
    con.close()
    report = store.audit.verify()
    assert (report.ok, report.broken_seq) == (False, 2) and "missing" in report.reason


@pytest.mark.parametrize("days", [-1, float("nan"), float("inf"), "30", True])
def test_a_bad_retention_is_a_typed_error(stores, days):
    with pytest.raises(RetentionError):
        purge(stores.new().db, older_than_days=days, actor="system")


def test_a_schema_1_database_is_migrated_and_its_in_chain_questions_are_kept(stores):
    """Records written before schema 2 hold the question in the chain: still read, grouped and
    verified; the purge counts them and leaves them (removing them would break the chain)."""
    store = stores.new()
    with store.db.write() as con:   # what schema 1 wrote for a served answer
        append(con, "web", "answer.served", "handoff", {"response_id": "r1", "question": "老问题", "kind": "handoff",
                                                        "handoff": True, "confidence": 0.1, "candidates": []})
    con = stores.raw(store)
    if stores.backend == "postgresql":
        con.execute("DROP TABLE kb_audit_text")
        con.execute("UPDATE kb_meta SET value = '1' WHERE key = 'schema_version'")
    else:
        con.execute("DROP TABLE kb_audit_text")
        con.execute("PRAGMA user_version = 1")
    con.close()
    target = store.db.target
    store.close()
    store = stores.open(target)                    # the migration: the new table beside the chain
    with store.db.read() as con:
        assert con.execute("SELECT count(*) FROM kb_audit_text").fetchone()[0] == 0
    assert store.audit.find_served("r1").text("question") == "老问题"
    served(store, NEW)
    gaps = GapsReport(store.db, store.audit)
    assert {q["example"] for q in gaps.report()["questions"]} == {"老问题", NEW}
    report = purge(store.db, older_than_days=0, actor="system")
    assert (report.questions, report.in_chain) == (1, 1)
    assert store.audit.find_served("r1").text("question") == "老问题"
    assert store.audit.verify().ok
