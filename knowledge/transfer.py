"""Import and export of entries: JSONL (the public contract) and CSV (for spreadsheets).

Import reads the whole file and validates every row before anything is written, and
reports every bad row (line, field, reason), not only the first: a reviewer fixing a
500-row sheet should not need 40 round trips. Then the entries are written in one
transaction (`KnowledgeStore.publish_many`): all of them or none.

CSV layout, one row per entry and language (UTF-8, header required, extra columns refused):

    id,lang,questions,answer,disclosure,tags
    lost-card,zh,银行卡丢了怎么办 | 卡丢了咋办,请立即…,,cards | loss
    lost-card,en,I lost my card | My card is missing,Please call…,,cards | loss

`questions` and `tags` are separated by " | "; rows of one entry are merged, and their
`tags` cells must agree (or be empty). JSONL is lossless; CSV is too for every entry whose
questions neither contain "|" nor start or end with spaces (export refuses the others).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .entry import LANGUAGES, Entry, EntryError
from .store import KnowledgeStore

Format = Literal["jsonl", "csv"]
CSV_COLUMNS = ("id", "lang", "questions", "answer", "disclosure", "tags")
SEP = " | "
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str
    entry_id: str | None = None

    def __str__(self) -> str:
        who = f" entry {self.entry_id!r}" if self.entry_id else ""
        return f"line {self.line}{who}: field {self.field!r}: {self.reason}"


class ImportFailed(ValueError):
    """The file had bad rows; nothing was written. `errors` lists every one."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} bad row(s), nothing imported: {shown}{more}")


class TransferError(ValueError):
    """An export that cannot represent an entry faithfully (CSV only)."""


@dataclass(frozen=True)
class ImportReport:
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    approved: bool


def guess_format(name: str) -> Format:
    return "csv" if name.lower().endswith(".csv") else "jsonl"


def parse_jsonl_rows(text: str) -> tuple[list[Entry], list[RowError]]:
    entries: list[tuple[int, Entry]] = []
    errors: list[RowError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append((number, Entry.from_dict(json.loads(line))))
        except json.JSONDecodeError as err:
            errors.append(RowError(number, "<row>", f"invalid JSON ({err.msg})"))
        except EntryError as err:
            errors.append(RowError(number, err.field, err.reason, err.entry_id))
    return _unique(entries, errors)


def parse_csv_rows(text: str) -> tuple[list[Entry], list[RowError]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))  # Excel writes a BOM
    header = tuple(reader.fieldnames or ())
    if header != CSV_COLUMNS:
        return [], [RowError(1, "<header>", f"columns must be exactly {','.join(CSV_COLUMNS)}")]
    merged: dict[str, dict[str, Any]] = {}
    errors: list[RowError] = []
    start = 2
    for row in reader:
        line, start = start, reader.line_num + 1  # a quoted cell may span lines
        if None in row or any(v is None for v in row.values()):
            errors.append(RowError(line, "<row>", "wrong number of cells"))
            continue
        entry_id, lang = row["id"].strip(), row["lang"].strip()
        if lang not in LANGUAGES:
            errors.append(RowError(line, "lang", f"must be one of {', '.join(LANGUAGES)}", entry_id or None))
            continue
        data = merged.setdefault(entry_id, {"id": entry_id, "questions": {}, "answer": {}, "disclosure": {},
                                            "tags": None, "_line": line, "_langs": set()})
        if lang in data["_langs"]:
            errors.append(RowError(line, "lang", f"second {lang} row for this entry", entry_id))
            continue
        data["_langs"].add(lang)
        data["questions"][lang] = _split(row["questions"])
        if row["answer"].strip():
            data["answer"][lang] = row["answer"]
        if row["disclosure"].strip():
            data["disclosure"][lang] = row["disclosure"]
        tags = _split(row["tags"])
        if tags and data["tags"] is not None and tags != data["tags"]:
            errors.append(RowError(line, "tags", "differs from another row of this entry", entry_id))
        elif tags:
            data["tags"] = tags
    entries: list[tuple[int, Entry]] = []
    for data in merged.values():
        line = data.pop("_line")
        data.pop("_langs")
        data["tags"] = data["tags"] or []
        try:
            entries.append((line, Entry.from_dict(data)))
        except EntryError as err:
            errors.append(RowError(line, err.field, err.reason, err.entry_id))
    return _unique(entries, errors)


def parse(text: str, fmt: Format) -> list[Entry]:
    """Validated entries, or ImportFailed naming every bad row."""
    entries, errors = (parse_csv_rows if fmt == "csv" else parse_jsonl_rows)(text)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line))
    return entries


def import_text(store: KnowledgeStore, text: str, fmt: Format, *, author: str, approver: str | None = None,
                source: str = "", progress: Progress | None = None) -> ImportReport:
    """Validate all rows, then write all entries in one transaction (pending, or approved
    at once when `approver`, an admin, is given). Nothing is written if any row is bad."""
    entries = parse(text, fmt)
    details = {"source": source, "format": fmt, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
               "rows": len(entries)}
    outcome = store.publish_many(entries, author=author, approver=approver, action="kb.import",
                                 details=details, progress=progress)
    return ImportReport(outcome["created"], outcome["updated"], outcome["unchanged"], approver is not None)


def export_text(entries: list[Entry], fmt: Format) -> str:
    """The entries as JSONL (with their versions) or CSV; imports back to equal entries."""
    if fmt == "jsonl":
        return "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in entries)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        for lang in LANGUAGES:
            questions = e.questions.get(lang, ())
            if not questions and lang not in e.answer:
                continue
            for q in questions:
                if "|" in q or q != q.strip():
                    raise TransferError(f"entry {e.id!r}: question {q!r} cannot be written to CSV; export JSONL")
            writer.writerow([e.id, lang, SEP.join(questions), e.answer.get(lang, ""),
                             e.disclosure.get(lang, ""), SEP.join(e.tags)])
    return out.getvalue()


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split("|") if part.strip()]


def _unique(rows: list[tuple[int, Entry]], errors: list[RowError]) -> tuple[list[Entry], list[RowError]]:
    first: dict[str, int] = {}
    kept: list[Entry] = []
    for line, entry in rows:
        if entry.id in first:
            errors.append(RowError(line, "id", f"duplicate id, first seen on line {first[entry.id]}", entry.id))
            continue
        first[entry.id] = line
        kept.append(entry)
    return kept, errors
