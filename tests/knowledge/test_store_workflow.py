"""Store invariants: maker-checker, no lost update, rollback and delete are reviewed,
only approved versions are served. Every test runs on SQLite and on PostgreSQL (conftest)."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from knowledge import Entry
from knowledge.store import (EntryExists, InvalidState, KnowledgeStore, NotFound, PermissionDenied, SelfApproval,
                             StaleVersion)

PASSWORD = "correct-horse-battery"


def entry(entry_id: str = "lost-card", answer: str = "Please call us to report it.") -> Entry:
    return Entry(entry_id, {"en": ["I lost my card"], "zh": ["银行卡丢了怎么办"]},
                 {"en": answer, "zh": "请致电挂失。"}, tags=("cards",))


@pytest.fixture(scope="module")
def template(module_stores) -> KnowledgeStore:
    # Password hashing is deliberately slow: make the accounts once, copy the database per test.
    s = module_stores.new("template")
    for name, role in [("vic", "viewer"), ("ed", "editor"), ("eve", "editor"), ("rita", "reviewer"),
                       ("rob", "reviewer"), ("ada", "admin")]:
        s.staff.add(name, role, password=PASSWORD)
    return s


@pytest.fixture()
def store(template, stores) -> KnowledgeStore:
    return stores.copy(template)


def published(store: KnowledgeStore, e: Entry | None = None) -> Entry:
    e = e or entry()
    v = store.create(e, author="ed", submit=True)
    store.approve(e.id, v.version, reviewer="rita", comment="checked")
    return store.served(e.id)


def test_draft_is_not_served_until_a_different_reviewer_approves(store):
    v = store.create(entry(), author="ed")
    assert (v.version, v.state, v.kind) == (1, "draft", "create")
    assert store.served_entries() == []
    with pytest.raises(InvalidState):  # a draft must be submitted first
        store.approve("lost-card", 1, reviewer="rita")
    store.submit("lost-card", 1, actor="ed")
    assert store.served_entries() == []
    approved = store.approve("lost-card", 1, reviewer="rita", comment="ok")
    assert (approved.state, approved.reviewer, approved.review_comment) == ("approved", "rita", "ok")
    served = store.served_entries()
    assert [(e.id, e.version) for e in served] == [("lost-card", 1)]
    assert store.get("lost-card").status == "approved"


def test_author_can_never_approve_their_own_change_even_as_admin(store):
    store.create(entry(), author="ada", submit=True)
    with pytest.raises(SelfApproval):
        store.approve("lost-card", 1, reviewer="ada")
    store.update(entry(answer="Call now."), base_version=1, author="rita", submit=True)
    with pytest.raises(SelfApproval):
        store.approve("lost-card", 2, reviewer="rita")
    assert store.served_entries() == []
    store.approve("lost-card", 2, reviewer="rob")
    assert store.served("lost-card").answer["en"] == "Call now."


@pytest.mark.parametrize("actor", ["vic", "nobody", "system"])
def test_viewers_unknown_names_and_system_cannot_review(store, actor):
    store.create(entry(), author="ed", submit=True)
    with pytest.raises(PermissionDenied):
        store.approve("lost-card", 1, reviewer=actor)


def test_viewer_cannot_edit_and_editor_cannot_approve(store):
    with pytest.raises(PermissionDenied):
        store.create(entry(), author="vic")
    store.create(entry(), author="ed", submit=True)
    with pytest.raises(PermissionDenied):
        store.approve("lost-card", 1, reviewer="eve")
    store.staff.disable("rita", by="ada")
    with pytest.raises(PermissionDenied):
        store.approve("lost-card", 1, reviewer="rita")


def test_two_editors_from_the_same_base_second_gets_stale_version(store):
    published(store)
    base = store.get("lost-card").head_version
    store.update(entry(answer="First editor's text."), base_version=base, author="ed")
    with pytest.raises(StaleVersion) as err:
        store.update(entry(answer="Second editor's text."), base_version=base, author="eve")
    assert (err.value.base, err.value.head) == (1, 2)
    history = store.history("lost-card")
    assert [v.entry.answer["en"] for v in history] == ["Please call us to report it.", "First editor's text."]


def test_concurrent_writers_from_one_base_exactly_one_wins(store):
    published(store)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def edit(i: int) -> None:
        barrier.wait()
        try:
            store.update(entry(answer=f"text {i}"), base_version=1, author="ed")
            outcomes.append("ok")
        except StaleVersion:
            outcomes.append("stale")

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["stale"] * 5
    assert len(store.history("lost-card")) == 2


def test_approving_a_superseded_or_old_version_is_refused(store):
    published(store)
    store.update(entry(answer="v2"), base_version=1, author="ed", submit=True)
    store.update(entry(answer="v3"), base_version=2, author="eve", submit=True)
    assert store.version("lost-card", 2).state == "superseded"
    with pytest.raises(StaleVersion):
        store.approve("lost-card", 2, reviewer="rita")
    store.approve("lost-card", 3, reviewer="rita")
    assert store.served("lost-card").answer["en"] == "v3"


def test_rejection_needs_a_comment_and_keeps_the_served_version(store):
    published(store)
    store.update(entry(answer="Wrong number."), base_version=1, author="ed", submit=True)
    with pytest.raises(InvalidState):
        store.reject("lost-card", 2, reviewer="rita", comment=" ")
    rejected = store.reject("lost-card", 2, reviewer="rita", comment="the number is wrong")
    assert rejected.state == "rejected"
    record = store.get("lost-card")
    assert (record.status, record.served_version) == ("rejected", 1)
    assert store.served("lost-card").answer["en"] == "Please call us to report it."
    fixed = store.update(entry(answer="Right number."), base_version=2, author="ed", submit=True)
    assert fixed.version == 3


def test_rollback_is_a_new_pending_version_reviewed_like_any_change(store):
    published(store)
    store.update(entry(answer="Changed."), base_version=1, author="ed", submit=True)
    store.approve("lost-card", 2, reviewer="rita")
    back = store.rollback("lost-card", 1, base_version=2, author="eve")
    assert (back.version, back.state, back.kind, back.rollback_of) == (3, "pending", "rollback", 1)
    assert store.served("lost-card").answer["en"] == "Changed."  # not served until approved
    store.approve("lost-card", 3, reviewer="rob")
    served = store.served("lost-card")
    assert (served.version, served.answer["en"]) == (3, "Please call us to report it.")
    assert [v.version for v in store.history("lost-card")] == [1, 2, 3]


def test_rollback_to_a_never_approved_version_is_refused(store):
    published(store)
    store.update(entry(answer="draft only"), base_version=1, author="ed")
    store.update(entry(answer="another"), base_version=2, author="ed")
    with pytest.raises(InvalidState):
        store.rollback("lost-card", 2, base_version=3, author="ed")
    with pytest.raises(StaleVersion):
        store.rollback("lost-card", 1, base_version=2, author="ed")


def test_delete_is_reviewed_and_then_nothing_is_served(store):
    published(store)
    published(store, entry("open-account", "Bring your ID."))
    pending = store.request_delete("lost-card", base_version=1, author="rob")
    assert (pending.kind, pending.state) == ("delete", "pending")
    assert {e.id for e in store.served_entries()} == {"lost-card", "open-account"}
    with pytest.raises(SelfApproval):
        store.approve("lost-card", 2, reviewer="rob")
    store.approve("lost-card", 2, reviewer="rita", comment="product withdrawn")
    assert {e.id for e in store.served_entries()} == {"open-account"}
    assert store.get("lost-card").status == "deleted"
    assert store.served("lost-card") is None
    # every version is kept, and the entry can be brought back by a reviewed change
    revived = store.update(entry(), base_version=2, author="ed", submit=True)
    store.approve("lost-card", revived.version, reviewer="rita")
    assert store.served("lost-card").version == 3


def test_create_twice_and_unknown_entries(store):
    store.create(entry(), author="ed")
    with pytest.raises(EntryExists):
        store.create(entry(), author="eve")
    with pytest.raises(NotFound):
        store.get("nope")
    with pytest.raises(NotFound):
        store.update(entry("nope"), base_version=0, author="ed")
    with pytest.raises(InvalidState):  # nothing served yet: nothing to delete
        store.request_delete("lost-card", base_version=1, author="ed")


def test_list_filters_and_review_queue(store):
    published(store)
    store.create(entry("open-account", "Bring your ID."), author="ed")
    store.create(dataclasses.replace(entry("fx-rates"), tags=("fx",)), author="eve", submit=True)
    assert [r.id for r, _ in store.list_entries(status="approved")] == ["lost-card"]
    assert [r.id for r, _ in store.list_entries(tag="fx")] == ["fx-rates"]
    assert [r.id for r, _ in store.list_entries(text="bring your")] == ["open-account"]
    assert [(v.entry_id, v.state) for v in store.open_changes()] == [("open-account", "draft"),
                                                                    ("fx-rates", "pending")]


def test_a_failed_step_writes_nothing_not_even_its_audit_record(store):
    published(store)
    before = len(store.audit.query(limit=1000))
    with pytest.raises(StaleVersion):
        store.update(entry(), base_version=5, author="ed")
    with pytest.raises(PermissionDenied):
        store.request_delete("lost-card", base_version=1, author="vic")
    assert len(store.audit.query(limit=1000)) == before
    with store.db.read() as con:
        assert con.execute("SELECT count(*) FROM kb_versions").fetchone()[0] == 1
