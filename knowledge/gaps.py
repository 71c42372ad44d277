"""What to write next: the questions the teller could not answer well, and customer feedback.

Source data is the audit chain's `answer.served` records (every answer, hand-off included)
and the `kb_feedback` table. Feedback is not chained: it comes from anonymous customers,
is not a staff action, and must not be able to flood the compliance record.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass, field

from .audit import SERVED, AuditLog, read_text
from .db import Database
from .privacy import mask_personal
from .versions import NotFound

_NOISE = re.compile(r"[\W_]+", re.UNICODE)


def normalise_question(text: str) -> str:
    """Group key: full-width folded, lower case, punctuation and spaces removed."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


@dataclass
class Gap:
    key: str
    example: str
    asked: int = 0
    handoffs: int = 0
    low_confidence: int = 0
    not_helpful: int = 0
    last_seen: str = ""
    candidates: dict[str, int] = field(default_factory=dict)  # entry id -> times it was the best guess
    clarified: int = 0        # times the teller asked which entry was meant
    offered: dict[str, int] = field(default_factory=dict)     # entry id -> times it was offered as an option


@dataclass(frozen=True)
class Feedback:
    id: int
    response_id: str | None
    question: str | None
    entry_id: str | None
    entry_version: int | None
    helpful: bool


class GapsReport:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self.db = db
        self.audit = audit

    def add_feedback(self, *, helpful: bool, response_id: str | None = None, question: str | None = None,
                     entry_id: str | None = None, channel: str = "") -> Feedback:
        """Store a customer's verdict; a response id fills in the question and entry served."""
        version = None
        if response_id:
            served = self.audit.find_served(response_id)
            if served is None:
                raise NotFound(f"no served answer with response id {response_id!r}")
            question = served.text("question")
            entry_id = served.details.get("entry_id")
            version = served.details.get("entry_version")
        elif not question:
            raise ValueError("feedback needs a response_id or a question")
        question = mask_personal(question or "")
        with self.db.write() as con:
            # RETURNING, not lastrowid: psycopg has no lastrowid; SQLite has RETURNING since 3.35.
            row = con.execute("INSERT INTO kb_feedback(ts, response_id, question, entry_id, entry_version,"
                              " helpful, channel) VALUES (?,?,?,?,?,?,?) RETURNING id",
                              (time.time(), response_id, question[:500], entry_id, version,
                               int(helpful), channel[:64])).fetchone()
            return Feedback(int(row[0]), response_id, question, entry_id, version, helpful)

    def report(self, *, threshold: float = 0.6, since: str | None = None, limit: int = 50) -> dict[str, object]:
        """Questions handed off, answered below `threshold`, clarified (the teller asked which of
        several entries was meant: the entries customers confuse), or marked not helpful, grouped."""
        gaps: dict[str, Gap] = {}
        handoff = self.db.dialect.json_is_true("details", "handoff")
        confidence = self.db.dialect.json_number("details", "confidence")
        kind = self.db.dialect.json_text("details", "kind")
        # The question sits beside the chain (a purged one reads as privacy.PURGED).
        sql = ("SELECT a.ts, a.details, t.text FROM kb_audit a LEFT JOIN kb_audit_text t"
               " ON t.seq = a.seq AND t.field = 'question' WHERE a.action = ? AND a.ts >= ? AND"
               f" ({handoff} OR {confidence} < ? OR {kind} = 'clarify')")
        with self.db.read() as con:
            served = con.execute(sql, (SERVED, since or "", threshold)).fetchall()
            feedback = con.execute("SELECT question, entry_id, helpful FROM kb_feedback").fetchall()
        for ts, raw, text in served:
            details = json.loads(raw)
            question = read_text(details, "question", text) or ""
            gap = gaps.setdefault(normalise_question(question), Gap(normalise_question(question), question))
            gap.asked += 1
            gap.handoffs += bool(details.get("handoff"))
            clarified = details.get("kind") == "clarify"
            # A clarification's confidence is that of its group of options, not an answer's.
            gap.low_confidence += not clarified and float(details.get("confidence", 0.0)) < threshold
            gap.clarified += clarified
            for offered in (details.get("offered") or []) if clarified else []:
                gap.offered[offered] = gap.offered.get(offered, 0) + 1
            gap.last_seen = max(gap.last_seen, ts)
            best = (details.get("candidates") or [[None]])[0][0]
            if best:
                gap.candidates[best] = gap.candidates.get(best, 0) + 1
        per_entry: dict[str, dict[str, int]] = {}
        for question, entry_id, helpful in feedback:
            if entry_id:
                counts = per_entry.setdefault(entry_id, {"helpful": 0, "not_helpful": 0})
                counts["helpful" if helpful else "not_helpful"] += 1
            if not helpful and question:
                key = normalise_question(question)
                gaps.setdefault(key, Gap(key, question)).not_helpful += 1
        ranked = sorted(gaps.values(), key=lambda g: (-(g.asked + g.not_helpful), g.key))[:limit]
        return {
            "threshold": threshold,
            "questions": [g.__dict__ for g in ranked if g.key],
            "entries": [{"entry_id": k, **v} for k, v in
                        sorted(per_entry.items(), key=lambda kv: (-kv[1]["not_helpful"], kv[0]))],
        }
