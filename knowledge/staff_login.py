"""Staff sign-in lockout: after `max_failures` consecutive wrong passwords an account refuses
every password, the right one too, for `lockout_s` seconds.

The count lives in the store's database (`kb_login_failures`), so every replica and the CLI see
the same lock, and it is read and changed inside one write transaction (no two concurrent guesses
both get the last try). Only existing accounts have a row: guessing names that do not exist
leaves nothing behind, so the table is bounded by the number of accounts, and an attacker cannot
grow it (the per-address rate limit of `POST /v1/kb/login` slows those guesses instead).

The trade-off of locking per account (docs/security.md, "Staff sign-in lockout"): anyone who knows
a staff name can keep that account locked by guessing wrong now and then. The lock is therefore
short and ends by itself, a correct password resets the count only while unlocked, and an admin's
password reset unlocks at once. Locking per address instead would let a botnet guess one
password for ever.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from . import audit
from .db import Connection


@dataclass(frozen=True)
class Lockout:
    """The rule (settings `staff_login.max_failures`, `staff_login.lockout_minutes`)."""

    max_failures: int = 5
    lockout_s: float = 15 * 60.0


class AccountLocked(PermissionError):
    """Too many wrong passwords for this account: refused until `retry_after_s` has passed
    (-> 429 with `Retry-After`). Checked before the password, so it says nothing about it."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"too many failed sign-ins: this account is locked; try again in "
                         f"{math.ceil(self.retry_after_s / 60)} minute(s), or ask an admin to reset the password")


def locked_for(con: Connection, name: str, now: float | None = None) -> float:
    """Seconds the account stays locked (0: not locked)."""
    row = con.execute("SELECT locked_until FROM kb_login_failures WHERE staff_name = ?", (name,)).fetchone()
    until = row["locked_until"] if row is not None else None
    return max(0.0, until - (now or time.time())) if until is not None else 0.0


def record_failure(con: Connection, name: str, rule: Lockout, *, actor: str = "anonymous",
                   action: str = "staff.login_failed") -> float:
    """Count one wrong password for an existing account, audited (never the password); locks the
    account at the rule's limit. Returns how long it is now locked (0: not yet)."""
    now = time.time()
    row = con.execute("SELECT failures, locked_until FROM kb_login_failures WHERE staff_name = ?",
                      (name,)).fetchone()
    # A lock that has run out starts a fresh count: the next lock needs max_failures again.
    expired = row is not None and row["locked_until"] is not None and row["locked_until"] <= now
    failures = 1 if row is None or expired else row["failures"] + 1
    locked_until = now + rule.lockout_s if failures >= rule.max_failures else None
    if row is None:
        con.execute("INSERT INTO kb_login_failures(staff_name, failures, locked_until) VALUES (?,?,?)",
                    (name, failures, locked_until))
    else:
        con.execute("UPDATE kb_login_failures SET failures = ?, locked_until = ? WHERE staff_name = ?",
                    (failures, locked_until, name))
    audit.append(con, actor, action, f"staff:{name}", {"failures": failures})
    if locked_until is None:
        return 0.0
    audit.append(con, "system", "staff.locked", f"staff:{name}",
                 {"failures": failures, "minutes": round(rule.lockout_s / 60, 2)})
    return rule.lockout_s


def clear_failures(con: Connection, name: str) -> None:
    """A correct password, or an admin's reset: the count starts again and any lock ends."""
    con.execute("DELETE FROM kb_login_failures WHERE staff_name = ?", (name,))
