"""How long customers' question texts are kept, and the purge that enforces it.

Customer text is stored in two places: beside the audit chain (`kb_audit_text`, one row per
served answer; the chain holds only a salted digest, see knowledge/audit.py) and in
`kb_feedback.question`. The gaps report reads both. `purge` removes every such text older than
the cutoff, in one write transaction, and appends an `audit.purge` record saying how many and
up to when, so the purge is itself accountable; `audit verify` passes before and after.

A record written before texts moved beside the chain (schema 1) holds its question inside the
chain: it cannot be purged without breaking verification, so it is counted (`in_chain`), not
touched.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from . import audit
from .db import Database
from .privacy import PURGED


class RetentionError(ValueError):
    """A retention period that is not a number of days >= 0."""


@dataclass(frozen=True)
class PurgeReport:
    before: str          # ISO time (UTC): texts of records older than this were purged
    questions: int       # question texts purged beside the audit chain
    feedback: int        # feedback questions purged
    in_chain: int        # older served records whose question sits inside the chain (schema 1)


def cutoff(days: float, now: datetime | None = None) -> datetime:
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not math.isfinite(days) or days < 0:
        raise RetentionError(f"a retention period is a number of days >= 0, got {days!r}")
    try:
        return (now or datetime.now(timezone.utc)) - timedelta(days=days)
    except OverflowError:
        # Longer than the calendar reaches: nothing can be that old.
        return datetime.min.replace(tzinfo=timezone.utc)


def purge(db: Database, *, older_than_days: float, actor: str, now: datetime | None = None) -> PurgeReport:
    """Purge question texts of records older than `older_than_days` (0: all of them)."""
    before = cutoff(older_than_days, now)
    iso = before.isoformat(timespec="microseconds")
    question = db.dialect.json_text("details", "question")
    with db.write() as con:
        questions = audit.purge_texts(con, iso, time.time())
        feedback = int(con.execute("UPDATE kb_feedback SET question = ? WHERE ts < ? AND question IS NOT NULL"
                                   " AND question <> ?", (PURGED, before.timestamp(), PURGED)).rowcount)
        in_chain = int(con.execute(f"SELECT count(*) FROM kb_audit WHERE action = ? AND ts < ? AND {question}"
                                   " IS NOT NULL", (audit.SERVED, iso)).fetchone()[0])
        report = PurgeReport(iso, questions, feedback, in_chain)
        if questions or feedback:
            # Only a purge that removed something is recorded: a daily timer must not flood the chain.
            audit.append(con, actor, "audit.purge", "retention",
                         {"before": iso, "questions": questions, "feedback": feedback})
    return report
