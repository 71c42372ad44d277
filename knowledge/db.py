"""The knowledge store's SQLite file: schema, connections and transactions.

One connection per call: sqlite3 connections must not cross threads, and the server's
worker threads, the CLI and a second process may all touch the same file. WAL lets
readers proceed while one writer commits. Every write runs under BEGIN IMMEDIATE, so
the writer lock is taken before anything is read; that is what makes "read the head
version, check it, write the next one" and "read the last audit hash, append the next
record" safe against a concurrent writer without any lock of our own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_entries (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('draft','pending','approved','rejected','deleted')),
    head_version INTEGER NOT NULL,
    served_version INTEGER,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kb_versions (
    entry_id TEXT NOT NULL REFERENCES kb_entries(id),
    version INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('create','edit','delete','rollback')),
    body TEXT NOT NULL,
    base_version INTEGER,
    rollback_of INTEGER,
    author TEXT NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft','pending','approved','rejected','superseded')),
    reviewer TEXT,
    review_comment TEXT,
    reviewed_at REAL,
    PRIMARY KEY (entry_id, version)
);
CREATE INDEX IF NOT EXISTS kb_versions_state ON kb_versions(state);
CREATE TABLE IF NOT EXISTS kb_staff (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer','editor','reviewer','admin')),
    password_hash TEXT,
    created_at REAL NOT NULL,
    disabled_at REAL
);
CREATE TABLE IF NOT EXISTS kb_credentials (
    token_hash TEXT PRIMARY KEY,
    staff_name TEXT NOT NULL REFERENCES kb_staff(name),
    kind TEXT NOT NULL CHECK (kind IN ('session','api_key')),
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expires_at REAL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS kb_audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS kb_audit_action ON kb_audit(action, seq);
CREATE INDEX IF NOT EXISTS kb_audit_subject ON kb_audit(subject, seq);
-- Append-only at the database level too: an honest mistake (an UPDATE typed into a
-- console) is refused outright; a deliberate one has to drop the trigger first and is
-- then caught by the hash chain (audit verify).
CREATE TRIGGER IF NOT EXISTS kb_audit_no_update BEFORE UPDATE ON kb_audit
BEGIN SELECT RAISE(ABORT, 'kb_audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS kb_audit_no_delete BEFORE DELETE ON kb_audit
BEGIN SELECT RAISE(ABORT, 'kb_audit is append-only'); END;
CREATE TABLE IF NOT EXISTS kb_feedback (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    response_id TEXT,
    question TEXT,
    entry_id TEXT,
    entry_version INTEGER,
    helpful INTEGER NOT NULL,
    channel TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS kb_feedback_entry ON kb_feedback(entry_id);
"""


class Database:
    """Opens the file, creates the schema once, hands out short-lived connections."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.write() as con:
            found = con.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                # A newer release wrote this file; guessing at its layout could corrupt it.
                raise RuntimeError(f"{self.path}: schema {found} is newer than this code ({SCHEMA_VERSION})")
            for statement in _SCHEMA.split(";\n"):
                if statement.strip():
                    con.execute(statement)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly below, never implicitly
        # by the driver, so a multi-row change is exactly one BEGIN ... COMMIT.
        con = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=15000")
        return con

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the writer lock from the start; rolled back on any error."""
        con = self.connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs (a deferred transaction)."""
        con = self.connect()
        try:
            con.execute("BEGIN")
            try:
                yield con
            finally:
                con.execute("ROLLBACK")
        finally:
            con.close()
