"""The knowledge store's database: an SQLite file by default, PostgreSQL by URL; one schema.

The store, the audit log and the staff directory are written once, against the small surface
here: `read()` and `write()` transactions whose connection has `execute(sql, params)` with `?`
placeholders and rows readable by position and by column name. What differs between the two
engines lives in a `Dialect` (column types, the append-only guard on the audit table, and the
few SQL functions that have no common spelling), so no caller branches on the engine.

Every write transaction holds one writer lock from its first statement, taken before anything
is read: SQLite's `BEGIN IMMEDIATE`, and in PostgreSQL `LOCK TABLE kb_audit IN SHARE ROW
EXCLUSIVE MODE` (that mode conflicts with itself and with every INSERT, never with a reader).
That is what makes "read the head version, check it, write the next one" and "read the last
audit hash, append the next record" safe against a concurrent writer, in another thread, process
or machine. One lock, not finer ones: every change appends to the single audit chain anyway.
Readers never wait: SQLite's WAL and PostgreSQL's snapshots give them a consistent view.

Rule for SQL written against this module: no `?` or `%` inside string literals (the PostgreSQL
connection rewrites placeholders textually; pass such values as parameters instead).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Protocol

# 2: customers' question texts sit beside the audit chain (kb_audit_text) so they can expire.
# (kb_login_failures, the staff sign-in lockout, came later without a new version: a table that
# an older release never reads, created here when missing, so both releases can open the file.)
SCHEMA_VERSION = 2
URL_SCHEMES = ("postgresql://", "postgres://")

# {TEXT}, {REAL}, {SEQ}, {AUTO_ID} are filled in by the dialect.
_TABLES = """
CREATE TABLE IF NOT EXISTS kb_entries (
    id {TEXT} PRIMARY KEY,
    status {TEXT} NOT NULL CHECK (status IN ('draft','pending','approved','rejected','deleted')),
    head_version INTEGER NOT NULL,
    served_version INTEGER,
    created_at {REAL} NOT NULL,
    updated_at {REAL} NOT NULL
);
CREATE TABLE IF NOT EXISTS kb_versions (
    entry_id {TEXT} NOT NULL REFERENCES kb_entries(id),
    version INTEGER NOT NULL,
    kind {TEXT} NOT NULL CHECK (kind IN ('create','edit','delete','rollback')),
    body {TEXT} NOT NULL,
    base_version INTEGER,
    rollback_of INTEGER,
    author {TEXT} NOT NULL,
    created_at {REAL} NOT NULL,
    state {TEXT} NOT NULL CHECK (state IN ('draft','pending','approved','rejected','superseded')),
    reviewer {TEXT},
    review_comment {TEXT},
    reviewed_at {REAL},
    PRIMARY KEY (entry_id, version)
);
CREATE INDEX IF NOT EXISTS kb_versions_state ON kb_versions(state);
CREATE TABLE IF NOT EXISTS kb_staff (
    name {TEXT} PRIMARY KEY,
    role {TEXT} NOT NULL CHECK (role IN ('viewer','editor','reviewer','admin')),
    password_hash {TEXT},
    created_at {REAL} NOT NULL,
    disabled_at {REAL}
);
CREATE TABLE IF NOT EXISTS kb_credentials (
    token_hash {TEXT} PRIMARY KEY,
    staff_name {TEXT} NOT NULL REFERENCES kb_staff(name),
    kind {TEXT} NOT NULL CHECK (kind IN ('session','api_key')),
    label {TEXT} NOT NULL DEFAULT '',
    created_at {REAL} NOT NULL,
    expires_at {REAL},
    revoked_at {REAL}
);
CREATE INDEX IF NOT EXISTS kb_credentials_staff ON kb_credentials(staff_name);
CREATE TABLE IF NOT EXISTS kb_login_failures (
    staff_name {TEXT} PRIMARY KEY REFERENCES kb_staff(name),
    failures INTEGER NOT NULL,
    locked_until {REAL}
);
CREATE TABLE IF NOT EXISTS kb_audit (
    seq {SEQ},
    ts {TEXT} NOT NULL,
    actor {TEXT} NOT NULL,
    action {TEXT} NOT NULL,
    subject {TEXT} NOT NULL,
    details {TEXT} NOT NULL,
    prev_hash {TEXT} NOT NULL,
    hash {TEXT} NOT NULL
);
CREATE INDEX IF NOT EXISTS kb_audit_action ON kb_audit(action, seq);
CREATE INDEX IF NOT EXISTS kb_audit_subject ON kb_audit(subject, seq);
CREATE TABLE IF NOT EXISTS kb_audit_text (
    seq BIGINT NOT NULL,
    field {TEXT} NOT NULL,
    salt {TEXT},
    text {TEXT},
    purged_at {REAL},
    PRIMARY KEY (seq, field)
);
CREATE TABLE IF NOT EXISTS kb_feedback (
    id {AUTO_ID},
    ts {REAL} NOT NULL,
    response_id {TEXT},
    question {TEXT},
    entry_id {TEXT},
    entry_version INTEGER,
    helpful INTEGER NOT NULL,
    channel {TEXT} NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS kb_feedback_entry ON kb_feedback(entry_id)
"""
_JSON_KEY = re.compile(r"^[a-z_]+$")


class Connection(Protocol):
    """What the store's steps use of a connection (sqlite3's, or the PostgreSQL adapter)."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


