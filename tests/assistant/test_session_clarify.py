"""Clarifying questions in a session on the in-memory socket (every engine a fake): the question is
a whole response, a tap (`clarify.choose`), a typed or a spoken choice answers it, a bad tap is a
typed error, and a new question moves on. The fake KB's hash embedder is not what the rule's
thresholds were chosen for, so these tests set the group threshold to 0: every unsure question
is asked about (the rule's numbers are tested in test_clarify.py, on the index's real logistic)."""

from __future__ import annotations

import dataclasses

import numpy as np

from assistant.answering import Answerer
from assistant.conversation import Conversation
from tests.assistant.test_session_stream import collapse, speak, start, stop
from tests.fakes import FakeSocket, ScriptedTranscriber, fake_services, silence, tone

UNSURE = "dollars"          # the fake KB has no such entry: every entry scores low
ELSEWHERE = "which wealth products do you sell"   # a clear question about an entry not offered for UNSURE
RESPONSE = ["response.created", "response.audio.delta", "response.done"]


def asking(tmp_path, transcriber=None):
    services = fake_services(tmp_path, transcriber)
    responder = services.responder
    responder.clarify = dataclasses.replace(responder.clarify, group_threshold=0.0)
    return services


def created(socket: FakeSocket) -> list[dict]:
    return [e for e in socket.sent if e["type"] == "response.created"]


async def responses(socket: FakeSocket, n: int) -> None:
    await socket.wait_for(lambda sent: sum(e["type"] == "response.done" for e in sent) >= n, timeout=10)


async def ask_unsure(socket: FakeSocket) -> dict:
    socket.text({"type": "input_text", "text": UNSURE})
    await responses(socket, 1)
    question = created(socket)[-1]
    assert question["kind"] == "clarify" and question["entry_id"] is None and not question["handoff"]
    assert len(question["clarify"]) == 2 and question["related"] == []
    assert question["text"].startswith("Do you mean: 1) ")
    return question


