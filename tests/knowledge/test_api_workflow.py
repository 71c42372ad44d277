"""The staff workflow over HTTP: login, draft, review, 409 on a stale write, the live index
follows approvals, import/export, audit, test-a-question, gaps and feedback (store on SQLite and on
PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from knowledge import KnowledgeIndex, dump_jsonl
from knowledge.api import feedback_router, router
from knowledge.sync import IndexFollower, sync
from knowledge.transfer import export_text

PASSWORD = "correct-horse-battery"
NEW = {"id": "safe-deposit-box", "questions": {"en": ["Can I rent a safe deposit box"],
                                               "zh": ["可以租保险箱吗"]},
       "answer": {"en": "Safe deposit boxes are available at the main branch.", "zh": "总行提供保险箱租用服务。"},
       "tags": ["services"]}


@pytest.fixture()
def client(tmp_path, stores, embedder, demo_entries):
    seed = tmp_path / "seed.jsonl"
    dump_jsonl(demo_entries[:6], seed)
    store = stores.new()
    index = KnowledgeIndex(tmp_path / "chroma", embedder)
    sync(store, index, seed_file=seed)
    IndexFollower(store, index).attach()
    for name, role in [("ed", "editor"), ("eve", "editor"), ("rita", "reviewer"), ("ada", "admin")]:
        store.staff.add(name, role, password=PASSWORD)
    app = FastAPI()
    app.include_router(router)
    app.include_router(feedback_router)
    app.state.kb_store, app.state.kb_index = store, index
    app.state.kb_feedback_per_minute = 3
    with TestClient(app) as c:
        yield c


def login(client, name: str) -> dict[str, str]:
    got = client.post("/v1/kb/login", json={"name": name, "password": PASSWORD})
    assert got.status_code == 200, got.text
    assert got.json()["role"] and got.json()["token"].startswith("dts_")
    return {"Authorization": f"Bearer {got.json()['token']}"}


def test_draft_review_and_the_served_index_follows(client):
    ed, eve, rita = login(client, "ed"), login(client, "eve"), login(client, "rita")
    created = client.post("/v1/kb/entries", json={"entry": NEW}, headers=ed)
    assert created.status_code == 201 and created.json()["state"] == "draft"
    asked = client.post("/v1/kb/test", json={"question": "rent a safe deposit box"}, headers=ed).json()
    assert NEW["id"] not in [c["entry_id"] for c in asked["candidates"]]  # drafts are never served

    assert client.post(f"/v1/kb/entries/{NEW['id']}/versions/1/submit", headers=ed).json()["state"] == "pending"
    assert client.post(f"/v1/kb/entries/{NEW['id']}/versions/1/approve", json={}, headers=ed).status_code == 403
    approved = client.post(f"/v1/kb/entries/{NEW['id']}/versions/1/approve", json={"comment": "ok"}, headers=rita)
    assert approved.status_code == 200 and approved.json()["reviewer"] == "rita"
    asked = client.post("/v1/kb/test", json={"question": "rent a safe deposit box"}, headers=ed).json()
    assert asked["candidates"][0]["entry_id"] == NEW["id"] and asked["candidates"][0]["version"] == 1

    # two editors from the same base: the second write is refused with 409
    first = {**NEW, "answer": {**NEW["answer"], "en": "Boxes are at the main branch only."}}
    second = {**NEW, "answer": {**NEW["answer"], "en": "Boxes come in three sizes."}}
    assert client.put(f"/v1/kb/entries/{NEW['id']}", json={"entry": first, "base_version": 1},
                      headers=ed).status_code == 200
    stale = client.put(f"/v1/kb/entries/{NEW['id']}", json={"entry": second, "base_version": 1}, headers=eve)
    assert stale.status_code == 409 and "version 2" in stale.json()["detail"]
    bad = client.put(f"/v1/kb/entries/{NEW['id']}", json={"entry": {**NEW, "tags": ["Bad Tag"]},
                                                            "base_version": 2}, headers=ed)
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "tags[0]"

    history = client.get(f"/v1/kb/entries/{NEW['id']}/history", headers=ed).json()
    assert [(v["version"], v["state"]) for v in history] == [(1, "approved"), (2, "draft")]
    drafts = client.get("/v1/kb/drafts", headers=ed).json()
    assert [(d["entry_id"], d["version"]) for d in drafts] == [(NEW["id"], 2)]

    deleted = client.delete(f"/v1/kb/entries/{NEW['id']}?base_version=2", headers=eve)
    assert deleted.status_code == 200 and deleted.json()["kind"] == "delete"
    client.post(f"/v1/kb/entries/{NEW['id']}/versions/3/approve", json={"comment": "withdrawn"}, headers=rita)
    asked = client.post("/v1/kb/test", json={"question": "rent a safe deposit box"}, headers=ed).json()
    assert NEW["id"] not in [c["entry_id"] for c in asked["candidates"]]
    rolled = client.post(f"/v1/kb/entries/{NEW['id']}/rollback", json={"to_version": 1, "base_version": 3},
                         headers=eve)
    assert rolled.json()["state"] == "pending" and rolled.json()["rollback_of"] == 1
    entry = client.get(f"/v1/kb/entries/{NEW['id']}", headers=ed).json()
    assert (entry["status"], entry["served_version"], entry["head_version"]) == ("pending", None, 4)


def test_import_export_and_audit_over_http(client, demo_entries):
    ed, ada, rita = login(client, "ed"), login(client, "ada"), login(client, "rita")
    lines = export_text(demo_entries[10:14], "jsonl").splitlines()
    lines[2] = lines[2].replace('"answer"', '"answers"')
    refused = client.post("/v1/kb/import", json={"content": "\n".join(lines), "source": "x.jsonl"}, headers=ada)
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json()["detail"]["errors"]] == [(3, "answers")]
    assert len(client.get("/v1/kb/entries", headers=ed).json()) == 6
    csv_text = export_text(demo_entries[10:14], "csv")
    assert client.post("/v1/kb/import", json={"format": "csv", "content": csv_text, "approve": True},
                       headers=ed).status_code == 403
    done = client.post("/v1/kb/import", json={"format": "csv", "content": csv_text, "approve": True}, headers=ada)
    assert done.status_code == 200 and len(done.json()["created"]) == 4 and done.json()["approved"]
    exported = client.get("/v1/kb/export?format=jsonl", headers=ed)
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    assert len(exported.text.splitlines()) == 10
    trail = client.get("/v1/kb/audit?action=kb.", headers=rita).json()
    assert [r["action"] for r in trail] == ["kb.seed", "kb.import"]
    assert client.get("/v1/kb/audit/verify", headers=ada).json()["ok"] is True


def test_gaps_report_groups_handoffs_and_feedback_is_rate_limited(client):
    store = client.app.state.kb_store
    for text in ("能开保险箱吗？", "能开保险箱吗", "能开 保险箱吗!"):
        store.audit.record_served(question=text, channel="web", language="zh", kind="handoff", handoff=True,
                                  confidence=0.31, candidates=[("open-account", 0.31)])
    rid = store.audit.record_served(question="I lost my card", channel="web", language="en", kind="answer",
                                    handoff=False, confidence=0.93, entry_id="open-account", entry_version=1)
    assert client.post("/v1/feedback", json={"response_id": rid, "helpful": False}).status_code == 201
    assert client.post("/v1/feedback", json={"response_id": "nope", "helpful": True}).status_code == 404
    assert client.post("/v1/feedback", json={"helpful": True}).status_code == 422
    assert client.post("/v1/feedback", json={"question": "x", "helpful": True}).status_code == 429
    report = client.get("/v1/kb/gaps", headers=login(client, "ed")).json()
    top = report["questions"][0]
    assert (top["asked"], top["handoffs"], top["candidates"]) == (3, 3, {"open-account": 3})
    assert any(q["example"] == "I lost my card" and q["not_helpful"] == 1 for q in report["questions"])
    assert report["entries"] == [{"entry_id": "open-account", "helpful": 0, "not_helpful": 1}]


def test_openapi_documents_the_routes_and_bearer_auth(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/kb/login", "/v1/kb/entries", "/v1/kb/entries/{entry_id}/versions/{version}/approve",
            "/v1/kb/import", "/v1/kb/audit", "/v1/kb/test", "/v1/kb/gaps", "/v1/feedback"} <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_logout_revokes_the_token(client):
    ed = login(client, "ed")
    assert client.post("/v1/kb/logout", headers=ed).status_code == 204
    assert client.get("/v1/kb/me", headers=ed).status_code == 401


def test_integers_past_a_database_column_are_refused_not_a_server_error(client):
    """Schemathesis found it: `after_seq=2**63` reached SQLite and raised OverflowError (a 500)."""
    rita = login(client, "rita")
    huge = 2 ** 63
    for url in (f"/v1/kb/audit?after_seq={huge}", f"/v1/kb/entries?offset={huge}"):
        assert client.get(url, headers=rita).status_code == 422, url
    assert client.get(f"/v1/kb/audit?after_seq={huge - 1}", headers=rita).json() == []
