"""The index follows the store: maintained incrementally it equals one rebuilt from scratch
(real Chroma, real embedder), with the store on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from knowledge import KnowledgeIndex, dump_jsonl
from knowledge.sync import IndexFollower, sync

QUERIES = ["我的银行卡丢了", "how do I open an account", "转账限额是多少", "what are your opening hours",
           "理财产品有风险吗", "I forgot my password"]


@pytest.fixture()
def seeded(tmp_path, stores, demo_entries):
    seed = tmp_path / "seed.jsonl"
    dump_jsonl(demo_entries[:14], seed)
    store = stores.new()
    store.staff.add("ed", "editor", password="correct-horse-battery")
    store.staff.add("rita", "reviewer", password="correct-horse-battery")
    return store, seed


def ranked(index: KnowledgeIndex) -> list[list[tuple[str, int, float]]]:
    return [[(c.entry.id, c.entry.version, round(c.score, 4)) for c in index.search(q, k=3)] for q in QUERIES]


def test_first_start_seeds_the_store_and_a_restart_embeds_nothing(seeded, embedder, tmp_path, demo_entries):
    store, seed = seeded
    index = KnowledgeIndex(tmp_path / "chroma", embedder)
    first = sync(store, index, seed_file=seed)
    assert first.seeded == 14 and first.drift
    assert {e.id for e in store.served_entries()} == {e.id for e in demo_entries[:14]}
    seed_record = store.audit.query(action="kb.seed")[0]
    assert seed_record.actor == "system" and seed_record.details["created"] == 14
    again = sync(store, KnowledgeIndex(tmp_path / "chroma", embedder), seed_file=seed)
    assert (again.seeded, again.drift, again.build.embedded) == (0, False, 0)


def test_index_maintained_by_approvals_equals_index_rebuilt_from_the_store(seeded, embedder, tmp_path,
                                                                           demo_entries):
    store, seed = seeded
    live = KnowledgeIndex(tmp_path / "live", embedder)
    sync(store, live, seed_file=seed)
    IndexFollower(store, live).attach()
    first, second, third = demo_entries[0], demo_entries[1], demo_entries[2]

    # an edit with new phrasings, a delete, a brand-new entry, then a rollback
    changed = dataclasses.replace(first, questions={**first.questions, "en": [*first.questions["en"], "new acct?"]})
    store.update(changed, base_version=1, author="ed", submit=True)
    store.approve(first.id, 2, reviewer="rita")
    store.request_delete(second.id, base_version=1, author="ed")
    store.approve(second.id, 2, reviewer="rita")
    store.create(dataclasses.replace(demo_entries[20]), author="ed", submit=True)
    store.approve(demo_entries[20].id, 1, reviewer="rita")
    store.update(dataclasses.replace(third, answer={"zh": "改过的回答。", "en": "Changed."}, disclosure={}),
                 base_version=1, author="ed", submit=True)
    store.approve(third.id, 2, reviewer="rita")
    store.rollback(third.id, 1, base_version=2, author="ed")
    store.approve(third.id, 3, reviewer="rita")

    assert live.get(first.id).version == 2
    assert second.id not in {e.id for e in live.entries()}
    assert live.get(third.id).answer == third.answer
    rebuilt = KnowledgeIndex(tmp_path / "rebuilt", embedder)
    rebuilt.build(store.served_entries())
    assert sorted((e.id, e.version) for e in live.entries()) == sorted((e.id, e.version) for e in rebuilt.entries())
    assert ranked(live) == ranked(rebuilt)


def test_changes_made_by_another_process_are_caught_up_and_drift_is_seen_at_start(seeded, stores, embedder,
                                                                                 tmp_path, demo_entries):
    store, seed = seeded
    index = KnowledgeIndex(tmp_path / "chroma", embedder)
    sync(store, index, seed_file=seed)
    follower = IndexFollower(store, index).attach()
    other = stores.open(store.db.target)  # e.g. the CLI: no listener reaches this process
    entry = demo_entries[4]
    other.update(dataclasses.replace(entry, tags=("changed",)), base_version=1, author="ed", submit=True)
    other.approve(entry.id, 2, reviewer="rita")
    other.request_delete(demo_entries[5].id, base_version=1, author="ed")
    other.approve(demo_entries[5].id, 2, reviewer="rita")
    assert index.get(entry.id).version == 1
    assert follower.catch_up() == 2
    assert index.get(entry.id).version == 2 and demo_entries[5].id not in {e.id for e in index.entries()}
    assert follower.catch_up() == 0

    other.update(entry, base_version=2, author="ed", submit=True)
    other.approve(entry.id, 3, reviewer="rita")
    restart = sync(store, KnowledgeIndex(tmp_path / "chroma", embedder))
    assert restart.drift and restart.build.entries == 13


def test_an_unreadable_index_folder_is_set_aside_and_rebuilt_in_the_same_process(stores, tmp_path):
    """open_synced (start-up, `kb reindex`): Chroma keeps a broken folder's client for the life of
    the process, so the rebuild must also forget it (knowledge.vectors.forget_folder). The kill -9
    and start-up faults themselves are in test_faults_kill.py (slow: child processes)."""
    from knowledge.entry import Entry
    from knowledge.sync import open_synced
    from tests.fakes import FAKE_KB, HashEmbedder

    seed = tmp_path / "seed.jsonl"
    dump_jsonl([Entry.from_dict(e) for e in FAKE_KB], seed)
    store, folder = stores.new(), tmp_path / "chroma"
    index, first = open_synced(lambda: KnowledgeIndex(folder, HashEmbedder()), store, folder=folder, seed_file=seed)
    assert first.seeded == 3 and index.search("I lost my bank card", k=1)[0].entry.id == "lost-card"
    (folder / "chroma.sqlite3").write_bytes(b"\x00garbage" * 4096)
    index, again = open_synced(lambda: KnowledgeIndex(folder, HashEmbedder()), store, folder=folder, seed_file=seed)
    assert again.drift and again.build.embedded == 12
    assert index.search("I lost my bank card", k=1)[0].entry.id == "lost-card"
    assert (tmp_path / "chroma.broken" / "chroma.sqlite3").read_bytes().startswith(b"\x00garbage")
