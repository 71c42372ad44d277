"""The knowledge store: the source of truth the index and the teller are derived from.

Every change to an entry is a new row in `kb_versions` (nothing is overwritten), made by
an author and, before anything is served, approved by someone else (maker-checker):

    create/update -> draft --submit--> pending --approve--> approved (served)
                                               \\--reject---> rejected
    rollback / delete -> pending (reviewed like any other change)

Versions are numbered per entry; the served `Entry.version` is that number, so an
answer's (entry id, version) names exactly the text that was approved. Every change
names the version it was made on (`base_version`, the entry's head): if someone else
changed the entry meanwhile, it fails with `StaleVersion` instead of overwriting them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path

from . import audit
from . import versions as steps
from .audit import AuditLog
from .db import Database, open_database
from .entry import Entry
from .staff import Role, StaffDirectory
from .versions import (SYSTEM, EntryExists, EntryRecord, InvalidState, NotFound, PermissionDenied,
                       SelfApproval, StaleVersion, StoreError, Version, body_json, record_of, version_of)

ChangeListener = Callable[[str, "Entry | None"], None]

__all__ = ["EntryExists", "EntryRecord", "InvalidState", "KnowledgeStore", "NotFound", "PermissionDenied",
           "SelfApproval", "StaleVersion", "StoreError", "Version"]


class KnowledgeStore:
    """Entries, their versions, staff and the audit chain in one database.

    `target` is the path of an SQLite file (the embedded default) or a `postgresql://` URL
    (several replicas sharing one source of truth); the behaviour is the same on both.
    """

    def __init__(self, target: str | Path) -> None:
        self.db: Database = open_database(target)
        self.audit = AuditLog(self.db)
        self.staff = StaffDirectory(self.db)
        self._listeners: list[ChangeListener] = []

    def close(self) -> None:
        """Release the database connections kept for reuse (PostgreSQL); safe to call twice."""
        self.db.close()

    # ------------------------------------------------------------- notifications

    def on_change(self, listener: ChangeListener) -> None:
        """Call `listener(entry_id, served Entry or None)` after each committed change
        to what is served (an approval, a delete), e.g. to update the index."""
        self._listeners.append(listener)

    def _notify(self, changed: Iterable[tuple[str, Entry | None]]) -> None:
        for entry_id, entry in changed:
            for listener in self._listeners:
                listener(entry_id, entry)

    # ------------------------------------------------------------------ changes

    def create(self, entry: Entry, *, author: str, submit: bool = False) -> Version:
        with self.db.write() as con:
            steps.require(con, author, Role.editor)
            if con.execute("SELECT 1 FROM kb_entries WHERE id = ?", (entry.id,)).fetchone():
                raise EntryExists(f"entry {entry.id!r} already exists; update it instead")
            number = steps.add(con, entry.id, "create", body_json(entry), 0, author, "pending" if submit else "draft")
            return steps.get_version(con, entry.id, number)

    def update(self, entry: Entry, *, base_version: int, author: str, submit: bool = False) -> Version:
        with self.db.write() as con:
            steps.require(con, author, Role.editor)
            steps.head(con, entry.id)
            number = steps.add(con, entry.id, "edit", body_json(entry), base_version, author,
                          "pending" if submit else "draft")
            return steps.get_version(con, entry.id, number)

    def request_delete(self, entry_id: str, *, base_version: int, author: str) -> Version:
        with self.db.write() as con:
            steps.require(con, author, Role.editor)
            served = steps.head(con, entry_id)["served_version"]
            if served is None:
                raise InvalidState(f"entry {entry_id!r} is not served; reject its open change instead")
            body = steps.get_version(con, entry_id, served).entry
            number = steps.add(con, entry_id, "delete", body_json(body), base_version, author, "pending")
            return steps.get_version(con, entry_id, number)

    def rollback(self, entry_id: str, to_version: int, *, base_version: int, author: str) -> Version:
        """A pending change whose content is that of an earlier approved version."""
        with self.db.write() as con:
            steps.require(con, author, Role.editor)
            steps.head(con, entry_id)
            old = steps.get_version(con, entry_id, to_version)
            if old.kind == "delete" or old.state != "approved":
                raise InvalidState(f"version {to_version} of {entry_id!r} was never served; cannot roll back to it")
            number = steps.add(con, entry_id, "rollback", body_json(old.entry), base_version, author, "pending",
                          rollback_of=to_version)
            return steps.get_version(con, entry_id, number)

    def submit(self, entry_id: str, version: int, *, actor: str) -> Version:
        with self.db.write() as con:
            steps.require(con, actor, Role.editor)
            steps.open_head(con, entry_id, version, "draft")
            con.execute("UPDATE kb_versions SET state = 'pending' WHERE entry_id = ? AND version = ?",
                        (entry_id, version))
            steps.set_status(con, entry_id, "pending")
            audit.append(con, actor, "version.submit", f"entry:{entry_id}@{version}", {})
            return steps.get_version(con, entry_id, version)

    def approve(self, entry_id: str, version: int, *, reviewer: str, comment: str = "") -> Version:
        with self.db.write() as con:
            steps.require(con, reviewer, Role.reviewer)
            served = steps.review(con, entry_id, version, reviewer, "approved", comment)
        self._notify([(entry_id, served)])
        return self.version(entry_id, version)

    def reject(self, entry_id: str, version: int, *, reviewer: str, comment: str) -> Version:
        if not comment.strip():
            raise InvalidState("a rejection needs a comment saying what to change")
        with self.db.write() as con:
            steps.require(con, reviewer, Role.reviewer)
            steps.review(con, entry_id, version, reviewer, "rejected", comment)
            return steps.get_version(con, entry_id, version)

    # ---------------------------------------------------------------- reading

    def get(self, entry_id: str) -> EntryRecord:
        with self.db.read() as con:
            return record_of(steps.head(con, entry_id))

    def version(self, entry_id: str, version: int) -> Version:
        with self.db.read() as con:
            return steps.get_version(con, entry_id, version)

    def history(self, entry_id: str) -> list[Version]:
        with self.db.read() as con:
            steps.head(con, entry_id)
            rows = con.execute("SELECT * FROM kb_versions WHERE entry_id = ? ORDER BY version", (entry_id,))
            return [version_of(r) for r in rows]

    def served(self, entry_id: str) -> Entry | None:
        record = self.get(entry_id)
        return None if record.served_version is None else self.version(entry_id, record.served_version).entry

    def list_entries(self, *, status: str | None = None, tag: str | None = None, text: str | None = None,
                     limit: int = 100, offset: int = 0) -> list[tuple[EntryRecord, Version]]:
        """Entries with their head version, filtered; `text` is a substring of any field."""
        sql = ("SELECT e.*, v.* FROM kb_entries e JOIN kb_versions v"
               " ON v.entry_id = e.id AND v.version = e.head_version WHERE 1=1")
        args: list[object] = []
        if status:
            sql += " AND e.status = ?"; args.append(status)  # noqa: E702
        if tag:
            sql += f" AND {self.db.dialect.json_array_has('v.body', 'tags')}"; args.append(tag)  # noqa: E702
        if text:
            sql += f" AND {self.db.dialect.contains('v.body')}"; args.append(text)  # noqa: E702
        sql += " ORDER BY e.id LIMIT ? OFFSET ?"
        with self.db.read() as con:
            rows = con.execute(sql, (*args, max(1, min(limit, 1000)), max(0, offset))).fetchall()
        return [(record_of(r), version_of(r)) for r in rows]

    def open_changes(self) -> list[Version]:
        """Drafts and pending changes, oldest first (the reviewers' queue)."""
        with self.db.read() as con:
            rows = con.execute("SELECT * FROM kb_versions WHERE state IN ('draft','pending')"
                               " ORDER BY created_at, entry_id").fetchall()
        return [version_of(r) for r in rows]

    def served_entries(self) -> list[Entry]:
        """Every approved, served entry with its version: what the teller may say."""
        with self.db.read() as con:
            rows = con.execute("SELECT v.* FROM kb_entries e JOIN kb_versions v ON v.entry_id = e.id"
                               " AND v.version = e.served_version ORDER BY e.id").fetchall()
        return [version_of(r).entry for r in rows]

    def served_versions(self) -> dict[str, int]:
        with self.db.read() as con:
            rows = con.execute("SELECT id, served_version FROM kb_entries WHERE served_version IS NOT NULL")
            return {r[0]: r[1] for r in rows}

    def is_empty(self) -> bool:
        with self.db.read() as con:
            return con.execute("SELECT 1 FROM kb_entries LIMIT 1").fetchone() is None

    # ---------------------------------------------------------- bulk (transfer)

    def publish_many(self, entries: list[Entry], *, author: str, approver: str | None,
                     action: str, details: dict[str, object],
                     progress: Callable[[int, int], None] | None = None) -> dict[str, list[str]]:
        """Write many entries in ONE transaction: all of them or none.

        Each becomes a pending change (new or on top of the head), or, when `approver`
        is given (an admin, or "system" for the first seeding), an approved one at once.
        Entries identical to what is already served and not under change are skipped.
        """
        outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
        changed: list[tuple[str, Entry | None]] = []
        with self.db.write() as con:
            steps.require(con, author, Role.editor)
            if approver is not None and approver != SYSTEM:
                steps.require(con, approver, Role.admin)
            for done, entry in enumerate(entries, start=1):
                row = con.execute("SELECT * FROM kb_entries WHERE id = ?", (entry.id,)).fetchone()
                head = row["head_version"] if row else 0
                if row and row["served_version"] == head and row["status"] == "approved" \
                        and steps.get_version(con, entry.id, head).entry == dataclasses.replace(entry, version=head):
                    outcome["unchanged"].append(entry.id)
                else:
                    kind = "edit" if row else "create"
                    number = steps.add(con, entry.id, kind, body_json(entry), head, author, "pending")
                    if approver is not None:
                        changed.append((entry.id, steps.review(con, entry.id, number, approver, "approved",
                                                               f"bulk {action}", bulk=True)))
                    outcome["updated" if row else "created"].append(entry.id)
                if progress:
                    progress(done, len(entries))
            audit.append(con, approver or author, action, "kb",
                         {**details, **{k: len(v) for k, v in outcome.items()}, "approved": approver is not None})
        self._notify(changed)
        return outcome

