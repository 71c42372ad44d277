"""A session in which a customer says a card number and a phone number, and types an ID number:
afterwards no store, file, log line or event of the server holds them in clear, and once the
retention purge ran not even the masked question is left, while the audit chain verifies."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import numpy as np

from knowledge.privacy import PURGED
from knowledge.retention import purge
from knowledge.store import KnowledgeStore
from tests.fakes import FakeSocket, ScriptedTranscriber, fake_services, silence, tone

from tests.assistant.test_session_stream import speak, start, stop

CARD, PHONE, ID = "6222021234567890", "13812345678", "370202199001011234"
SAID = f"my card {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]} was swallowed call me on {PHONE}"
TYPED = f"身份证{ID}过期了怎么办"
SECRETS = (CARD, PHONE, ID, CARD[:4] + " " + CARD[4:8] + " " + CARD[8:12])


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


async def test_nothing_personal_is_kept_in_clear_and_the_purge_leaves_a_verifiable_chain(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    services = fake_services(tmp_path, ScriptedTranscriber(SAID))
    services.kb_store = store = KnowledgeStore(services.settings.knowledge_db)
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    await speak(socket, np.concatenate([silence(0.3), tone(1.0)]))
    await speak(socket, silence(1.5), speedup=1.0)
    await socket.wait_for("response.done", timeout=10)
    socket.text({"type": "input_text", "text": TYPED, "language": "zh"})
    await socket.wait_for(lambda sent: sum(e["type"] == "response.done" for e in sent) == 2, timeout=10)
    await stop(socket, task)
    for _ in range(50):   # the audit writes run off the event loop
        if len(store.audit.query(action="answer.served")) == 2:
            break
        await asyncio.sleep(0.05)
    served = store.audit.query(action="answer.served")
    assert [r.text("question") for r in served] == [
        "my card [CARD] was swallowed call me on [PHONE]", "身份证[ID]过期了怎么办"]

    logs = "\n".join(r.getMessage() for r in caplog.records)
    stored = files_under(tmp_path)      # the SQLite file and its WAL, the index, any cache
    assert stored and any(name.endswith("teller.sqlite3") for name in stored)
    for secret in SECRETS:
        assert secret not in logs
        for name, data in stored.items():
            assert secret.encode() not in data, name
    # The transcript goes back to the customer who said it (their own screen), nowhere else.
    final = next(e for e in socket.sent if e["type"] == "transcript.final")
    assert final["text"] == SAID

    report = purge(store.db, older_than_days=0, actor="system")
    assert report.questions == 2
    assert [r.text("question") for r in store.audit.query(action="answer.served")] == [PURGED, PURGED]
    assert store.audit.verify().ok
    with store.db.read() as con:
        assert con.execute("SELECT count(*) FROM kb_audit_text WHERE text IS NOT NULL").fetchone()[0] == 0
    store.close()
    services.close()


def test_text_sent_to_the_tts_route_is_never_kept_on_disk(tmp_path):
    """POST /v1/tts speaks any text; the disk cache (which outlives every retention period) keeps
    only the teller's own answers, so a personal text sent there is synthesised but not stored."""
    from fastapi.testclient import TestClient

    from assistant.app import create_app
    from voices.answer_cache import AnswerCache

    services = fake_services(tmp_path)
    folder = tmp_path / "answer-audio"
    services.speaker.disk = AnswerCache(folder)
    services.speaker.synthesize("Please call us.", "en")          # the teller's own sentence is kept
    kept = files_under(folder)
    assert kept
    with TestClient(create_app(services.settings, services)) as client:
        reply = client.post("/v1/tts", headers={"Origin": "http://testserver"},
                            json={"text": f"Your card {CARD} and phone {PHONE}.", "language": "en"})
    assert reply.status_code == 200, reply.text
    assert files_under(folder) == kept
    services.close()


async def test_the_server_purges_expired_questions_at_start_up(tmp_path, monkeypatch):
    import datetime as dt

    from assistant.app import purge_expired_questions
    from knowledge import retention

    services = fake_services(tmp_path)
    services.kb_store = store = KnowledgeStore(services.settings.knowledge_db)
    rid = store.audit.record_served(question="保险箱能租吗", channel="web", language="zh", kind="handoff",
                                    handoff=True, confidence=0.1)

    class TwoDaysLater(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.now(tz) + dt.timedelta(days=2)

    monkeypatch.setattr(retention, "datetime", TwoDaysLater)
    timer = asyncio.create_task(purge_expired_questions(services, days=1, every_s=3600))
    for _ in range(100):
        if store.audit.find_served(rid).text("question") == PURGED:
            break
        await asyncio.sleep(0.02)
    assert not timer.done()            # it goes on, to purge again a day later
    timer.cancel()
    assert store.audit.find_served(rid).text("question") == PURGED and store.audit.verify().ok
    store.close()
    services.close()
