"""Keep the Chroma index in step with the store: the store decides, the index follows.

Three ways the index learns of a change:
- in this process, at once: `attach` registers a store listener, so an approval or a
  delete updates the index before the API call returns (no restart);
- from another process (the CLI importing while the server runs): `catch_up` compares the
  store's served (id, version) pairs with the index's and fixes only what differs; it is
  cheap (one small query) and the server can call it on a timer or before staff tests;
- at start-up: `sync` makes the index hold exactly the served entries; when nothing
  changed the index's own fingerprint check means no vector is recomputed. `open_synced` also
  opens the index, and rebuilds it from the store when its folder cannot be read.

The index is derived data and the store's transactions are all-or-nothing, so after a crash
(kill -9 in an import, a reindex or an approval) the next start-up's sync is all the repair
there is: the index is made to match whatever the store committed.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .entry import Entry, load_jsonl
from .index import BuildReport, KnowledgeIndex
from .store import KnowledgeStore
from .vectors import forget_folder
from .versions import SYSTEM

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    seeded: int          # entries loaded into an empty store from the seed file
    build: BuildReport   # what the index build did (reused = no drift)
    drift: bool          # the index did not match the store before this sync


def seed_if_empty(store: KnowledgeStore, seed_file: str | Path) -> int:
    """On the very first start, load the seed JSONL as approved entries by "system"."""
    if not store.is_empty():
        return 0
    entries = load_jsonl(seed_file)
    store.publish_many(entries, author=SYSTEM, approver=SYSTEM, action="kb.seed",
                       details={"source": Path(seed_file).name, "rows": len(entries)})
    log.info("knowledge store seeded with %d entries from %s", len(entries), seed_file)
    return len(entries)


def sync(store: KnowledgeStore, index: KnowledgeIndex, *, seed_file: str | Path | None = None,
         force: bool = False) -> SyncReport:
    """Seed an empty store (when a seed file is given), then make the index match it."""
    seeded = seed_if_empty(store, seed_file) if seed_file is not None else 0
    return _reported(seeded, index.build(store.served_entries(), force=force), force)


def open_synced(open_index: Callable[[], KnowledgeIndex], store: KnowledgeStore, *, folder: str | Path,
                seed_file: str | Path | None = None, force: bool = False) -> tuple[KnowledgeIndex, SyncReport]:
    """`open_index()`, then `sync`; a `folder` Chroma cannot read (a corrupt or truncated database
    file) is moved aside to `<folder>.broken` (the one from an earlier failure is replaced) and
    the index rebuilt there from the store: damaged derived data costs a re-embedding at start-up,
    never the service. The store is read first, so a store failure is never mistaken for it."""
    seeded = seed_if_empty(store, seed_file) if seed_file is not None else 0
    entries = store.served_entries()
    try:
        index = open_index()
        return index, _reported(seeded, index.build(entries, force=force), force)
    except Exception as exc:  # noqa: BLE001 - whatever Chroma raised, the cure is the same
        log.warning("knowledge index in %s cannot be read (%s: %s); moving it to %s.broken and "
                    "rebuilding it from the store", folder, type(exc).__name__, exc, folder)
    forget_folder(folder)
    broken = Path(f"{folder}.broken")
    shutil.rmtree(broken, ignore_errors=True)
    if Path(folder).exists():
        Path(folder).rename(broken)
    index = open_index()
    return index, _reported(seeded, index.build(entries, force=True), True)


def _reported(seeded: int, report: BuildReport, force: bool) -> SyncReport:
    if not report.reused:
        # Building right after seeding, or on request, is expected; otherwise the index had drifted.
        level, what = ((logging.INFO, "built from the store") if seeded or force
                       else (logging.WARNING, "differed from the store"))
        log.log(level, "knowledge index %s: %d questions embedded, %d entries removed",
                what, report.embedded, report.removed)
    return SyncReport(seeded, report, drift=not report.reused)


class IndexFollower:
    """Applies the store's served changes to an index, in this process and from others."""

    def __init__(self, store: KnowledgeStore, index: KnowledgeIndex) -> None:
        self.store = store
        self.index = index
        self._lock = threading.Lock()  # listener and catch_up may run on different threads

    def attach(self) -> IndexFollower:
        self.store.on_change(self._on_change)
        return self

    def _on_change(self, entry_id: str, entry: Entry | None) -> None:
        with self._lock:
            if entry is None:
                self.index.remove(entry_id)
            else:
                self.index.upsert(entry)

    def catch_up(self) -> int:
        """Fix entries whose served version differs from the index's; returns how many."""
        with self._lock:
            served = self.store.served_versions()
            indexed = {e.id: e.version for e in self.index.entries()}
            fixed = 0
            for entry_id in set(indexed) - set(served):
                self.index.remove(entry_id)
                fixed += 1
            for entry_id, version in served.items():
                if indexed.get(entry_id) != version:
                    self.index.upsert(self.store.version(entry_id, version).entry)
                    fixed += 1
            return fixed
