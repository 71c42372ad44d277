"""PostgreSQL-specific guarantees of the store, on a real server (conftest's `pg_server`):
writers on two replicas are serialised (a stale write gets StaleVersion, never a lost update),
the audit chain stays one unbroken chain under concurrent appends, the append-only guard also
refuses TRUNCATE, and the connection pool survives a dropped connection. Plus atomicity of
a bulk import that fails half-way, on both backends."""

from __future__ import annotations

import threading
import time

import pytest

from knowledge import Entry
from knowledge import versions as steps
from knowledge.db import open_database
from knowledge.store import KnowledgeStore, StaleVersion
from knowledge.transfer import export_text, import_text

PASSWORD = "correct-horse-battery"


def entry(answer: str = "Please call us to report it.") -> Entry:
    return Entry("lost-card", {"en": ["I lost my card"]}, {"en": answer})


@pytest.fixture()
def replicas(pg_stores) -> tuple[KnowledgeStore, KnowledgeStore]:
    """Two stores on one PostgreSQL database, as two server replicas would have."""
    first = pg_stores.new()
    for name, role in [("ed", "editor"), ("eve", "editor"), ("rita", "reviewer")]:
        first.staff.add(name, role, password=PASSWORD)
    first.create(entry(), author="ed", submit=True)
    first.approve("lost-card", 1, reviewer="rita")
    return first, pg_stores.open(first.db.target)


def test_a_second_writer_waits_for_the_first_then_gets_stale_version(replicas):
    one, two = replicas
    outcome: list[object] = []

    def stale_edit() -> None:
        try:
            outcome.append(two.update(entry("second"), base_version=1, author="eve"))
        except StaleVersion as exc:
            outcome.append(exc)

    with one.db.write() as con:  # replica one is half-way through "read head, write next"
        assert steps.head(con, "lost-card")["head_version"] == 1
        writer = threading.Thread(target=stale_edit)
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive() and outcome == []  # blocked on the writer lock, not racing
        assert two.get("lost-card").head_version == 1  # readers are never blocked
        steps.add(con, "lost-card", "edit", steps.body_json(entry("first")), 1, "ed", "draft")
    writer.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], StaleVersion)
    assert (outcome[0].base, outcome[0].head) == (1, 2)
    assert [v.entry.answer["en"] for v in two.history("lost-card")] == ["Please call us to report it.", "first"]


def test_concurrent_editors_on_two_replicas_never_lose_an_update(replicas):
    one, two = replicas
    written: list[str] = []
    stale = errors = 0
    lock = threading.Lock()

    def editor(store: KnowledgeStore, author: str) -> None:
        nonlocal stale, errors
        for i in range(12):
            text = f"{author} {i}"
            while True:  # reload and re-apply on 409, as the staff console does
                try:
                    store.update(entry(text), base_version=store.get("lost-card").head_version, author=author)
                except StaleVersion:
                    with lock:
                        stale += 1
                    continue
                except Exception:  # noqa: BLE001 - counted and asserted on below
                    with lock:
                        errors += 1
                    return
                with lock:
                    written.append(text)
                break

    threads = [threading.Thread(target=editor, args=(s, a)) for s, a in [(one, "ed"), (two, "eve")]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    history = one.history("lost-card")
    assert errors == 0 and len(written) == 24
    assert one.get("lost-card").head_version == 25 and [v.version for v in history] == list(range(1, 26))
    assert sorted(v.entry.answer["en"] for v in history[1:]) == sorted(written)  # every write kept, once
    assert all(v.base_version == v.version - 1 for v in history[1:])
    report = one.audit.verify()
    assert report.ok, report


def test_audit_appends_from_many_threads_and_replicas_form_one_chain(replicas):
    one, two = replicas
    before = one.audit.verify().records

    def serve(store: KnowledgeStore, channel: str) -> None:
        for i in range(10):
            store.audit.record_served(question=f"q{i}", channel=channel, language="en", kind="answer",
                                      handoff=False, confidence=0.9, entry_id="lost-card", entry_version=1)

    threads = [threading.Thread(target=serve, args=(s, f"kiosk:{n}")) for n, s in enumerate([one, two, one, two])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    report = two.audit.verify()
    assert report.ok and report.records == before + 40
    assert [r.seq for r in one.audit.query(limit=1000)] == list(range(1, before + 41))


def test_the_append_only_guard_refuses_truncate_too(replicas, pg_stores):
    one, _ = replicas
    import psycopg

    con = pg_stores.raw(one)
    with pytest.raises(psycopg.Error, match="append-only"):
        con.execute("TRUNCATE kb_audit")
    con.close()
    assert one.audit.verify().ok and one.audit.verify().records > 0


def test_schema_creation_by_replicas_starting_together_is_safe(pg_stores):
    target = pg_stores.target()
    opened: list[object] = []

    def start() -> None:
        try:
            opened.append(pg_stores.open(target))
        except Exception as exc:  # noqa: BLE001 - asserted on below
            opened.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(s, KnowledgeStore) for s in opened), opened
    assert opened[0].is_empty() and opened[0].audit.verify().ok


def test_a_kept_connection_dropped_by_the_server_is_replaced(replicas, pg_stores):
    one, _ = replicas
    assert one.get("lost-card").head_version == 1  # leaves a connection in the pool
    con = pg_stores.raw(one)  # as a server restart or an idle-session timeout would
    ended = con.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    con.close()
    assert ended >= 1
    assert one.get("lost-card").head_version == 1
    one.update(entry("after the restart"), base_version=1, author="ed")
    assert one.get("lost-card").head_version == 2


def test_the_label_hides_the_password_and_unknown_schemes_are_refused(pg_server, pg_stores):
    target = str(pg_stores.target())
    with_password = target.replace("postgresql://postgres@", "postgresql://postgres:s3cret-pw@")
    db = open_database(with_password)
    try:
        assert "s3cret-pw" not in db.label and "postgres" in db.label
    finally:
        db.close()
    with pytest.raises(ValueError, match="postgresql://"):
        open_database("mysql://user@host/db")


def test_an_import_that_fails_half_way_writes_nothing(stores, demo_entries):
    store = stores.new()
    store.staff.add("ada", "admin", password=PASSWORD)
    before = store.audit.verify().records

    def progress(done: int, total: int) -> None:
        if done == 3:
            raise RuntimeError("operator pressed Ctrl-C")

    with pytest.raises(RuntimeError, match="Ctrl-C"):
        import_text(store, export_text(demo_entries[:5], "jsonl"), "jsonl", author="ada", approver="ada",
                    progress=progress)
    assert store.is_empty() and store.served_entries() == [] and store.open_changes() == []
    assert store.audit.verify().records == before
