"""Versions of entries: the rows, the typed errors, and the steps that write them.

Every function here takes the connection of an open write transaction, so a caller
can combine several steps (and their audit records) into one atomic change.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from . import audit
from .db import Connection
from .entry import Entry
from .staff import Role

SYSTEM = "system"


class StoreError(Exception):
    """Base of the store's typed errors (each maps to one HTTP status in the API)."""


class NotFound(StoreError):
    """No such entry or version (404)."""


class EntryExists(StoreError):
    """Create with an id that is already taken (409)."""


class StaleVersion(StoreError):
    """The change was made on a version that is no longer the head (409)."""

    def __init__(self, entry_id: str, base: int, head: int) -> None:
        self.entry_id, self.base, self.head = entry_id, base, head
        super().__init__(f"entry {entry_id!r} is at version {head}, the change was made on {base}; "
                         "reload it and apply your change again")


class InvalidState(StoreError):
    """The step does not fit the version's state, e.g. approving a draft (409)."""


class SelfApproval(StoreError):
    """An author tried to review their own change (403)."""


class PermissionDenied(StoreError):
    """The actor's role does not allow the step (403)."""


@dataclass(frozen=True)
class Version:
    entry_id: str
    version: int
    kind: str                 # create | edit | delete | rollback
    entry: Entry              # the content (for a delete: the content being withdrawn)
    base_version: int | None
    rollback_of: int | None
    author: str
    created_at: float
    state: str                # draft | pending | approved | rejected | superseded
    reviewer: str | None
    review_comment: str | None
    reviewed_at: float | None


@dataclass(frozen=True)
class EntryRecord:
    id: str
    status: str               # draft | pending | approved | rejected | deleted (state of the head)
    head_version: int
    served_version: int | None
    created_at: float
    updated_at: float


def body_json(entry: Entry) -> str:
    data = entry.to_dict()
    data.pop("version", None)  # the version lives in its column, assigned by the store
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def version_of(row: Any) -> Version:
    entry = Entry.from_dict({**json.loads(row["body"]), "version": row["version"]})
    return Version(row["entry_id"], row["version"], row["kind"], entry, row["base_version"],
                   row["rollback_of"], row["author"], row["created_at"], row["state"],
                   row["reviewer"], row["review_comment"], row["reviewed_at"])


def record_of(row: Any) -> EntryRecord:
    return EntryRecord(row["id"], row["status"], row["head_version"], row["served_version"],
                       row["created_at"], row["updated_at"])


def require(con: Connection, actor: str, role: Role) -> None:
    # "system" (seeding, CLI drafts) may author changes but never review one.
    if actor == SYSTEM and role <= Role.editor:
        return
    row = con.execute("SELECT role, disabled_at FROM kb_staff WHERE name = ?", (actor,)).fetchone()
    if row is None or row["disabled_at"] is not None:
        raise PermissionDenied(f"{actor!r} is not an active staff member")
    if Role[row["role"]] < role:
        raise PermissionDenied(f"{actor!r} is a {row['role']}; this needs {role.name} or above")


def head(con: Connection, entry_id: str) -> Any:
    row = con.execute("SELECT * FROM kb_entries WHERE id = ?", (entry_id,)).fetchone()
    if row is None:
        raise NotFound(f"no entry {entry_id!r}")
    return row


def get_version(con: Connection, entry_id: str, version: int) -> Version:
    row = con.execute("SELECT * FROM kb_versions WHERE entry_id = ? AND version = ?",
                      (entry_id, version)).fetchone()
    if row is None:
        raise NotFound(f"no version {version} of entry {entry_id!r}")
    return version_of(row)


def open_head(con: Connection, entry_id: str, version: int, state: str) -> Version:
    current = head(con, entry_id)["head_version"]
    found = get_version(con, entry_id, version)
    if version != current:
        raise StaleVersion(entry_id, version, current)
    if found.state != state:
        raise InvalidState(f"version {version} of {entry_id!r} is {found.state}, not {state}")
    return found


def set_status(con: Connection, entry_id: str, status: str,
                served: int | None | bool = False) -> None:
    if served is False:
        con.execute("UPDATE kb_entries SET status = ?, updated_at = ? WHERE id = ?",
                    (status, time.time(), entry_id))
    else:
        con.execute("UPDATE kb_entries SET status = ?, served_version = ?, updated_at = ? WHERE id = ?",
                    (status, served, time.time(), entry_id))


def add(con: Connection, entry_id: str, kind: str, body: str, base: int,
         author: str, state: str, rollback_of: int | None = None) -> int:
    row = con.execute("SELECT head_version FROM kb_entries WHERE id = ?", (entry_id,)).fetchone()
    head = row[0] if row else 0
    if base != head:
        raise StaleVersion(entry_id, base, head)
    now, version = time.time(), head + 1
    # A newer change replaces an open one on the same entry: one change under review at a time.
    con.execute("UPDATE kb_versions SET state = 'superseded' WHERE entry_id = ? AND version = ?"
                " AND state IN ('draft','pending')", (entry_id, head))
    if row is None:
        con.execute("INSERT INTO kb_entries(id, status, head_version, created_at, updated_at)"
                    " VALUES (?,?,?,?,?)", (entry_id, state, version, now, now))
    else:
        con.execute("UPDATE kb_entries SET status = ?, head_version = ?, updated_at = ? WHERE id = ?",
                    (state, version, now, entry_id))
    con.execute("INSERT INTO kb_versions(entry_id, version, kind, body, base_version, rollback_of,"
                " author, created_at, state) VALUES (?,?,?,?,?,?,?,?,?)",
                (entry_id, version, kind, body, base or None, rollback_of, author, now, state))
    audit.append(con, author, f"entry.{kind}", f"entry:{entry_id}@{version}",
                 {"base_version": base, "state": state, "rollback_of": rollback_of, "body": json.loads(body)})
    return version


def review(con: Connection, entry_id: str, version: int, reviewer: str,
            verdict: str, comment: str, bulk: bool = False) -> Entry | None:
    found = open_head(con, entry_id, version, "pending")
    if found.author == reviewer and not bulk:
        raise SelfApproval(f"{reviewer!r} wrote version {version} of {entry_id!r}; another reviewer must decide")
    con.execute("UPDATE kb_versions SET state = ?, reviewer = ?, review_comment = ?, reviewed_at = ?"
                " WHERE entry_id = ? AND version = ?", (verdict, reviewer, comment, time.time(), entry_id, version))
    served: Entry | None = None
    if verdict == "rejected":
        set_status(con, entry_id, "rejected")
    elif found.kind == "delete":
        set_status(con, entry_id, "deleted", served=None)
    else:
        set_status(con, entry_id, "approved", served=version)
        served = found.entry
    action = "version.approve" if verdict == "approved" else "version.reject"
    audit.append(con, reviewer, action, f"entry:{entry_id}@{version}",
                 {"comment": comment, "kind": found.kind, "author": found.author, "bulk": bulk})
    return served
