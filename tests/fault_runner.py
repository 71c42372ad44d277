"""A child process for the kill -9 tests (tests/knowledge/test_faults_kill.py): the real CLI, an
approval, or the server's start-up, with a fast test embedder and a place to stop and wait.

    python -m tests.fault_runner cli kb import FILE --approve --as ada --quiet --data-dir D
    python -m tests.fault_runner approve ENTRY VERSION REVIEWER --data-dir D
    python -m tests.fault_runner startup --data-dir D      # prints what the start-up left, as JSON
    python -m tests.fault_runner serve --port P            # `digital-teller serve`, speech engines faked

`DT_TEST_PAUSE=POINT:N` makes the process write the file `DT_TEST_MARKER` at the N-th time it
reaches POINT and then sleep, so the test kills it at exactly that point (inside a transaction,
between a commit and the index update, in the middle of an index build):

| point | where |
|---|---|
| `import` | inside the import's write transaction, after N entries were written |
| `committed` | after the import's transaction committed |
| `approve` | inside the approval's write transaction, its version row already updated |
| `embed` | at the N-th batch of vectors (a reindex, or the index update after an approval) |
| `mark` | after a build added every vector, before the index is marked as matching the store |
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from tests.fakes import HashEmbedder

EMBEDDER = "fault-test-hash"
_counts: dict[str, int] = {}


def pause(point: str) -> None:
    wanted, _, n = os.environ.get("DT_TEST_PAUSE", "").partition(":")
    if wanted != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == int(n or 1):
        Path(os.environ["DT_TEST_MARKER"]).write_text(point)
        time.sleep(120)   # the test kills us here


class PausingEmbedder(HashEmbedder):
    name = EMBEDDER

    def embed_queries(self, texts):
        pause("embed")
        return super().embed_queries(texts)


def install_hooks() -> None:
    from knowledge import audit, embedders, store, vectors

    embedders.EMBEDDERS[EMBEDDER] = PausingEmbedder
    publish = store.KnowledgeStore.publish_many

    def publish_many(self, entries, *, progress=None, **kwargs):
        def step(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total)
            pause("import")
        outcome = publish(self, entries, progress=step, **kwargs)
        pause("committed")
        return outcome
    store.KnowledgeStore.publish_many = publish_many

    append = audit.append

    def audited(con, actor, action, subject, details=None, **kwargs):
        if action == "version.approve":
            pause("approve")
        return append(con, actor, action, subject, details, **kwargs)
    audit.append = audited   # the store's steps call it through the module

    mark = vectors.QuestionVectors.mark

    def marked(self, fingerprints):
        pause("mark")
        return mark(self, fingerprints)
    vectors.QuestionVectors.mark = marked


def environment(data_dir: Path, seed: Path) -> dict[str, str]:
    """The environment a child runs in: the test embedder, no second embedder, no self-calibration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DT_")}
    env.update(DT_DATA_DIR=str(data_dir), DT_EMBEDDER=EMBEDDER, DT_ENGLISH_EMBEDDER="",
               DT_SELF_CALIBRATION__ENABLED="false", DT_KNOWLEDGE_FILE=str(seed))
    return env


def startup() -> dict[str, object]:
    """What the server's start-up does with the knowledge base, and what it left."""
    from assistant.loading import open_knowledge
    from assistant.settings import load_settings

    store, index, _ = open_knowledge(load_settings())
    served = store.served_versions()
    indexed = {e.id: e.version for e in index.entries()}
    # What Chroma itself holds on disk, read back (not the index's copy in memory).
    rows = {entry_id: len(found.texts) for entry_id, found in index._stores[0].examples().items()}
    expected = {e.id: len(e.example_questions()) for e in store.served_entries()}
    top = index.search("I lost my bank card", k=1)
    return {"served": served, "indexed": indexed, "rows": rows, "expected_rows": expected,
            "verify": store.audit.verify().ok, "top": top[0].entry.id if top else None}


def approve(entry_id: str, version: int, reviewer: str) -> None:
    """A review through the store with the running server's index follower attached."""
    from assistant.loading import open_index
    from assistant.settings import load_settings
    from knowledge.store import KnowledgeStore
    from knowledge.sync import IndexFollower, sync

    settings = load_settings()
    store = KnowledgeStore(settings.knowledge_db)
    index = open_index(settings)
    sync(store, index)
    IndexFollower(store, index).attach()
    store.approve(entry_id, version, reviewer=reviewer, comment="checked")


def fake_speech_engines() -> None:
    """`serve` as it is, but with the speech models faked: the knowledge start-up stays real."""
    from assistant import loading
    from tests.fakes import EnergyVad, ScriptedTranscriber, fake_speaker

    loading.check_models = lambda settings: None
    loading.load_transcriber = lambda settings: ScriptedTranscriber("I lost my bank card")
    loading.SileroVadModel = EnergyVad
    loading.load_speaker = lambda settings: fake_speaker()
    loading.load_turn_end = lambda settings: None


def main(argv: list[str]) -> int:
    install_hooks()
    command, rest = argv[0], argv[1:]
    if command in ("cli", "serve"):
        from assistant.cli import main as cli

        if command == "serve":
            fake_speech_engines()
            rest = ["serve", *rest]
        return cli(rest)
    if "--data-dir" in rest:   # the other commands take their data folder from the environment
        at = rest.index("--data-dir")
        os.environ["DT_DATA_DIR"] = rest[at + 1]
        rest = rest[:at] + rest[at + 2:]
    if command == "approve":
        approve(rest[0], int(rest[1]), rest[2])
        return 0
    if command == "startup":
        print(json.dumps(startup()))
        return 0
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