class IntegrityViolation(Exception):
    """A write broke a key or CHECK constraint (e.g. a name already taken); nothing was written."""


class Dialect(ABC):
    """The parts of SQL the two engines spell differently; each engine spells all of them."""

    name = ""
    types: ClassVar[dict[str, str]] = {}
    # Append-only at the database level too: an honest mistake (an UPDATE typed into a
    # console) is refused outright; a deliberate one has to drop the guard first and is
    # then caught by the hash chain (audit verify).
    audit_guard: ClassVar[tuple[str, ...]] = ()
    # The customer texts beside the chain (kb_audit_text) may only be purged (text and salt set
    # to NULL), never rewritten or deleted: the chain's digest shows a rewrite anyway, and a
    # deleted row is told apart from a purged one.
    text_guard: ClassVar[tuple[str, ...]] = ()

    def schema(self) -> list[str]:
        tables = [s.strip().format(**self.types) for s in _TABLES.split(";\n") if s.strip()]
        return tables + list(self.audit_guard) + list(self.text_guard)

    @abstractmethod
    def json_text(self, column: str, key: str) -> str:
        """A top-level key of a JSON text column, as SQL text."""

    @abstractmethod
    def json_number(self, column: str, key: str) -> str:
        """A top-level key of a JSON text column, as an SQL number."""

    @abstractmethod
    def json_is_true(self, column: str, key: str) -> str:
        """True when the top-level key holds JSON true."""

    @abstractmethod
    def json_array_has(self, column: str, key: str) -> str:
        """True when the JSON array under `key` holds the string bound to the one `?`."""

    @abstractmethod
    def contains(self, column: str) -> str:
        """Case-insensitive (ASCII) substring test against the one `?`."""


