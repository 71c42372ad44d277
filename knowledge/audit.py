"""The audit log: append-only and tamper-evident, in the store's own database.

Each record's hash is SHA-256 over the canonical JSON of the record including the hash
of the record before it, so changing, removing or reordering any record breaks every
link after it, and `verify()` names the first broken one. Records are appended with the
connection of the change they describe, inside its transaction: a change and its audit
record are committed together or not at all.

What the chain cannot show on its own is a cut-off tail (the newest records deleted and
nothing after them); `ChainReport.head_hash` is what to copy somewhere else (a daily
e-mail, a ticket) so that a later verify can be compared against it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .db import Connection, Database
from .privacy import mask_personal

GENESIS = "0" * 64
SERVED = "answer.served"


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    ts: str          # ISO 8601, UTC, microseconds
    actor: str       # staff name, "system", "cli:<os user>", or the customer channel
    action: str      # <domain>.<verb>: entry.create, version.approve, answer.served, ...
    subject: str     # what it is about, e.g. "entry:lost-card@3"
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""


def canonical(seq: int, ts: str, actor: str, action: str, subject: str,
              details: dict[str, Any], prev_hash: str) -> bytes:
    # Sorted keys, no spaces, real UTF-8: the same record always hashes the same, in any
    # language, with any json library that follows these rules.
    payload = {"seq": seq, "ts": ts, "actor": actor, "action": action, "subject": subject,
               "details": details, "prev_hash": prev_hash}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(seq: int, ts: str, actor: str, action: str, subject: str,
                details: dict[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(seq, ts, actor, action, subject, details, prev_hash)).hexdigest()


def append(con: Connection, actor: str, action: str, subject: str,
           details: dict[str, Any] | None = None) -> AuditRecord:
    """Append one record using `con`, which must be inside a write transaction."""
    if not con.in_transaction:
        raise RuntimeError("audit.append needs the change's own write transaction")
    details = json.loads(json.dumps(details or {}, ensure_ascii=False))  # plain JSON types only
    last = con.execute("SELECT seq, hash FROM kb_audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    digest = record_hash(seq, ts, actor, action, subject, details, prev)
    con.execute("INSERT INTO kb_audit(seq, ts, actor, action, subject, details, prev_hash, hash)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (seq, ts, actor, action, subject,
                 json.dumps(details, sort_keys=True, ensure_ascii=False), prev, digest))
    return AuditRecord(seq, ts, actor, action, subject, details, prev, digest)


def _row(row: Any) -> AuditRecord:
    return AuditRecord(row["seq"], row["ts"], row["actor"], row["action"], row["subject"],
                       json.loads(row["details"]), row["prev_hash"], row["hash"])


class AuditLog:
    """Queries and verification over the chain; appends go through `append` in a change."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def query(self, *, actor: str | None = None, action: str | None = None,
              subject: str | None = None, since: str | None = None, until: str | None = None,
              after_seq: int = 0, limit: int = 100, newest_first: bool = False) -> list[AuditRecord]:
        """Records matching every filter given; `action` ending in '.' matches a prefix."""
        where, args = ["seq > ?"], [after_seq]
        if actor:
            where.append("actor = ?"); args.append(actor)  # noqa: E702
        if action:
            if action.endswith("."):
                where.append("action LIKE ? ESCAPE '\\'")
                args.append(action.replace("_", "\\_").replace("%", "\\%") + "%")
            else:
                where.append("action = ?"); args.append(action)  # noqa: E702
        if subject:
            where.append("subject = ?"); args.append(subject)  # noqa: E702
        if since:
            where.append("ts >= ?"); args.append(since)  # noqa: E702
        if until:
            where.append("ts < ?"); args.append(until)  # noqa: E702
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT * FROM kb_audit WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"
        with self.db.read() as con:
            return [_row(r) for r in con.execute(sql, (*args, max(1, min(limit, 1000))))]

    def verify(self) -> ChainReport:
        """Walk the whole chain; report the first record whose link or hash is wrong."""
        prev, expected_seq, count = GENESIS, 1, 0
        with self.db.read() as con:
            for row in con.execute("SELECT * FROM kb_audit ORDER BY seq"):
                count += 1
                if row["seq"] != expected_seq:
                    return ChainReport(False, count, prev, expected_seq,
                                       f"record {expected_seq} is missing (next is {row['seq']})")
                if row["prev_hash"] != prev:
                    return ChainReport(False, count, prev, row["seq"], "prev_hash does not link to the record before")
                try:
                    details = json.loads(row["details"])
                except json.JSONDecodeError:
                    return ChainReport(False, count, prev, row["seq"], "details are not valid JSON")
                digest = record_hash(row["seq"], row["ts"], row["actor"], row["action"],
                                     row["subject"], details, row["prev_hash"])
                if digest != row["hash"]:
                    return ChainReport(False, count, prev, row["seq"], "content does not match its hash")
                prev, expected_seq = row["hash"], expected_seq + 1
        return ChainReport(True, count, prev)

    def record_served(self, *, question: str, channel: str, language: str, kind: str,
                      handoff: bool, confidence: float, entry_id: str | None = None,
                      entry_version: int | None = None, response_id: str | None = None,
                      candidates: list[tuple[str, float]] | None = None, offered: list[str] | None = None,
                      clarification: str | None = None) -> str:
        """Record one answer given to a customer; returns its response id (for feedback).

        The actor is the channel ("web", "kiosk:<name>"), never a person: customers are
        anonymous, and the question is kept as said but with card, ID and phone numbers masked
        (`privacy.mask_personal`), so the gaps report can group it and nothing personal is kept.
        A clarifying question (kind "clarify") records the entries it `offered`; the turn after
        one records how it settled it (`clarification`: tap, ordinal, phrase or new_question).
        Both keys are left out when empty, so other records keep their shape.
        """
        response_id = response_id or uuid.uuid4().hex
        details = {"response_id": response_id, "question": mask_personal(question)[:500], "language": language,
                   "kind": kind, "handoff": bool(handoff), "confidence": round(float(confidence), 4),
                   "entry_id": entry_id, "entry_version": entry_version,
                   "candidates": [[e, round(float(c), 4)] for e, c in (candidates or [])][:5]}
        if offered:
            details["offered"] = [str(e) for e in offered][:5]
        if clarification:
            details["clarification"] = str(clarification)[:32]
        subject = f"entry:{entry_id}@{entry_version}" if entry_id else ("clarify" if kind == "clarify" else "handoff")
        with self.db.write() as con:
            append(con, channel or "unknown", SERVED, subject, details)
        return response_id

    def find_served(self, response_id: str) -> AuditRecord | None:
        response = self.db.dialect.json_text("details", "response_id")
        with self.db.read() as con:
            row = con.execute(f"SELECT * FROM kb_audit WHERE action = ? AND {response} = ?"
                              " ORDER BY seq DESC LIMIT 1", (SERVED, response_id)).fetchone()
        return _row(row) if row else None
