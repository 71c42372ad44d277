"""Faults inside a session (issue 13): a recogniser that fails gives the turn an error event and
the session goes on to answer the next turn. (A failing voice: test_session_stream.py,
`test_a_synthesis_failure_gives_a_text_only_answer_flagged_degraded`.)"""

from __future__ import annotations

import numpy as np

from tests.assistant.test_session_stream import speak, start, stop
from tests.fakes import FakeSocket, ScriptedTranscriber, fake_services, silence, tone


class BrokenRecogniser(ScriptedTranscriber):
    """Raises while `broken` (the model crashed, ran out of memory...), then hears normally."""

    broken = True

    def transcribe(self, audio, *, language=None, prompt=None):
        if self.broken:
            raise RuntimeError("the recogniser crashed")
        return super().transcribe(audio, language=language, prompt=prompt)


async def say(socket: FakeSocket) -> None:
    await speak(socket, np.concatenate([silence(0.3), tone(1.0)]))
    await speak(socket, silence(1.5), speedup=1.0)


async def test_an_asr_failure_is_an_error_event_and_the_next_turn_is_answered(tmp_path):
    recogniser = BrokenRecogniser("I lost my bank card")
    services = fake_services(tmp_path, recogniser)
    socket = FakeSocket()
    task = await start(services, socket, language="en")
    await say(socket)
    await socket.wait_for("error", timeout=10)
    error = next(e for e in socket.sent if e["type"] == "error")
    assert error["code"] == "internal_error"
    assert "response.created" not in socket.types() and "transcript.final" not in socket.types()
    recogniser.broken = False
    await say(socket)
    await socket.wait_for("response.done", timeout=10)
    assert socket.closed_with is None
    created = next(e for e in socket.sent if e["type"] == "response.created")
    final = next(e for e in socket.sent if e["type"] == "transcript.final")
    assert final["text"] == "I lost my bank card" and created["entry_id"]
    await stop(socket, task)
    # Not the customer's fault: it never counts toward the budget that closes a session.
    assert socket.closed_with is None or socket.closed_with[0] != 1008
    services.close()