async def test_a_clarifying_question_is_spoken_and_a_tap_answers_it(tmp_path):
    services = asking(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    question = await ask_unsure(socket)
    assert collapse(socket.types()[2:]) == RESPONSE        # a whole response, audio and all
    pick = question["clarify"][1]
    socket.text({"type": "clarify.choose", "entry_id": pick["id"], "event_id": "tap1"})
    await responses(socket, 2)
    answer = created(socket)[-1]
    assert (answer["kind"], answer["entry_id"]) == ("answer", pick["id"])
    assert answer["turn_id"] != question["turn_id"] and answer["clarify"] == []
    assert collapse(socket.types()[2:]) == RESPONSE * 2
    # Settled: the same tap again is refused, with the event's id.
    socket.text({"type": "clarify.choose", "entry_id": pick["id"], "event_id": "tap2"})
    await socket.wait_for("error")
    error = socket.sent[-1]
    assert (error["code"], error["event_id"]) == ("invalid_choice", "tap2")
    assert "no clarifying question" in error["message"]
    await stop(socket, task)
    asked = services.metrics.registry.get_sample_value("dt_clarifications_total", {"outcome": "asked"})
    tapped = services.metrics.registry.get_sample_value("dt_clarifications_total", {"outcome": "tap"})
    assert (asked, tapped) == (1.0, 1.0)
    services.close()


async def test_a_tap_on_an_entry_that_was_not_offered_is_a_typed_error(tmp_path):
    services = asking(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    socket.text({"type": "clarify.choose", "entry_id": "lost-card", "event_id": "early"})
    await socket.wait_for("error")
    assert socket.sent[-1]["code"] == "invalid_choice" and socket.sent[-1]["event_id"] == "early"
    question = await ask_unsure(socket)
    offered = {o["id"] for o in question["clarify"]}
    other = next(e for e in ("lost-card", "opening-hours", "wealth-risk") if e not in offered)
    socket.text({"type": "clarify.choose", "entry_id": other, "event_id": "bad"})
    await socket.wait_for(lambda sent: sum(e["type"] == "error" for e in sent) == 2)
    error = [e for e in socket.sent if e["type"] == "error"][-1]
    assert error == {"type": "error", "code": "invalid_choice", "event_id": "bad",
                     "message": f"{other!r} is not one of the options offered"}
    socket.text({"type": "clarify.choose", "entry_id": 7})
    await socket.wait_for(lambda sent: sum(e["type"] == "error" for e in sent) == 3)
    assert socket.sent[-1]["code"] == "invalid_event"
    # The question is still open: a good tap after bad ones is answered.
    socket.text({"type": "clarify.choose", "entry_id": question["clarify"][0]["id"]})
    await responses(socket, 2)
    assert created(socket)[-1]["entry_id"] == question["clarify"][0]["id"]
    await stop(socket, task)
    services.close()


async def test_a_typed_ordinal_answers_and_a_new_question_moves_on(tmp_path):
    services = asking(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    question = await ask_unsure(socket)
    socket.text({"type": "input_text", "text": "the second one"})
    await responses(socket, 2)
    assert created(socket)[-1]["entry_id"] == question["clarify"][1]["id"]
    await stop(socket, task)
    socket = FakeSocket()    # a new customer (the last one's answer would be the context of "dollars")
    task = await start(services, socket, language="en")
    question = await ask_unsure(socket)
    assert "wealth-risk" not in {o["id"] for o in question["clarify"]}
    socket.text({"type": "input_text", "text": ELSEWHERE})
    await responses(socket, 2)
    assert created(socket)[-1]["entry_id"] == "wealth-risk"
    socket.text({"type": "clarify.choose", "entry_id": question["clarify"][0]["id"]})
    await socket.wait_for("error")
    assert socket.sent[-1]["code"] == "invalid_choice"
    await stop(socket, task)
    services.close()


async def test_a_spoken_choice_answers_the_question(tmp_path):
    services = asking(tmp_path, ScriptedTranscriber(UNSURE, "第二个", language="zh"))
    socket = FakeSocket()
    task = await start(services, socket, language="zh")
    await speak(socket, np.concatenate([tone(0.8), silence(1.5)]))
    await responses(socket, 1)
    question = created(socket)[-1]
    assert question["kind"] == "clarify" and question["text"].startswith("您是想问：①")
    await speak(socket, np.concatenate([tone(0.6), silence(1.5)]))
    await responses(socket, 2)
    finals = [e["text"] for e in socket.sent if e["type"] == "transcript.final"]
    assert finals[-1] == "第二个"
    answer = created(socket)[-1]
    assert (answer["kind"], answer["entry_id"], answer["language"]) == ("answer", question["clarify"][1]["id"], "zh")
    await stop(socket, task)
    services.close()


class RecordingAudit:
    def __init__(self):
        self.records = []

    def record_served(self, **fields):
        self.records.append(fields)
        return "rid"


async def test_the_audit_records_the_options_offered_and_how_they_were_settled(tmp_path):
    services = asking(tmp_path)
    audit = RecordingAudit()
    answerer = Answerer(services.responder, services.inference, services.metrics, audit=audit)
    conversation = Conversation()
    for text in (UNSURE, "the first one", UNSURE, ELSEWHERE):
        answer = await answerer.answer(text, "en", conversation)
        await answerer.served(text, answer, channel="web", conversation=conversation)
    first, chosen, again, moved_on = audit.records
    assert first["kind"] == "clarify" and len(first["offered"]) == 2 and first["entry_id"] is None
    assert "clarification" not in first
    assert chosen["entry_id"] == first["offered"][0] and chosen["clarification"] == "ordinal"
    assert "offered" not in chosen
    assert again["kind"] == "clarify" and "clarification" not in again
    assert moved_on["entry_id"] == "wealth-risk" and moved_on["clarification"] == "new_question"
    services.close()


def test_ask_over_http_returns_the_options_and_takes_one_back(tmp_path):
    """POST /v1/ask: the options come back in `clarify`; sending one's question with the
    conversation id is the choice (a client without `clarify.choose`)."""
    from fastapi.testclient import TestClient

    from assistant.app import create_app

    services = asking(tmp_path)
    with TestClient(create_app(services.settings, services)) as client:
        def ask(text, conversation_id=None):
            reply = client.post("/v1/ask", headers={"Origin": "http://testserver"},
                                json={"text": text, "language": "en", "conversation_id": conversation_id})
            assert reply.status_code == 200, reply.text
            return reply.json()

        question = ask(UNSURE)
        assert question["kind"] == "clarify" and len(question["clarify"]) == 2 and question["entry_id"] is None
        pick = question["clarify"][1]
        chosen = ask(pick["question"], question["conversation_id"])
        assert (chosen["kind"], chosen["entry_id"], chosen["clarify"]) == ("answer", pick["id"], [])
        assert ask(pick["question"])["kind"] != "clarify"    # a new conversation: just a question
    services.close()
