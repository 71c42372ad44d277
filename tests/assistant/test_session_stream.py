"""The Session on an in-memory socket (tests/fakes.FakeSocket), every engine a fake: the order of
events, a slow socket, barge-in, failures and the error budget, in milliseconds.

The same session over a real loopback socket is in test_session_fast.py; on the real models, in
test_session_e2e.py (slow).
"""

from __future__ import annotations

import ast
import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from assistant import protocol as p
from assistant.services import ServerBusy
from assistant.session import MAX_ERRORS, Session
from tests.fakes import RATE, FakeSocket, ScriptedTranscriber, fake_services, silence, tone

VOICE_TURN_ORDER = ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                    "input_audio_buffer.committed", "transcript.final", "response.created",
                    "response.audio.delta", "response.done"]


def collapse(kinds: list[str]) -> list[str]:
    return [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]


async def start(services, socket: FakeSocket, **config) -> asyncio.Task:
    task = asyncio.create_task(Session(socket, services, "test").run())
    await socket.wait_for("session.created")
    if config:
        socket.text({"type": "session.update", "session": {"input_sample_rate": RATE, **config}})
        await socket.wait_for("session.updated")
    return task


async def speak(socket: FakeSocket, audio: np.ndarray, *, speedup: float = 10.0) -> None:
    """20 ms frames at `speedup` × real time (the session's tasks run in between, as on a wire)."""
    step = RATE // 50
    for i in range(0, len(audio), step):
        socket.audio(audio[i:i + step])
        await asyncio.sleep(0.02 / speedup)


async def stop(socket: FakeSocket, task: asyncio.Task) -> None:
    socket.disconnect()
    await asyncio.wait_for(task, 5)


def endpointing_sum(services) -> float:
    return services.metrics.registry.get_sample_value("dt_stage_seconds_sum", {"stage": "endpointing"}) or 0.0


@pytest.mark.parametrize("send_delay_s", [0.0, 0.02])
@pytest.mark.parametrize("heard,early", [("how do I report a lost card", True),   # complete, confident
                                         ("I lost my bank card", False)])          # waits for max silence
async def test_a_voice_turn_keeps_the_documented_order_even_on_a_slow_socket(tmp_path, send_delay_s, heard, early):
    services = fake_services(tmp_path, ScriptedTranscriber(heard))
    socket = FakeSocket(send_delay_s=send_delay_s)
    task = await start(services, socket, language="en")
    await speak(socket, np.concatenate([silence(0.3), tone(1.0)]))
    # The pause in real time: the speculation has the 0.84 s a live one has before the silence
    # runs out, however busy the machine (at 10x it would have 84 ms).
    await speak(socket, silence(1.5), speedup=1.0)
    await socket.wait_for("response.done", timeout=10)
    await stop(socket, task)
    kinds = collapse([t for t in socket.types() if t != "transcript.partial"])
    assert kinds[2:] == VOICE_TURN_ORDER, kinds
    assert socket.sent[-1]["interrupted"] is False
    final = next(e for e in socket.sent if e["type"] == "transcript.final")
    assert final["text"] == heard
    # The early commit (the speculation's own task ends the turn) and the silence timeout are
    # both taken, and neither reorders the events.
    assert (endpointing_sum(services) < 0.6) is early
    services.close()


async def test_a_typed_question_is_answered_in_both_languages(tmp_path):
    services = fake_services(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket)
    for text, entry, language in [("营业时间是什么", "opening-hours", "zh"), ("how do I report a lost card", "lost-card", "en")]:
        before = len(socket.sent)
        socket.text({"type": "input_text", "text": text})
        await socket.wait_for(lambda sent: sum(e["type"] == "response.done" for e in sent[before:]) == 1)
        events = socket.sent[before:]
        assert collapse([e["type"] for e in events]) == ["response.created", "response.audio.delta", "response.done"]
        assert events[0]["entry_id"] == entry and events[0]["language"] == language
        assert all(set(r) == {"id", "question"} for r in events[0]["related"])
    await stop(socket, task)
    services.close()


