"""Kiosk credentials: one token per remote-counter kiosk, stored only as a hash.

Tokens are 256-bit random strings, so a single SHA-256 is enough (a slow password hash defends
low-entropy secrets, which these are not) and lets a connect be checked with one indexed lookup.
The plaintext token is shown once, at `kiosk add`, and never logged or audited.

The registry lives in the knowledge store's database (the SQLite file, or PostgreSQL when
`database_url` is set), so every replica sharing that database admits the same kiosks, and
adding or revoking one is recorded in the same audit chain as the staff's other actions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from knowledge import audit
from knowledge.db import Database, IntegrityViolation

TOKEN_PREFIX = "dtk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# The server's table, not the knowledge schema's, so it is created here rather than in
# knowledge/db.py; name and columns are those of the earlier SQLite-only registry, so an
# existing file keeps its kiosks. UNIQUE gives token_hash the index `authenticate` looks up.
_TABLE = ("CREATE TABLE IF NOT EXISTS kiosks ("
          " name {TEXT} PRIMARY KEY, token_hash {TEXT} NOT NULL UNIQUE,"
          " created_at {REAL} NOT NULL, revoked_at {REAL})")


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
    """Kiosks in a knowledge `Database`; every call is its own short transaction."""

    def __init__(self, db: Database):
        self.db = db
        # Under the writer lock: replicas starting together must not race on CREATE TABLE
        # (PostgreSQL can fail one of two concurrent IF NOT EXISTS creations).
        with db.write() as con:
            con.execute(_TABLE.format(**db.dialect.types))

    def add(self, name: str, *, by: str = "system") -> str:
        """Register a kiosk and return its token (the only time it is ever visible)."""
        if not _NAME.match(name):
            raise KioskError("kiosk name: 1-64 letters, digits, '_', '.', '-', starting with a letter or digit")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self.db.write() as con:
                con.execute("INSERT INTO kiosks(name, token_hash, created_at) VALUES (?, ?, ?)",
                            (name, _hash(token), time.time()))
                audit.append(con, by, "kiosk.add", f"kiosk:{name}")
        except IntegrityViolation:
            raise KioskError(f"kiosk {name!r} already exists") from None
        return token

    def revoke(self, name: str, *, by: str = "system") -> None:
        with self.db.write() as con:
            cur = con.execute("UPDATE kiosks SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                              (time.time(), name))
            if cur.rowcount == 0:
                raise KioskError(f"no active kiosk named {name!r}")
            audit.append(con, by, "kiosk.revoke", f"kiosk:{name}")

    def list(self) -> list[Kiosk]:
        with self.db.read() as con:
            rows = con.execute("SELECT name, created_at, revoked_at FROM kiosks ORDER BY name").fetchall()
        return [Kiosk(row["name"], row["created_at"], row["revoked_at"]) for row in rows]

    def authenticate(self, token: str) -> str | None:
        """The kiosk's name for a valid, unrevoked token; None otherwise."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
            return None
        with self.db.read() as con:
            row = con.execute("SELECT name FROM kiosks WHERE token_hash = ? AND revoked_at IS NULL",
                              (_hash(token),)).fetchone()
        return row["name"] if row else None
