"""The audit log: append-only and tamper-evident, in the store's own database.

Each record's hash is SHA-256 over the canonical JSON of the record including the hash
of the record before it, so changing, removing or reordering any record breaks every
link after it, and `verify()` names the first broken one. Records are appended with the
connection of the change they describe, inside its transaction: a change and its audit
record are committed together or not at all.

Customers' question texts must be able to expire (a retention period) while the chain still
verifies, so a record never holds them: it holds a salted digest of each (`details["text_sha256"]`),
and the text itself, with its salt, sits beside the chain in `kb_audit_text`, written in the same
transaction. Purging sets text and salt to NULL; the digest stays, and without the salt it says
nothing about the text (an unsalted hash of a short question could be found by trying common
questions). `verify()` checks each text still present against its digest, so a text rewritten
beside the chain is found like a rewritten record. Records written before schema 2 hold their
question inside the chain (`details["question"]`) and cannot be purged without breaking it.

What the chain cannot show on its own is a cut-off tail (the newest records deleted and
nothing after them); `ChainReport.head_hash` is what to copy somewhere else (a daily
e-mail, a ticket) so that a later verify can be compared against it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .db import Connection, Database
from .privacy import PURGED, mask_personal

GENESIS = "0" * 64
SERVED = "answer.served"
DIGESTS = "text_sha256"   # details key: {field: salted digest} of the texts kept beside the chain


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
    # The texts kept beside the chain, by field: the text, or PURGED once its retention ended.
    texts: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def text(self, name: str) -> str | None:
        """A customer text of this record, wherever it is kept (see `read_text`)."""
        return read_text(self.details, name, self.texts.get(name))


def read_text(details: Mapping[str, Any], name: str, beside: str | None) -> str | None:
    """A record's text `name`: `beside` (the chain's neighbour table; None or PURGED once purged)
    when the chain holds its digest, else the text inside the details (a record written before
    texts moved beside the chain), else None (the record has no such text)."""
    if name in (details.get(DIGESTS) or {}):
        return PURGED if beside is None else beside
    value = details.get(name)
    return None if value is None else str(value)


def text_digest(salt: str, text: str) -> str:
    return hashlib.sha256(f"{salt}\x00{text}".encode("utf-8")).hexdigest()


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
           details: dict[str, Any] | None = None, *, texts: Mapping[str, str] | None = None) -> AuditRecord:
    """Append one record using `con`, which must be inside a write transaction.

    `texts` (field -> text) are customer texts that must be able to expire: the chain gets a
    salted digest of each, and the text sits beside it in `kb_audit_text` (module doc).
    """
    if not con.in_transaction:
        raise RuntimeError("audit.append needs the change's own write transaction")
    details = json.loads(json.dumps(details or {}, ensure_ascii=False))  # plain JSON types only
    salts = {name: secrets.token_hex(16) for name in texts or {}}
    if texts:
        if DIGESTS in details or set(texts) & set(details):
            raise ValueError(f"a text kept beside the chain cannot also be a detail: {sorted(texts)}")
        details[DIGESTS] = {name: text_digest(salts[name], text) for name, text in texts.items()}
    last = con.execute("SELECT seq, hash FROM kb_audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    digest = record_hash(seq, ts, actor, action, subject, details, prev)
    con.execute("INSERT INTO kb_audit(seq, ts, actor, action, subject, details, prev_hash, hash)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (seq, ts, actor, action, subject,
                 json.dumps(details, sort_keys=True, ensure_ascii=False), prev, digest))
    for name, text in (texts or {}).items():
        con.execute("INSERT INTO kb_audit_text(seq, field, salt, text) VALUES (?,?,?,?)",
                    (seq, name, salts[name], text))
    return AuditRecord(seq, ts, actor, action, subject, details, prev, digest, dict(texts or {}))


def purge_texts(con: Connection, before: str, purged_at: float) -> int:
    """Purge (inside the caller's write transaction) every text beside the chain whose record
    is older than `before` (ISO time); returns how many. The digests in the chain stay."""
    return int(con.execute("UPDATE kb_audit_text SET text = NULL, salt = NULL, purged_at = ?"
                           " WHERE text IS NOT NULL AND seq IN (SELECT seq FROM kb_audit WHERE ts < ?)",
                           (purged_at, before)).rowcount)


def _row(row: Any, texts: Mapping[str, str | None] | None = None) -> AuditRecord:
    details = json.loads(row["details"])
    beside = {name: PURGED if text is None else text for name, text in (texts or {}).items()}
    return AuditRecord(row["seq"], row["ts"], row["actor"], row["action"], row["subject"],
                       details, row["prev_hash"], row["hash"], beside)


def _texts_of(con: Connection, rows: list[Any]) -> list[AuditRecord]:
    """Records with the texts kept beside them (one query for the page, not one per record)."""
    seqs = [row["seq"] for row in rows if DIGESTS in json.loads(row["details"])]
    found: dict[int, dict[str, str | None]] = {}
    for start in range(0, len(seqs), 500):
        chunk = seqs[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for seq, name, text in con.execute(f"SELECT seq, field, text FROM kb_audit_text WHERE seq IN ({marks})",
                                           chunk).fetchall():
            found.setdefault(seq, {})[name] = text
    return [_row(row, found.get(row["seq"])) for row in rows]


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
            return _texts_of(con, con.execute(sql, (*args, max(1, min(limit, 1000)))).fetchall())

    def verify(self) -> ChainReport:
        """Walk the whole chain; report the first record whose link or hash is wrong."""
        prev, expected_seq, count = GENESIS, 1, 0
        with self.db.read() as con:
            # The texts beside the chain are walked in step with it (both in seq order), so a
            # long chain is never held in memory with its texts.
            beside = iter(con.execute("SELECT seq, field, salt, text FROM kb_audit_text ORDER BY seq, field"))
            pending = next(beside, None)
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
                texts: dict[str, Any] = {}
                while pending is not None and pending["seq"] <= row["seq"]:
                    if pending["seq"] == row["seq"]:
                        texts[pending["field"]] = pending
                    pending = next(beside, None)
                problem = _check_texts(details.get(DIGESTS) or {}, texts)
                if problem:
                    return ChainReport(False, count, prev, row["seq"], problem)
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
        details = {"response_id": response_id, "language": language,
                   "kind": kind, "handoff": bool(handoff), "confidence": round(float(confidence), 4),
                   "entry_id": entry_id, "entry_version": entry_version,
                   "candidates": [[e, round(float(c), 4)] for e, c in (candidates or [])][:5]}
        if offered:
            details["offered"] = [str(e) for e in offered][:5]
        if clarification:
            details["clarification"] = str(clarification)[:32]
        subject = f"entry:{entry_id}@{entry_version}" if entry_id else ("clarify" if kind == "clarify" else "handoff")
        with self.db.write() as con:
            append(con, channel or "unknown", SERVED, subject, details,
                   texts={"question": mask_personal(question)[:500]})
        return response_id

    def find_served(self, response_id: str) -> AuditRecord | None:
        response = self.db.dialect.json_text("details", "response_id")
        with self.db.read() as con:
            row = con.execute(f"SELECT * FROM kb_audit WHERE action = ? AND {response} = ?"
                              " ORDER BY seq DESC LIMIT 1", (SERVED, response_id)).fetchone()
            return _texts_of(con, [row])[0] if row else None


def _check_texts(digests: Mapping[str, str], beside: Mapping[str, Any]) -> str:
    """Why the texts beside one record do not agree with the digests its details hold, or ''."""
    for name, digest in sorted(digests.items()):
        row = beside.get(name)
        if row is None:
            return f"its {name} text is missing beside the chain (a purge keeps the row)"
        if row["text"] is not None and (row["salt"] is None or text_digest(row["salt"], row["text"]) != digest):
            return f"its {name} text does not match the digest in the chain"
    extra = sorted(set(beside) - set(digests))
    return f"a {extra[0]} text beside the chain has no digest in it" if extra else ""
