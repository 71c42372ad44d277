"""The session's state machine on fakes (tests/fakes.py): no model is loaded, each test takes
well under a second. The same behaviour on the real models is in test_session_e2e.py (slow).

The server is real (uvicorn on a loopback socket), and so are the protocol, the endpointing,
the answerer, Chroma and the playback; the transcriber, VAD, embedder and voices are fakes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant import protocol as p
from tests.conftest import RunningServer
from tests.fakes import ScriptedTranscriber, fake_services, silence, tone
from tests.teller_client import TellerClient

VOICE_TURN_ORDER = ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                    "input_audio_buffer.committed", "transcript.final", "response.created",
                    "response.audio.delta", "response.done"]


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    from assistant.app import create_app

    transcriber = ScriptedTranscriber("I lost my bank card")
    services = fake_services(tmp_path_factory.mktemp("fake"), transcriber,
                             allowed_origins=["http://localhost:8000"])
    with RunningServer(create_app(services.settings, services),
                       ws_max_size=4 * services.settings.limits.max_frame_bytes) as server:
        server.transcriber, server.services = transcriber, services
        yield server
    services.close()


def collapse(kinds: list[str]) -> list[str]:
    """Runs of the same event type as one (audio deltas, partials)."""
    return [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]


async def test_a_voice_turn_follows_the_documented_order(fake):
    client = await TellerClient.connect(f"ws://127.0.0.1:{fake.port}/v1/session")
    await client.configure(language="en")
    ex = await client.ask_by_voice(tone(1.0), pace=20.0, silence_s=5.0)
    await client.close()
    kinds = collapse([e["type"] for e in ex.events if e["type"] != "transcript.partial"])
    assert kinds == VOICE_TURN_ORDER, kinds
    assert ex.first("transcript.final")["text"] == "I lost my bank card"
    created = ex.first("response.created")
    assert created["entry_id"] == "lost-card" and created["turn_id"] == ex.first("transcript.final")["turn_id"]
    assert ex.first("response.done")["interrupted"] is False


@pytest.mark.parametrize("text,entry,language", [("how do I report a lost card", "lost-card", "en"),
                                                 ("营业时间是什么", "opening-hours", "zh")])
async def test_a_typed_question_is_answered_with_paced_chunks(fake, text, entry, language):
    client = await TellerClient.connect(f"ws://127.0.0.1:{fake.port}/v1/session")
    await client.configure()
    await client.send({"type": "input_text", "text": text})
    ex = await client.collect_until("response.done", timeout=10)
    await client.close()
    assert collapse([e["type"] for e in ex.events]) == ["response.created", "response.audio.delta", "response.done"]
    created = ex.first("response.created")
    assert created["entry_id"] == entry and created["language"] == language
    deltas = ex.of("response.audio.delta")
    assert [d["seq"] for d in deltas] == list(range(len(deltas)))
    ends = [d["offset_ms"] + d["duration_ms"] for d in deltas]
    assert all(abs(a - d["offset_ms"]) < 0.01 for a, d in zip(ends, deltas[1:]))   # contiguous audio
    assert abs(ex.first("response.done")["audio_ms"] - ends[-1]) < 0.01


async def test_a_disclosure_is_spoken_in_full_even_when_interrupted(fake):
    client = await TellerClient.connect(f"ws://127.0.0.1:{fake.port}/v1/session")
    await client.configure(language="en")
    await client.send({"type": "input_text", "text": "which wealth products do you sell"})
    created = await client.expect("response.created")
    assert created["disclosure"] == "Wealth products carry risk."
    await client.expect("response.audio.delta")
    await client.send({"type": "response.cancel", "heard_ms": 100})
    ex = await client.collect_until("response.done", timeout=10)
    await client.close()
    done = ex.first("response.done")
    assert done["interrupted"] is True and done["heard_ms"] == 100
    locked = [d for d in ex.of("response.audio.delta") if d["interruptible"] is False]
    disclosure_ms = len("Wealth products carry risk".split()) * 120
    assert sum(d["duration_ms"] for d in locked) >= disclosure_ms


async def test_speech_during_an_answer_interrupts_it_and_the_new_turn_is_answered(fake):
    client = await TellerClient.connect(f"ws://127.0.0.1:{fake.port}/v1/session")
    await client.configure(language="en")
    await client.send({"type": "input_text", "text": "when are you open"})
    first = await client.expect("response.created")

    def answered_again(ex) -> bool:
        return sum(e["type"] == "response.done" for e in ex.events) >= 2

    ex = await client.ask_by_voice(tone(0.8), pace=20.0, until=answered_again, lead_silence_s=0.0)
    await client.close()
    dones = {e["response_id"]: e for e in ex.of("response.done")}
    assert dones[first["response_id"]]["interrupted"] is True
    second = [e for e in ex.of("response.created") if e["response_id"] != first["response_id"]]
    assert second and second[0]["entry_id"] == "lost-card"
    assert dones[second[0]["response_id"]]["interrupted"] is False


async def test_bad_messages_are_typed_errors_and_the_session_goes_on(fake):
    client = await TellerClient.connect(f"ws://127.0.0.1:{fake.port}/v1/session")
    frames = [b"\x00\x00" * 160,                                        # audio before session.update
              "not json", json.dumps({"type": "no.such"}), json.dumps([1, 2]),
              json.dumps({"type": "input_text", "text": "x" * 600}),     # above max_text_chars
              json.dumps({"type": "response.cancel"})]                   # nothing is playing
    codes = []
    for frame in frames:
        await (client.ws.send(frame))
        event = await client.recv(5)
        assert event["type"] == "error", event
        codes.append(event["code"])
    await client.send({"type": "ping", "id": 7})
    assert (await client.expect("pong", timeout=5))["id"] == 7
    await client.close()
    E = p.ErrorCode
    assert codes == [E.NOT_CONFIGURED, E.INVALID_JSON, E.UNKNOWN_EVENT, E.INVALID_EVENT, E.TEXT_TOO_LONG,
                     E.NO_RESPONSE], codes


async def test_push_to_talk_waits_for_the_commit(fake):
    client = await TellerClient.connect(f"ws://127.0.0.1:{fake.port}/v1/session")
    await client.configure(language="en", turn_detection="push_to_talk")
    await client.stream(np.concatenate([tone(0.6), silence(1.5)]), pace=20.0)
    await client.send({"type": "ping", "id": 1})
    before = await client.collect_until("pong", timeout=5)
    assert "response.created" not in [e["type"] for e in before.events]   # silence did not end the turn
    await client.send({"type": "input_audio_buffer.commit"})
    ex = await client.collect_until("response.done", timeout=10)
    await client.close()
    assert ex.first("response.created")["entry_id"] == "lost-card"
