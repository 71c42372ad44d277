"""PostgreSQL behind the store's `Database` surface (see knowledge/db.py): psycopg 3 connections
kept for reuse, `?` placeholders, rows readable by name and position, and the writer lock.

Imported only when a `postgresql://` URL is opened, so SQLite deployments need no psycopg.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any

from .db import SCHEMA_VERSION, Database, PostgresDialect


class PgRow(tuple):
    """A result row readable by position and by column name, like sqlite3.Row."""

    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _pg_row_factory(cursor: Any) -> Any:
    index: dict[str, int] = {}
    for i, column in enumerate(cursor.description or ()):
        index.setdefault(column.name, i)  # first wins on a duplicate name, as in sqlite3.Row

    def make(values: Sequence[Any]) -> PgRow:
        row = PgRow(values)
        row._index = index
        return row
    return make


@functools.lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """psycopg's connection with the store's `?` placeholders (see the module's rule)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        if parameters:
            return self.raw.execute(_pg_sql(sql), tuple(parameters))
        return self.raw.execute(sql)  # no parameters: psycopg sends the text as it is

    def close(self) -> None:
        self.raw.close()


class PostgresDatabase(Database):
    """A PostgreSQL database named by a libpq URL; connections are kept for reuse.

    Opening a PostgreSQL connection costs a process on the server and milliseconds, so up to
    `keep` idle connections are kept (and reused by any thread, one transaction at a time).
    """

    dialect = PostgresDialect()
    _SCHEMA_LOCK = 0x6B625F736368  # any constant: serialises schema creation across processes

    def __init__(self, url: str, *, keep: int = 8, lock_timeout_s: float = 15.0) -> None:
        try:
            import psycopg
        except ImportError as exc:  # an optional dependency: only PostgreSQL deployments need it
            raise RuntimeError("a PostgreSQL database URL needs psycopg: pip install 'psycopg[binary]'") from exc
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        self.url = self.target = url
        self._keep, self._psycopg = keep, psycopg
        params = conninfo_to_dict(url)
        params.pop("password", None)
        self.label = make_conninfo(**params)
        self._integrity_errors = (psycopg.IntegrityError,)
        self._lock_timeout_ms = int(lock_timeout_s * 1000)
        self._idle: list[PgConnection] = []
        self._pool_lock = threading.Lock()
        with self._transaction(("BEGIN", f"SELECT pg_advisory_xact_lock({self._SCHEMA_LOCK})")) as con:
            con.execute("CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = con.execute("SELECT value FROM kb_meta WHERE key = 'schema_version'").fetchone()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                raise RuntimeError(f"{self.label}: schema {row[0]} is newer than this code ({SCHEMA_VERSION})")
            self._create_schema(con)
            con.execute("INSERT INTO kb_meta(key, value) VALUES ('schema_version', ?)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))

    def connect(self) -> PgConnection:
        return PgConnection(self._psycopg.connect(self.url, autocommit=True, row_factory=_pg_row_factory))

    def _write_begin(self) -> Sequence[str]:
        # lock_timeout plays SQLite's busy_timeout: a writer stuck behind another for this
        # long gets an error instead of hanging the request.
        return ("BEGIN ISOLATION LEVEL READ COMMITTED", f"SET LOCAL lock_timeout = {self._lock_timeout_ms}",
                "LOCK TABLE kb_audit IN SHARE ROW EXCLUSIVE MODE")

    def _read_begin(self) -> Sequence[str]:
        return ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",)

    def _acquire(self, begin: Sequence[str]) -> PgConnection:
        with self._pool_lock:
            kept = self._idle.pop() if self._idle else None
        if kept is not None:
            try:
                for statement in begin:
                    kept.execute(statement)
                return kept
            except self._psycopg.OperationalError:
                # A kept connection the server has dropped meanwhile (restart, idle timeout):
                # nothing was done on it yet, so starting over on a new one is safe.
                kept.close()
        return super()._acquire(begin)

    def _release(self, con: PgConnection) -> None:
        reusable = not con.raw.closed and not con.raw.broken and not con.in_transaction
        with self._pool_lock:
            if reusable and len(self._idle) < self._keep:
                self._idle.append(con)
                return
        con.close()

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()