class SqliteDialect(Dialect):
    name = "sqlite"
    types = {"TEXT": "TEXT", "REAL": "REAL", "SEQ": "INTEGER PRIMARY KEY", "AUTO_ID": "INTEGER PRIMARY KEY"}
    audit_guard = (
        ("CREATE TRIGGER IF NOT EXISTS kb_audit_no_update BEFORE UPDATE ON kb_audit"
         " BEGIN SELECT RAISE(ABORT, 'kb_audit is append-only'); END"),
        ("CREATE TRIGGER IF NOT EXISTS kb_audit_no_delete BEFORE DELETE ON kb_audit"
         " BEGIN SELECT RAISE(ABORT, 'kb_audit is append-only'); END"),
    )
    text_guard = (
        ("CREATE TRIGGER IF NOT EXISTS kb_audit_text_purge_only BEFORE UPDATE ON kb_audit_text"
         " WHEN NEW.text IS NOT NULL OR NEW.salt IS NOT NULL OR NEW.seq IS NOT OLD.seq OR NEW.field IS NOT OLD.field"
         " BEGIN SELECT RAISE(ABORT, 'kb_audit_text may only be purged'); END"),
        ("CREATE TRIGGER IF NOT EXISTS kb_audit_text_no_delete BEFORE DELETE ON kb_audit_text"
         " BEGIN SELECT RAISE(ABORT, 'kb_audit_text may only be purged'); END"),
    )

    def json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{_key(key)}')"

    json_number = json_text

    def json_is_true(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{_key(key)}') = 1"

    def json_array_has(self, column: str, key: str) -> str:
        return f"EXISTS (SELECT 1 FROM json_each({column}, '$.{_key(key)}') WHERE value = ?)"

    def contains(self, column: str) -> str:
        return f"instr(lower({column}), lower(?)) > 0"


class PostgresDialect(Dialect):
    name = "postgresql"
    # COLLATE "C": byte order, as in SQLite, whatever the cluster's locale; listings sort the
    # same on both engines, and ISO timestamps compare as the strings they are.
    types = {"TEXT": 'TEXT COLLATE "C"', "REAL": "DOUBLE PRECISION", "SEQ": "BIGINT PRIMARY KEY",
             "AUTO_ID": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"}
    audit_guard = (
        ("CREATE OR REPLACE FUNCTION kb_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS"
         " $$ BEGIN RAISE EXCEPTION 'kb_audit is append-only'; END $$"),
        ("CREATE OR REPLACE TRIGGER kb_audit_no_update BEFORE UPDATE ON kb_audit"
         " FOR EACH ROW EXECUTE FUNCTION kb_audit_append_only()"),
        ("CREATE OR REPLACE TRIGGER kb_audit_no_delete BEFORE DELETE ON kb_audit"
         " FOR EACH ROW EXECUTE FUNCTION kb_audit_append_only()"),
        # Row triggers do not fire on TRUNCATE; without this one it would empty the log silently.
        ("CREATE OR REPLACE TRIGGER kb_audit_no_truncate BEFORE TRUNCATE ON kb_audit"
         " FOR EACH STATEMENT EXECUTE FUNCTION kb_audit_append_only()"),
    )
    text_guard = (
        ("CREATE OR REPLACE FUNCTION kb_audit_text_purge_only() RETURNS trigger LANGUAGE plpgsql AS"
         " $$ BEGIN IF TG_OP <> 'UPDATE' OR NEW.text IS NOT NULL OR NEW.salt IS NOT NULL"
         " OR NEW.seq <> OLD.seq OR NEW.field <> OLD.field"
         " THEN RAISE EXCEPTION 'kb_audit_text may only be purged'; END IF; RETURN NEW; END $$"),
        ("CREATE OR REPLACE TRIGGER kb_audit_text_purge_only BEFORE UPDATE OR DELETE ON kb_audit_text"
         " FOR EACH ROW EXECUTE FUNCTION kb_audit_text_purge_only()"),
        ("CREATE OR REPLACE TRIGGER kb_audit_text_no_truncate BEFORE TRUNCATE ON kb_audit_text"
         " FOR EACH STATEMENT EXECUTE FUNCTION kb_audit_text_purge_only()"),
    )

    def json_text(self, column: str, key: str) -> str:
        return f"({column}::jsonb ->> '{_key(key)}')"

    def json_number(self, column: str, key: str) -> str:
        return f"({column}::jsonb ->> '{_key(key)}')::double precision"

    def json_is_true(self, column: str, key: str) -> str:
        return f"({column}::jsonb -> '{_key(key)}') = 'true'::jsonb"

    def json_array_has(self, column: str, key: str) -> str:
        return f"({column}::jsonb -> '{_key(key)}') @> jsonb_build_array(?::text)"

    def contains(self, column: str) -> str:
        return f"strpos(lower({column}), lower(?)) > 0"


def _key(key: str) -> str:
    # Keys are spliced into SQL: only the code's own constants may get here.
    if not _JSON_KEY.match(key):
        raise ValueError(f"not a JSON key this module splices into SQL: {key!r}")
    return key


class Database(ABC):
    """Short-lived transactions over one knowledge database (see the module doc)."""

    dialect: Dialect
    target: str | Path  # what `open_database` was given: opens the same database again
    label: str          # for messages: a path, or the URL without its password

    def write(self) -> Any:
        """A transaction holding the writer lock from the start; rolled back on any error."""
        return self._transaction(self._write_begin())

    def read(self) -> Any:
        """A consistent snapshot for several SELECTs; never blocks a writer or waits for one."""
        return self._transaction(self._read_begin())

    def close(self) -> None:
        """Release pooled connections (a no-op for SQLite, which pools nothing)."""

    @abstractmethod
    def connect(self) -> Any:
        """A connection outside any transaction (each statement commits on its own)."""

    @abstractmethod
    def _write_begin(self) -> Sequence[str]:
        """Statements that open a transaction holding the writer lock."""

    @abstractmethod
    def _read_begin(self) -> Sequence[str]:
        """Statements that open a read snapshot."""

    def _acquire(self, begin: Sequence[str]) -> Any:
        con = self.connect()
        try:
            for statement in begin:
                con.execute(statement)
        except BaseException:
            self._release(con)
            raise
        return con

    def _release(self, con: Any) -> None:
        con.close()

    _integrity_errors: tuple[type[BaseException], ...] = ()

    @contextmanager
    def _transaction(self, begin: Sequence[str]) -> Iterator[Any]:
        con = self._acquire(begin)
        try:
            try:
                yield con
            except BaseException as exc:
                _rollback(con)
                if isinstance(exc, self._integrity_errors):
                    raise IntegrityViolation(str(exc).strip()) from exc
                raise
            con.execute("COMMIT")
        finally:
            self._release(con)

    def _create_schema(self, con: Any) -> None:
        for statement in self.dialect.schema():
            con.execute(statement)


def _rollback(con: Any) -> None:
    with contextlib.suppress(Exception):  # a dead connection has no transaction left to undo
        con.execute("ROLLBACK")


class SqliteDatabase(Database):
    """One file; one connection per call (sqlite3 connections must not cross threads, and the
    server's worker threads, the CLI and a second process may all touch the same file)."""

    dialect = SqliteDialect()
    _integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: str | Path) -> None:
        self.path = self.target = Path(path)
        self.label = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.write() as con:
            found = con.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                # A newer release wrote this file; guessing at its layout could corrupt it.
                raise RuntimeError(f"{self.path}: schema {found} is newer than this code ({SCHEMA_VERSION})")
            self._create_schema(con)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def connect(self) -> sqlite3.Connection:
        # isolation_level=None: transactions are begun explicitly, never implicitly by the
        # driver, so a multi-row change is exactly one BEGIN ... COMMIT.
        con = sqlite3.connect(self.path, timeout=15, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("PRAGMA busy_timeout=15000")
        return con

    def _write_begin(self) -> Sequence[str]:
        return ("BEGIN IMMEDIATE",)

    def _read_begin(self) -> Sequence[str]:
        return ("BEGIN",)


def is_database_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def open_database(target: str | Path) -> Database:
    """`postgresql://...` opens PostgreSQL; anything else is the path of an SQLite file."""
    if is_database_url(target):
        from .db_postgres import PostgresDatabase  # psycopg is needed only here

        return PostgresDatabase(str(target))
    if isinstance(target, str) and "://" in target:
        raise ValueError(f"unsupported database URL {target.split('://')[0]}://...; use postgresql://")
    return SqliteDatabase(target)
