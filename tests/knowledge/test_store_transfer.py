"""Import is validated row by row and all-or-nothing; export round-trips.
Store tests run on SQLite and on PostgreSQL (conftest)."""

from __future__ import annotations

import json

import pytest

from knowledge.store import KnowledgeStore, PermissionDenied
from knowledge.transfer import ImportFailed, TransferError, export_text, import_text, parse


@pytest.fixture()
def store(stores) -> KnowledgeStore:
    s = stores.new()
    s.staff.add("ed", "editor", password="correct-horse-battery")
    s.staff.add("ada", "admin", password="correct-horse-battery")
    return s


def counts(store: KnowledgeStore) -> tuple[int, int]:
    with store.db.read() as con:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("kb_entries", "kb_versions"))


def test_export_round_trips_in_both_formats(demo_entries):
    for fmt in ("jsonl", "csv"):
        assert parse(export_text(demo_entries, fmt), fmt) == demo_entries


def test_a_bad_row_means_nothing_is_written_and_every_bad_row_is_named(store, demo_entries):
    lines = export_text(demo_entries[:20], "jsonl").splitlines()
    bad = json.loads(lines[7]); bad["answer"] = {"en": "  "}  # noqa: E702
    lines[7] = json.dumps(bad, ensure_ascii=False)
    lines[12] = "{not json"
    lines[15] = lines[3]  # duplicate id
    with pytest.raises(ImportFailed) as err:
        import_text(store, "\n".join(lines), "jsonl", author="ed")
    found = [(e.line, e.field) for e in err.value.errors]
    assert found == [(8, "answer.en"), (13, "<row>"), (16, "id")]
    assert err.value.errors[0].entry_id == demo_entries[7].id
    assert counts(store) == (0, 0)
    assert [r.action for r in store.audit.query(limit=100)] == ["staff.add", "staff.add"]


def test_csv_errors_name_the_line_and_field(store, demo_entries):
    text = export_text(demo_entries[:3], "csv").splitlines()
    text[2] = text[2].replace(",en,", ",fr,", 1)
    with pytest.raises(ImportFailed) as err:
        import_text(store, "\n".join(text), "csv", author="ed")
    assert [(e.line, e.field) for e in err.value.errors] == [(3, "lang")]
    with pytest.raises(ImportFailed) as err:
        import_text(store, "id,question,answer\nx,y,z\n", "csv", author="ed")
    assert err.value.errors[0].field == "<header>"
    assert counts(store) == (0, 0)


def test_import_creates_pending_drafts_and_reports_progress(store, demo_entries):
    seen: list[tuple[int, int]] = []
    report = import_text(store, export_text(demo_entries[:5], "csv"), "csv", author="ed",
                         source="sheet.csv", progress=lambda d, t: seen.append((d, t)))
    assert (len(report.created), report.approved) == (5, False)
    assert seen[-1] == (5, 5)
    assert store.served_entries() == []
    assert {v.state for v in store.open_changes()} == {"pending"}
    summary = store.audit.query(action="kb.import")[0]
    assert summary.details["source"] == "sheet.csv" and summary.details["created"] == 5


def test_approved_import_needs_an_admin_and_publishes_at_once(store, demo_entries):
    text = export_text(demo_entries[:5], "jsonl")
    with pytest.raises(PermissionDenied):
        import_text(store, text, "jsonl", author="ed", approver="ed")
    assert counts(store) == (0, 0)
    report = import_text(store, text, "jsonl", author="ada", approver="ada")
    assert report.approved and len(store.served_entries()) == 5
    approvals = store.audit.query(action="version.approve")
    assert len(approvals) == 5 and all(a.details["bulk"] for a in approvals)
    again = import_text(store, text, "jsonl", author="ada", approver="ada")
    assert (again.created, again.updated, len(again.unchanged)) == ([], [], 5)


def test_export_of_the_store_imports_into_a_fresh_store_unchanged(store, stores, demo_entries):
    import_text(store, export_text(demo_entries, "jsonl"), "jsonl", author="ada", approver="ada")
    other = stores.new("other")
    other.staff.add("ada", "admin", password="correct-horse-battery")
    for fmt in ("jsonl", "csv"):
        import_text(other, export_text(store.served_entries(), fmt), fmt, author="ada", approver="ada")
        assert other.served_entries() == store.served_entries()


def test_csv_export_refuses_what_it_cannot_represent(demo_entries):
    from dataclasses import replace

    odd = replace(demo_entries[0], questions={"en": ["card | account?"]})
    with pytest.raises(TransferError):
        export_text([odd], "csv")
    assert parse(export_text([odd], "jsonl"), "jsonl") == [odd]
