"""Kiosk credentials: one token per remote-counter kiosk, stored only as a hash.

Tokens are 256-bit random strings, so a single SHA-256 is enough (a slow password hash defends
low-entropy secrets, which these are not) and lets a connect be checked with one indexed lookup.
The plaintext token is shown once, at `kiosk add`, and never logged.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

TOKEN_PREFIX = "dtk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class KioskError(ValueError):
    """A kiosk command that cannot be carried out (bad name, duplicate, unknown kiosk)."""


@dataclass(frozen=True)
class Kiosk:
    name: str
    created_at: float
    revoked_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class KioskRegistry:
    """SQLite-backed; each call opens its own connection so threads and processes never share one."""

    def __init__(self, db_path: Path):
        self._db = Path(db_path)
        self._db.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con, con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS kiosks ("
                " name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
                " created_at REAL NOT NULL, revoked_at REAL)"
            )

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self._db, timeout=10)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def add(self, name: str) -> str:
        """Register a kiosk and return its token (the only time it is ever visible)."""
        if not _NAME.match(name):
            raise KioskError("kiosk name: 1-64 letters, digits, '_', '.', '-', starting with a letter or digit")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with closing(self._connect()) as con, con:
                con.execute(
                    "INSERT INTO kiosks(name, token_hash, created_at) VALUES (?, ?, ?)",
                    (name, _hash(token), time.time()),
                )
        except sqlite3.IntegrityError:
            raise KioskError(f"kiosk {name!r} already exists") from None
        return token

    def revoke(self, name: str) -> None:
        with closing(self._connect()) as con, con:
            cur = con.execute(
                "UPDATE kiosks SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (time.time(), name)
            )
            if cur.rowcount == 0:
                raise KioskError(f"no active kiosk named {name!r}")

    def list(self) -> list[Kiosk]:
        with closing(self._connect()) as con:
            rows = con.execute("SELECT name, created_at, revoked_at FROM kiosks ORDER BY name").fetchall()
        return [Kiosk(*row) for row in rows]

    def authenticate(self, token: str) -> str | None:
        """The kiosk's name for a valid, unrevoked token; None otherwise."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        with closing(self._connect()) as con:
            row = con.execute(
                "SELECT name FROM kiosks WHERE token_hash = ? AND revoked_at IS NULL", (_hash(token),)
            ).fetchone()
        return row[0] if row else None
