"""Staff accounts, roles, passwords, bearer tokens and API keys.

Passwords are chosen by people, so they are stretched with scrypt and a per-account salt.
Tokens and API keys are 256-bit random strings: a single SHA-256 is enough for them (a
slow hash defends low-entropy secrets) and lets each request be checked with one indexed
lookup. Only hashes are stored; a secret is shown once, when it is made, and never logged
or audited (audit records name the account and the credential kind, nothing more).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from . import audit
from .db import Connection, Database, IntegrityViolation
from .staff_login import AccountLocked, Lockout, clear_failures, locked_for, record_failure

SESSION_PREFIX = "dts_"
API_KEY_PREFIX = "dtkey_"
SESSION_TTL_S = 8 * 3600  # one working shift
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"   # a staff name (also in the staff API's schema)
_NAME = re.compile(NAME_PATTERN)
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
MIN_PASSWORD = 12


class Role(IntEnum):
    """Ordered: each role may do everything the roles below it may."""

    viewer = 1
    editor = 2
    reviewer = 3
    admin = 4

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value]
        except KeyError:
            raise StaffError(f"unknown role {value!r} (use {', '.join(r.name for r in cls)})") from None


class StaffError(ValueError):
    """A staff account operation that cannot be carried out (invalid input: -> 422)."""


class UnknownStaff(StaffError):
    """No account by that name (-> 404)."""


class StaffConflict(StaffError):
    """The request contradicts the accounts' current state (-> 409): a name already taken,
    an account already disabled, or a change that would leave nobody able to administer."""


class LastAdmin(StaffConflict):
    """The change would leave no active admin: nobody could manage accounts any more."""


class SelfLockout(StaffConflict):
    """An admin tried to disable their own account."""


class AuthError(PermissionError):
    """Bad credentials (-> 401). The message never says which part was wrong."""


@dataclass(frozen=True)
class Staff:
    name: str
    role: Role
    created_at: float
    disabled: bool = False


@dataclass(frozen=True)
class IssuedToken:
    token: str          # the secret: show once, never store
    expires_at: float | None
    staff: Staff


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _staff(row: Any) -> Staff:
    return Staff(row["name"], Role[row["role"]], row["created_at"], row["disabled_at"] is not None)


class StaffDirectory:
    """Accounts and credentials in the knowledge store's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, name: str, role: str | Role, *, by: str = "system",
            password: str | None = None) -> tuple[Staff, str]:
        """Create an account; returns it and its password (generated unless given)."""
        if not _NAME.match(name) or name == "system":
            raise StaffError("staff name: 1-64 of a-z 0-9 _ . -, starting with a letter or digit; not 'system'")
        role = role if isinstance(role, Role) else Role.parse(role)
        password = password or secrets.token_urlsafe(18)
        if len(password) < MIN_PASSWORD:
            raise StaffError(f"password shorter than {MIN_PASSWORD} characters")
        now, stretched = time.time(), hash_password(password)  # slow: not while holding the writer lock
        try:
            with self.db.write() as con:
                con.execute("INSERT INTO kb_staff(name, role, password_hash, created_at) VALUES (?,?,?,?)",
                            (name, role.name, stretched, now))
                audit.append(con, by, "staff.add", f"staff:{name}", {"role": role.name})
        except IntegrityViolation:
            raise StaffConflict(f"staff member {name!r} already exists") from None
        return Staff(name, role, now), password

    def get(self, name: str) -> Staff:
        with self.db.read() as con:
            row = con.execute("SELECT * FROM kb_staff WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UnknownStaff(f"no staff member named {name!r}")
        return _staff(row)

    def list(self) -> list[Staff]:
        with self.db.read() as con:
            return [_staff(r) for r in con.execute("SELECT * FROM kb_staff ORDER BY name")]

    # The checks below read and write inside one write transaction, so two admins demoting
    # each other at the same moment cannot both succeed and leave nobody in charge.

    def set_role(self, name: str, role: str | Role, *, by: str) -> Staff:
        role = role if isinstance(role, Role) else Role.parse(role)
        with self.db.write() as con:
            before = _row_of(con, name)
            if before["role"] == Role.admin.name and role != Role.admin:
                _keep_an_admin(con, name, "demoted")
            con.execute("UPDATE kb_staff SET role = ? WHERE name = ?", (role.name, name))
            audit.append(con, by, "staff.role", f"staff:{name}", {"role": role.name, "was": before["role"]})
        return self.get(name)

    def disable(self, name: str, *, by: str) -> Staff:
        """Disable an account and revoke every credential it holds, in one transaction."""
        if name == by:
            raise SelfLockout("you cannot disable your own account; ask another admin")
        now = time.time()
        with self.db.write() as con:
            row = _row_of(con, name)
            if row["disabled_at"] is not None:
                raise StaffConflict(f"staff member {name!r} is already disabled")
            if row["role"] == Role.admin.name:
                _keep_an_admin(con, name, "disabled")
            con.execute("UPDATE kb_staff SET disabled_at = ? WHERE name = ?", (now, name))
            revoked = _revoke_all(con, name, None, now)
            audit.append(con, by, "staff.disable", f"staff:{name}", {"revoked": revoked})
        return self.get(name)

    def enable(self, name: str, *, by: str) -> Staff:
        """Let a disabled account log in again (its old credentials stay revoked)."""
        with self.db.write() as con:
            if _row_of(con, name)["disabled_at"] is None:
                raise StaffConflict(f"staff member {name!r} is not disabled")
            con.execute("UPDATE kb_staff SET disabled_at = NULL WHERE name = ?", (name,))
            audit.append(con, by, "staff.enable", f"staff:{name}", {})
        return self.get(name)

    def revoke_all(self, name: str, *, by: str, kind: str | None = None) -> int:
        """Revoke every live session token and/or API key of `name`; returns how many."""
        if kind not in (None, "session", "api_key"):
            raise StaffError(f"unknown credential kind {kind!r} (use session or api_key)")
        with self.db.write() as con:
            _row_of(con, name)
            revoked = _revoke_all(con, name, kind, time.time())
            audit.append(con, by, "staff.revoke", f"staff:{name}", {"kind": kind or "all", "revoked": revoked})
        return revoked

    def login(self, name: str, password: str, *, ttl_s: float = SESSION_TTL_S,
              lockout: Lockout = Lockout()) -> IssuedToken:
        """A session token for correct credentials; AuthError (audited) otherwise, or
        AccountLocked while the account is locked (staff_login.py)."""
        with self.db.read() as con:
            row = con.execute("SELECT * FROM kb_staff WHERE name = ?", (name,)).fetchone()
        # Hash even for an unknown name so response time does not reveal which names exist.
        ok = check_password(password, row["password_hash"] if row else _dummy_hash())
        # The refusal is raised after the transaction: raised inside, it would roll back the
        # audit record and the failure count with it.
        refusal: Exception | None = None
        with self.db.write() as con:
            if row is None:
                audit.append(con, "anonymous", "staff.login_failed", f"staff:{name[:64]}", {})
                refusal = AuthError("invalid name or password")
            # Checked after hashing (the same time either way) and before trusting the password:
            # while locked, the right password is refused too, so guesses learn nothing.
            elif wait := locked_for(con, name):
                audit.append(con, "anonymous", "staff.login_locked", f"staff:{name}", {})
                refusal = AccountLocked(wait)
            elif not ok or row["disabled_at"] is not None:
                wait = record_failure(con, name, lockout)
                refusal = AccountLocked(wait) if wait else AuthError("invalid name or password")
            else:
                clear_failures(con, name)
        if refusal is not None:
            raise refusal
        return self._issue(_staff(row), "session", time.time() + ttl_s, "login", SESSION_PREFIX)

    def change_password(self, name: str, old: str, new: str, *, lockout: Lockout = Lockout()) -> int:
        """The holder changes their own password, proving the old one (a wrong one counts as a
        failed sign-in, so a stolen session token cannot guess the password here instead).
        Revokes the account's session tokens; returns how many."""
        row = self._row(name)
        ok = check_password(old, row["password_hash"])
        refusal: Exception | None = None
        with self.db.write() as con:
            if wait := locked_for(con, name):
                refusal = AccountLocked(wait)
            elif not ok:
                wait = record_failure(con, name, lockout, actor=name, action="staff.password_failed")
                refusal = AccountLocked(wait) if wait else AuthError("the current password is wrong")
        if refusal is not None:
            raise refusal
        return self._set_password(name, new, by=name, action="staff.password", not_same_as=old)

    def reset_password(self, name: str, *, by: str, password: str | None = None) -> tuple[int, str]:
        """An admin (or the CLI) sets another's password, generated unless given; unlocks the
        account and revokes its session tokens. Returns (revoked, the password)."""
        self._row(name)
        password = password or secrets.token_urlsafe(18)
        return self._set_password(name, password, by=by, action="staff.password_reset"), password

    def _set_password(self, name: str, password: str, *, by: str, action: str, not_same_as: str = "") -> int:
        if len(password) < MIN_PASSWORD:
            raise StaffError(f"password shorter than {MIN_PASSWORD} characters")
        if password == not_same_as:
            raise StaffError("the new password is the current one")
        stretched, now = hash_password(password), time.time()  # slow: not while holding the writer lock
        with self.db.write() as con:
            _row_of(con, name)
            con.execute("UPDATE kb_staff SET password_hash = ? WHERE name = ?", (stretched, name))
            clear_failures(con, name)
            # Sessions signed in with the old password end; API keys are separate credentials
            # (issued by an admin, revoked by kind: POST /v1/kb/staff/{name}/revoke).
            revoked = _revoke_all(con, name, "session", now)
            audit.append(con, by, action, f"staff:{name}", {"revoked": revoked})
        return revoked

    def _row(self, name: str) -> Any:
        with self.db.read() as con:
            return _row_of(con, name)

    def add_api_key(self, name: str, *, by: str, label: str = "",
                    ttl_s: float | None = None) -> IssuedToken:
        """A long-lived key for scripts (no expiry unless `ttl_s`); revoke with `revoke`."""
        staff = self.get(name)
        if staff.disabled:
            raise StaffConflict(f"staff member {name!r} is disabled; enable the account first")
        expires = time.time() + ttl_s if ttl_s else None
        return self._issue(staff, "api_key", expires, label or "api key", API_KEY_PREFIX, by=by)

    def _issue(self, staff: Staff, kind: str, expires_at: float | None, label: str,
               prefix: str, by: str | None = None) -> IssuedToken:
        token = prefix + secrets.token_urlsafe(32)
        with self.db.write() as con:
            con.execute("INSERT INTO kb_credentials(token_hash, staff_name, kind, label, created_at, expires_at)"
                        " VALUES (?,?,?,?,?,?)", (_token_hash(token), staff.name, kind, label, time.time(), expires_at))
            action = "staff.login" if kind == "session" else "staff.api_key"
            audit.append(con, by or staff.name, action, f"staff:{staff.name}", {"label": label})
        return IssuedToken(token, expires_at, staff)

    def authenticate(self, token: str) -> Staff:
        """The staff member holding a valid token or API key; AuthError otherwise."""
        if not token.startswith((SESSION_PREFIX, API_KEY_PREFIX)) or len(token) > 128:
            raise AuthError("not a staff credential")
        with self.db.read() as con:
            row = con.execute(
                "SELECT s.*, c.expires_at AS expires_at FROM kb_credentials c JOIN kb_staff s"
                " ON s.name = c.staff_name WHERE c.token_hash = ? AND c.revoked_at IS NULL",
                (_token_hash(token),)).fetchone()
        if row is None or row["disabled_at"] is not None:
            raise AuthError("invalid or revoked credential")
        if row["expires_at"] is not None and row["expires_at"] < time.time():
            raise AuthError("credential expired")
        return _staff(row)

    def revoke(self, token: str, *, by: str) -> bool:
        with self.db.write() as con:
            cur = con.execute("UPDATE kb_credentials SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                              (time.time(), _token_hash(token)))
            if cur.rowcount:
                audit.append(con, by, "staff.logout", f"staff:{by}", {})
        return bool(cur.rowcount)


def _row_of(con: Connection, name: str) -> Any:
    row = con.execute("SELECT * FROM kb_staff WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise UnknownStaff(f"no staff member named {name!r}")
    return row


def _keep_an_admin(con: Connection, name: str, change: str) -> None:
    others = con.execute("SELECT count(*) FROM kb_staff WHERE role = 'admin' AND disabled_at IS NULL"
                         " AND name <> ?", (name,)).fetchone()[0]
    if others == 0:
        raise LastAdmin(f"{name!r} is the last active admin and cannot be {change}; make another admin first")


def _revoke_all(con: Connection, name: str, kind: str | None, now: float) -> int:
    sql, args = "UPDATE kb_credentials SET revoked_at = ? WHERE staff_name = ? AND revoked_at IS NULL", [now, name]
    if kind:
        sql += " AND kind = ?"; args.append(kind)  # noqa: E702
    return int(con.execute(sql, args).rowcount)
