"""A session on an overloaded server (fake engines, in-memory socket): the customer hears "one
moment, please" and then the answer; every `response.created` has its `response.done`; a refusal
is a typed `server_busy` with `retry_after_ms`, never the client's fault; the event loop stays
free while the detector works."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np

from assistant.responder import SYSTEM_LINES
from tests.assistant.test_session_stream import speak, start, stop
from tests.fakes import FakeSocket, ScriptedTranscriber, fake_services, silence, tone


class SlowTranscriber(ScriptedTranscriber):
    """Takes `delay_s` per call: a transcriber with many kiosks queued ahead of this one."""

    def __init__(self, *script: str, delay_s: float):
        super().__init__(*script)
        self.delay_s = delay_s

    def transcribe(self, audio, **kwargs):
        time.sleep(self.delay_s)
        return super().transcribe(audio, **kwargs)


def responses(sent: list[dict]) -> list[tuple[str, str]]:
    return [(e["type"], e.get("kind", "")) for e in sent if e["type"] in ("response.created", "response.done")]


async def test_a_slow_answer_is_preceded_by_one_moment_please_in_the_customers_language(tmp_path):
    for heard, language in [("how do I report a lost card", "en"), ("银行卡丢了怎么挂失", "zh")]:
        services = fake_services(tmp_path / language, SlowTranscriber(heard, delay_s=2.0),
                                 scheduling={"hold_after_s": 0.3})
        socket = FakeSocket()
        task = await start(services, socket, language=language)
        await speak(socket, np.concatenate([silence(0.3), tone(1.0)]))
        # Slower than the pause: the speculation cannot have the answer ready when the turn ends.
        await speak(socket, silence(6.0), speedup=2.0)
        await socket.wait_for(lambda sent: sum(e["type"] == "response.done" for e in sent) == 2, timeout=15)
        await stop(socket, task)
        created = [e for e in socket.sent if e["type"] == "response.created"]
        assert [c["kind"] for c in created] == ["hold", "answer"]
        assert created[0]["text"] == SYSTEM_LINES["hold"][language] and created[0]["entry_id"] is None
        assert created[0]["turn_id"] == created[1]["turn_id"]          # one turn, the hold then its answer
        assert responses(socket.sent) == [("response.created", "hold"), ("response.done", ""),
                                          ("response.created", "answer"), ("response.done", "")]
        # The hold is not an answer: only the real one is counted and audited.
        assert services.metrics.registry.get_sample_value(
            "dt_turns_total", {"outcome": "hold", "language": language}) is None
        services.close()


async def test_a_quick_answer_has_no_hold(tmp_path):
    services = fake_services(tmp_path, SlowTranscriber("how do I report a lost card", delay_s=0.0),
                             scheduling={"hold_after_s": 1.5})
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    await speak(socket, np.concatenate([silence(0.3), tone(1.0)]))
    await speak(socket, silence(2.0), speedup=2.0)
    await socket.wait_for("response.done", timeout=10)
    await stop(socket, task)
    assert [c["kind"] for c in socket.sent if c["type"] == "response.created"] == ["answer"]
    services.close()


async def test_a_refused_turn_is_server_busy_with_retry_after_and_the_session_goes_on(tmp_path):
    services = fake_services(tmp_path)
    release = threading.Event()
    blockers = [asyncio.ensure_future(services.inference.run("light", release.wait, 10)) for _ in range(4)]
    await asyncio.sleep(0.05)          # both light threads busy, two more waiting
    services.inference.max_wait_s = 0.01   # ... which is more than this server may make anyone wait
    socket = FakeSocket()
    task = await start(services, socket)
    socket.text({"type": "input_text", "text": "when are you open"})
    await socket.wait_for("error")
    error = next(e for e in socket.sent if e["type"] == "error")
    assert error["code"] == "server_busy" and error["retry_after_ms"] >= 100
    release.set()
    await asyncio.gather(*blockers)
    socket.text({"type": "input_text", "text": "when are you open"})
    await socket.wait_for("response.done", timeout=10)
    assert socket.closed_with is None
    assert not any(e["type"] == "response.created" for e in socket.sent[:socket.sent.index(error)])
    await stop(socket, task)
    services.close()


async def test_the_detector_runs_off_the_event_loop(tmp_path):
    """A VAD that takes 300 ms per frame must not delay a ping on the same connection."""
    services = fake_services(tmp_path)
    slow = services.vad.detector

    class SlowVad:
        def reset_state(self):
            pass

        def process(self, audio):
            time.sleep(0.3)
            return inner.process(audio)

    inner = slow()
    services.vad.detector = lambda: SlowVad()          # type: ignore[method-assign]
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    other = FakeSocket()
    other_task = await start(services, other)
    socket.audio(tone(0.1))
    await asyncio.sleep(0.02)
    started = time.monotonic()
    other.text({"type": "ping", "id": "quick"})
    await other.wait_for("pong")
    assert time.monotonic() - started < 0.2
    await stop(socket, task)
    await stop(other, other_task)
    services.close()
