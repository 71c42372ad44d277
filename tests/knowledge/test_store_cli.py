"""`kb import|export|reindex`, `staff add|list`, `audit verify` through assistant.cli_kb."""

from __future__ import annotations


import pytest

from assistant.cli import main
from knowledge import dump_jsonl, load_jsonl
from knowledge.transfer import export_text


def run(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture()
def data_store(tmp_path, stores, monkeypatch):
    """The data folder the CLI is pointed at, and a store on the database it will use."""
    if stores.backend == "sqlite":
        monkeypatch.delenv("DT_DATABASE_URL", raising=False)
        target = tmp_path / "data" / "teller.sqlite3"
    else:
        target = stores.target()
        monkeypatch.setenv("DT_DATABASE_URL", str(target))
    return str(tmp_path / "data"), stores.open(target)


def test_staff_import_export_and_verify(data_store, tmp_path, capsys, stores, demo_entries):
    data, store = data_store
    assert run("staff", "add", "ada", "--role", "admin", "--api-key", "--data-dir", data) == 0
    out = capsys.readouterr().out.splitlines()
    password, api_key = out[1], out[3]
    assert store.staff.login("ada", password).staff.name == "ada"
    assert store.staff.authenticate(api_key).name == "ada"
    assert run("staff", "add", "ed", "--role", "editor", "--data-dir", data) == 0
    assert run("staff", "add", "ed", "--role", "editor", "--data-dir", data) == 2
    assert run("staff", "list", "--data-dir", data) == 0
    assert "ada\tadmin\tactive" in capsys.readouterr().out

    sheet = tmp_path / "kb.csv"
    sheet.write_text(export_text(demo_entries[:8], "csv"), encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(export_text(demo_entries[:3], "jsonl").replace('"tags": ["demo"', '"tags": ["Demo"', 1))
    assert run("kb", "import", str(bad), "--data-dir", data, "--quiet") == 2
    err = capsys.readouterr().err
    assert "bad.jsonl: line 1 entry 'open-account': field 'tags[0]'" in err and "nothing was imported" in err
    assert store.is_empty()
    assert run("kb", "import", str(sheet), "--approve", "--data-dir", data) == 2  # --approve needs --as
    assert run("kb", "import", str(sheet), "--approve", "--as", "ed", "--data-dir", data, "--quiet") == 2
    assert store.is_empty()
    assert run("kb", "import", str(sheet), "--as", "ed", "--data-dir", data, "--quiet") == 0
    assert "8 created, 0 updated (waiting for review)" in capsys.readouterr().out
    assert store.served_entries() == []
    assert run("kb", "import", str(sheet), "--approve", "--as", "ada", "--data-dir", data, "--quiet") == 0
    assert len(store.served_entries()) == 8

    out_file = tmp_path / "out.jsonl"
    assert run("kb", "export", str(out_file), "--data-dir", data) == 0
    assert [e.id for e in load_jsonl(out_file)] == sorted(e.id for e in demo_entries[:8])

    assert run("audit", "verify", "--data-dir", data) == 0
    assert "audit chain intact" in capsys.readouterr().out
    con = stores.raw(store)
    stores.drop_audit_guard(con)
    con.execute("UPDATE kb_audit SET actor = 'someone-else' WHERE action = 'kb.import'")
    con.close()
    assert run("audit", "verify", "--data-dir", data) == 1
    assert "BROKEN at record" in capsys.readouterr().err


@pytest.mark.slow  # loads a real model in its body
def test_reindex_seeds_an_empty_store_and_rebuilds(data_store, tmp_path, capsys, monkeypatch, demo_entries):
    seed = tmp_path / "seed.jsonl"
    dump_jsonl(demo_entries[:3], seed)
    monkeypatch.setenv("DT_KNOWLEDGE_FILE", str(seed))
    data, store = data_store
    assert run("kb", "reindex", "--data-dir", data) == 0
    out = capsys.readouterr().out
    assert "3 entries" in out and "(3 seeded)" in out
    assert len(store.served_entries()) == 3
    assert run("kb", "reindex", "--data-dir", data) == 0
    out = capsys.readouterr().out
    assert "3 entries" in out and "seeded" not in out


@pytest.mark.parametrize("argv", [["kb"], ["audit"]])
def test_subcommand_is_required(argv):
    with pytest.raises(SystemExit):
        run(*argv)


def test_audit_purge_keeps_the_chain_verifiable(data_store, capsys, monkeypatch):
    data, store = data_store
    rid = store.audit.record_served(question="保险箱能租吗", channel="web", language="zh", kind="handoff",
                                    handoff=True, confidence=0.1)
    assert run("audit", "purge", "--data-dir", data) == 0          # within the 90-day default: kept
    assert "0 served answers" in capsys.readouterr().out
    assert store.audit.find_served(rid).text("question") == "保险箱能租吗"
    assert run("audit", "purge", "--older-than", "-1", "--data-dir", data) == 2
    assert "number of days >= 0" in capsys.readouterr().err
    monkeypatch.setenv("DT_PRIVACY__QUESTION_RETENTION_DAYS", "0")
    assert run("audit", "purge", "--data-dir", data) == 0          # 0 = kept forever
    assert "nothing purged" in capsys.readouterr().out
    assert run("audit", "purge", "--older-than", "0", "--data-dir", data) == 0
    assert "1 served answers" in capsys.readouterr().out
    assert store.audit.find_served(rid).text("question") == "[purged]"
    assert run("audit", "verify", "--data-dir", data) == 0
    assert store.audit.query(action="audit.purge")[0].actor.startswith("cli:")
