"""The knowledge store wired into the running server: reviewed changes reach customers, answers are audited."""

from __future__ import annotations

import asyncio

import httpx
from teller_client import ask_typed


def login(server, store, name, role):
    _, password = store.staff.add(name, role)
    r = httpx.post(f"{server.http}/v1/kb/login", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_an_approved_edit_is_what_the_customer_hears_next(server, services):
    store = services.kb_store
    editor = login(server, store, "editor-li", "editor")
    reviewer = login(server, store, "reviewer-wang", "reviewer")
    kb = f"{server.http}/v1/kb"

    current = httpx.get(f"{kb}/entries/coin-exchange", headers=editor).json()
    entry = current["head"]["entry"]
    entry["answer"]["en"] = "Coins and damaged notes can be exchanged at any branch counter on weekdays."
    r = httpx.put(f"{kb}/entries/coin-exchange", headers=editor,
                  json={"entry": entry, "base_version": current["head_version"], "submit": True})
    assert r.status_code == 200, r.text
    version = r.json()["version"]

    # not served before review, and the editor cannot approve their own change
    before = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "Can I exchange notes for coins?"}).json()
    assert before["entry_id"] == "coin-exchange" and "weekdays" not in before["text"]
    own = httpx.post(f"{kb}/entries/coin-exchange/versions/{version}/approve", headers=editor, json={})
    assert own.status_code == 403

    ok = httpx.post(f"{kb}/entries/coin-exchange/versions/{version}/approve", headers=reviewer,
                    json={"comment": "checked with branch operations"})
    assert ok.status_code == 200, ok.text
    after = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "Can I exchange notes for coins?"}).json()
    assert after["entry_id"] == "coin-exchange" and "weekdays" in after["text"]
    assert after["entry_version"] == version

    # a stale second edit from the old base is refused
    stale = httpx.put(f"{kb}/entries/coin-exchange", headers=editor,
                      json={"entry": entry, "base_version": current["head_version"], "submit": True})
    assert stale.status_code == 409


async def test_served_answers_are_audited_with_entry_version_and_channel(server, services):
    created = (await ask_typed(server.ws, "Is there an annual fee for my card?", language="en")).first(
        "response.created")
    audit = services.kb_store.audit
    record = None
    for _ in range(50):  # the audit write runs off the event loop; give it a moment
        record = audit.find_served(created["response_id"])
        if record:
            break
        await asyncio.sleep(0.05)
    assert record is not None
    assert record.details["entry_id"] == created["entry_id"] == "card-annual-fee"
    assert record.actor == "web" and record.details["entry_version"] >= 1

    ask = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "给我讲个笑话"}).json()
    served = audit.find_served(ask["response_id"])
    assert served.details["handoff"] is True and served.actor == "ask:web"   # the route, then who asked
    assert audit.verify().ok


def test_kiosk_and_anonymous_callers_cannot_use_the_staff_api(server, settings):
    from assistant.kiosks import KioskRegistry
    from knowledge.db import open_database

    token = KioskRegistry(open_database(settings.knowledge_db)).add("kb-probe-kiosk")
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        assert httpx.get(f"{server.http}/v1/kb/entries", headers=headers).status_code == 401