async def test_speech_during_an_answer_interrupts_it(tmp_path):
    services = fake_services(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    socket.text({"type": "input_text", "text": "when are you open"})
    await socket.wait_for("response.audio.delta")
    await speak(socket, np.concatenate([tone(0.8), silence(1.5)]))
    await socket.wait_for(lambda sent: sum(e["type"] == "response.done" for e in sent) == 2, timeout=10)
    await stop(socket, task)
    done = [e for e in socket.sent if e["type"] == "response.done"]
    assert done[0]["interrupted"] is True and done[1]["interrupted"] is False
    kinds = socket.types()
    assert kinds.index("input_audio_buffer.speech_started") < kinds.index("response.done")
    services.close()


async def test_a_newer_typed_turn_supersedes_and_each_response_is_finished(tmp_path):
    services = fake_services(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket)
    for text in ["when are you open", "I lost my bank card", "which wealth products do you sell"]:
        socket.text({"type": "input_text", "text": text})
        await asyncio.sleep(0.01)
    await socket.wait_for(lambda sent: any(e["type"] == "response.done" and not e["interrupted"] for e in sent), 10)
    await asyncio.sleep(0.2)
    await stop(socket, task)
    created = [e["response_id"] for e in socket.sent if e["type"] == "response.created"]
    done = [e["response_id"] for e in socket.sent if e["type"] == "response.done"]
    assert created == done                      # never a response.created without its response.done
    last = [e for e in socket.sent if e["type"] == "response.created"][-1]
    assert last["entry_id"] == "wealth-risk"
    services.close()


class FailingVoice:
    """Speaks the first `speaks` sentences, then fails (a TTS engine that breaks mid-answer)."""

    def __init__(self, inner, *, busy: bool, speaks: int = 1):
        self.inner, self.busy, self.speaks, self.calls = inner, busy, speaks, 0
        self.sample_rate = inner.sample_rate

    def synthesize(self, text):
        self.calls += 1
        if self.calls > self.speaks:
            raise ServerBusy("tts is full") if self.busy else RuntimeError("voice broke")
        yield from self.inner.synthesize(text)


@pytest.mark.parametrize("speaks", [1, 0])
@pytest.mark.parametrize("busy,cause", [(True, "busy"), (False, "failed")])
async def test_a_synthesis_failure_gives_a_text_only_answer_flagged_degraded(tmp_path, busy, cause, speaks):
    """Issue 13: the voice fails after the first sentence (or before any audio); the answer still
    reaches the customer as the text of response.created, its response.done says `degraded`, no
    error follows (a server fault is not the client's), and the session goes on."""
    services = fake_services(tmp_path)
    services.speaker.engines["en"] = FailingVoice(services.speaker.engines["en"], busy=busy, speaks=speaks)
    socket = FakeSocket()
    task = await start(services, socket)
    # The wealth answer has a disclosure: two sentences, the second one fails.
    socket.text({"type": "input_text", "text": "which wealth products do you sell", "language": "en"})
    await socket.wait_for("response.done", timeout=10)
    socket.text({"type": "ping", "id": "still-there"})
    await socket.wait_for("pong")
    await stop(socket, task)
    kinds = collapse(socket.types())
    spoken = ["response.audio.delta"] if speaks else []
    assert kinds[kinds.index("response.created"):] == ["response.created", *spoken, "response.done", "pong"]
    created = next(e for e in socket.sent if e["type"] == "response.created")
    done = next(e for e in socket.sent if e["type"] == "response.done")
    assert created["text"] == "We offer several wealth products." and created["disclosure"]
    assert done["degraded"] is True and done["interrupted"] is False and (done["audio_ms"] > 0) is bool(speaks)
    assert services.metrics.registry.get_sample_value("dt_degraded_responses_total", {"cause": cause}) == 1
    services.close()


async def test_server_busy_is_not_the_clients_fault(tmp_path):
    """A busy server answers every question with `server_busy`, and never closes the session for it."""
    services = fake_services(tmp_path)

    async def busy(*args, **kwargs):
        raise ServerBusy("too many turns waiting for the CPU")

    services.inference.run = busy                 # type: ignore[method-assign]
    services.answerer._inference = services.inference
    socket = FakeSocket()
    task = await start(services, socket)
    for i in range(MAX_ERRORS + 5):
        socket.text({"type": "input_text", "text": f"when are you open {i}"})
        await socket.wait_for(lambda sent, n=i + 1: sum(e["type"] == "error" for e in sent) == n)
    assert socket.closed_with is None
    assert {e["code"] for e in socket.sent if e["type"] == "error"} == {"server_busy"}
    await stop(socket, task)
    services.close()


async def test_malformed_messages_are_typed_errors_and_the_session_goes_on(tmp_path):
    services = fake_services(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket)
    frames = ["[" * 10_000 + "]" * 10_000,                           # nesting past the parser's recursion
              '{"type": "ping", "id": ' + "9" * 5000 + "}",         # an integer past the digit limit
              '{"type": "ping", "id": "\\ud800"}',                  # a lone surrogate, echoed back
              '{"type": "no.such", "event_id": "\\udfff"}']         # ... and in an error's event_id
    for frame in frames:
        socket.text(frame)
    await socket.wait_for(lambda sent: len(sent) >= 1 + len(frames))
    socket.text({"type": "ping", "id": 1})
    await socket.wait_for("pong")
    await stop(socket, task)
    replies = socket.sent[1:]
    assert [e["type"] for e in replies] == ["error", "error", "pong", "error", "pong"]
    assert [e.get("code") for e in replies[:2]] == ["invalid_json", "invalid_json"]
    assert replies[2]["id"] == "\ud800" and replies[3]["event_id"] == "\udfff"
    assert socket.closed_with is None
    services.close()


async def test_too_many_invalid_messages_close_the_session_with_1008(tmp_path):
    services = fake_services(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket)
    for _ in range(MAX_ERRORS + 1):
        socket.text("not json")
    await asyncio.wait_for(task, 5)
    assert socket.closed_with == (1008, "too many invalid messages")
    services.close()


async def test_the_session_config_is_typed_and_announced(tmp_path):
    services = fake_services(tmp_path)
    socket = FakeSocket()
    task = await start(services, socket, language="zh", viseme_format="azure", turn_detection="push_to_talk")
    created, updated = socket.sent[0], socket.sent[1]
    assert set(created["session"]) == set(p.SessionConfig.model_fields)
    assert set(created["limits"]) == {"max_frame_bytes", "max_utterance_s", "max_text_chars", "idle_timeout_s",
                                      "max_session_s"}
    assert updated["session"] == {"language": "zh", "input_sample_rate": RATE, "voice": None,
                                  "viseme_format": "azure", "turn_detection": "push_to_talk"}
    json.dumps(updated)
    await stop(socket, task)
    services.close()


# ---------------------------------------------------------------- the shape of the code

ASSISTANT = Path(__file__).resolve().parents[2] / "assistant"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.add(node.module or "")
            names.update(a.name for a in node.names if node.module is None)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assistant."):
            names.add(node.module.split(".", 1)[1])
    return names


def test_only_the_session_sends_and_no_stage_reaches_back_into_it():
    senders, importers = [], []
    for path in sorted(ASSISTANT.glob("*.py")):
        source = path.read_text()
        if any(call in source for call in (".send_text(", ".send_bytes(", ".send_json(")):
            senders.append(path.name)
        if "session" in _imports(path):
            importers.append(path.name)
    # `Session.send` is the one way out: it writes through the session's link (resume.py), which
    # also sends a resumed connection's catch-up and a refused resume's error. No stage writes.
    assert senders == ["resume.py"]
    assert importers == ["app.py"]      # the app makes one per connection; nothing else knows it


async def test_audio_faster_than_twice_real_time_is_refused_frame_by_frame(tmp_path):
    services = fake_services(tmp_path, limits={"max_audio_rate": 2.0, "audio_burst_s": 1.0})
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    for _ in range(250):                        # 5 s of audio at once: the first 1 s is the head start
        socket.audio(silence(0.02))
    socket.text({"type": "ping", "id": "after"})
    await socket.wait_for("pong")
    await stop(socket, task)
    errors = [e for e in socket.sent if e["type"] == "error"]
    assert errors and {e["code"] for e in errors} == {"audio_too_fast"}
    # About 4 s of it is refused (less by what the bucket refills while the frames are read; the
    # exact accounting is tested on a fake clock below).
    assert 100 <= len(errors) <= 201, len(errors)
    assert socket.closed_with is None           # throttled, not held against the client
    services.close()


def test_the_pace_allows_real_time_and_a_burst_but_saves_up_no_more():
    from assistant.audio import AudioPace

    now = [0.0]
    pace = AudioPace(2.0, 3.0, clock=lambda: now[0])
    assert all(pace.admit(0.02) for _ in range(150))       # 3 s at once: the burst
    assert not pace.admit(0.02)
    for _ in range(500):                                   # then 10 s in real time, never refused
        now[0] += 0.02
        assert pace.admit(0.02)
    now[0] += 60.0                                         # a minute of silence saves up only the burst
    assert all(pace.admit(0.02) for _ in range(150))
    assert not pace.admit(0.02)
    now[0] += 0.5                                          # then 2x real time: 1 s of audio per 0.5 s
    assert pace.admit(1.0) and not pace.admit(0.02)


async def test_a_knowledge_update_holding_the_index_never_stalls_the_event_loop(tmp_path):
    """An approval embeds its new version under the index's lock. If it starts right after a
    question's retrieval, the rest of the answer (which reads the index for follow-ups) waits
    for it on a worker thread, while the session (and every other) goes on."""
    import threading
    import time

    services = fake_services(tmp_path)
    held, release = threading.Event(), threading.Event()

    def long_update():
        with services.index._lock:          # what KnowledgeIndex.upsert does while it embeds
            held.set()
            release.wait(3)

    retrieve = services.responder.retrieve

    def retrieve_then_an_update_starts(*args, **kwargs):
        found = retrieve(*args, **kwargs)
        threading.Thread(target=long_update, daemon=True).start()
        held.wait(3)
        return found

    services.responder.retrieve = retrieve_then_an_update_starts   # type: ignore[method-assign]
    socket = FakeSocket()
    task = await start(services, socket)
    socket.text({"type": "input_text", "text": "when are you open"})
    while not held.is_set():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    socket.text({"type": "ping", "id": "loop"})
    await socket.wait_for("pong", timeout=5)
    assert time.perf_counter() - started < 0.5          # the loop answered while the index was held
    assert "response.created" not in socket.types()
    release.set()
    await socket.wait_for("response.done", timeout=10)
    await stop(socket, task)
    services.close()


class FixedTurnEnd:
    """A turn-end model that always gives the same probability that the customer is done."""

    def __init__(self, finished: float):
        self.finished, self.calls = finished, 0

    def probability(self, audio: np.ndarray) -> float:
        self.calls += 1
        return self.finished


@pytest.mark.parametrize("finished,early", [(0.9, True), (0.01, False)])
async def test_the_turn_end_model_can_hold_an_early_commit(tmp_path, finished, early):
    # A complete, confident transcript: the early commit happens only while the turn-end model
    # is not sure the customer is still mid-sentence (endpointing.unfinished_below, 0.05).
    services = fake_services(tmp_path, ScriptedTranscriber("how do I report a lost card"))
    services.turn_end = model = FixedTurnEnd(finished)
    services.__post_init__()   # the answerer is built with the services' engines
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    await speak(socket, np.concatenate([silence(0.3), tone(1.0)]))
    await speak(socket, silence(1.5), speedup=1.0)
    await socket.wait_for("response.done", timeout=10)
    await stop(socket, task)
    assert model.calls >= 1
    assert (endpointing_sum(services) < 0.6) is early
    services.close()


@pytest.mark.parametrize("rival,early", [(0.3, True), (0.69, True), (0.7, False), (0.75, False)])
async def test_a_second_confident_entry_holds_an_early_commit(tmp_path, rival, early):
    # "How do I pay…" matched utility-payment 0.87 and credit-card-repayment 0.73: two confident
    # readings mean the words so far do not say which, so the turn waits for more (or the maximum).
    from dataclasses import replace

    from assistant.answering import Speculation
    from assistant.asr import Transcript
    from assistant.responder import Answer

    services = fake_services(tmp_path)
    heard = Transcript(text="How do I pay?", language="en", language_probability=1.0, duration_s=1.0)
    answer = Answer(text="…", language="en", kind="answer", handoff=False, confidence=0.87,
                    entry_id="utility-payment", candidates=(("utility-payment", 0.87), ("credit-card-repayment", rival)))

    async def ready():
        return heard, answer

    speculation = Speculation(asyncio.get_running_loop().create_task(ready()))
    await speculation.task
    assert services.answerer.settles_turn(speculation, confident=0.7) is early
    # The same answer with no rival commits; a hand-off never does.
    alone = replace(answer, candidates=(("utility-payment", 0.87),))
    speculation = Speculation(asyncio.get_running_loop().create_task(asyncio.sleep(0, (heard, alone))))
    await speculation.task
    assert services.answerer.settles_turn(speculation, confident=0.7)
    services.close()
