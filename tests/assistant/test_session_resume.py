"""Resuming a session whose connection dropped (assistant/resume.py; docs/protocol.md,
"Resuming a session"): on the in-memory socket, and over a real loopback socket with the reference
kiosk client. Every engine is a fake; each test takes about a second.
"""

from __future__ import annotations

import asyncio

import pytest

from assistant import protocol as p
from assistant.resume import ResumeRegistry, resume_connection
from assistant.session import Session
from tests.conftest import RunningServer
from tests.fakes import RATE, FakeSocket, fake_services
from tests.teller_client import TellerClient

QUESTION = "how do I report a lost card"   # answered with "Call us at once to freeze the card." (8 words)


@pytest.fixture
def services(tmp_path):
    svc = fake_services(tmp_path, limits={"resume_window_s": 5.0})
    # Long words: the answer lasts 4.8 s, so it is still being sent (at 2x) when the link drops.
    svc.speaker.engines["en"].ms_per_token = 600.0
    yield svc
    svc.close()


async def open_session(services, registry, channel="web", **limits):
    settings = services.settings.model_copy(update={"limits": services.settings.limits.model_copy(update=limits)})
    sock = FakeSocket()
    session = Session(sock, services, channel, settings, registry)
    task = asyncio.create_task(session.run())
    await sock.wait_for("session.created")
    sock.text({"type": "session.update", "session": {"input_sample_rate": RATE, "language": "en"}})
    await sock.wait_for("session.updated")
    return sock, session, task


def drop(sock: FakeSocket, code: int = 1006) -> None:
    """The network fails: sends raise, and the server's receive sees an abnormal closure."""
    sock.closed_with = (code, None)
    sock.incoming.put_nowait({"type": "websocket.disconnect", "code": code})


def resume_event(sock: FakeSocket, token: str | None = None, **point) -> dict:
    created = sock.sent[0]
    return {"type": "session.resume", "session_id": created["session_id"],
            "resume_token": token or created["resume_token"], **point}


async def resume(registry, event: dict, channel="web", session_id=None) -> tuple[FakeSocket, asyncio.Task]:
    sock = FakeSocket()
    sock.text(event)
    task = asyncio.create_task(resume_connection(sock, registry, channel, session_id or event["session_id"],
                                                 max_frame_bytes=65536))
    await sock.wait_for(lambda sent: sent and sent[0]["type"] in ("session.resumed", "error"))
    return sock, task


async def until_detached(registry, n=1):
    for _ in range(200):
        if len(registry) == n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(registry)} detached sessions, expected {n}")


async def test_a_dropped_session_resumes_mid_answer_from_where_the_client_stopped(services):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry)
    created = sock.sent[0]
    assert created["resume_window_s"] == 5.0 and len(created["resume_token"]) >= 32
    sock.text({"type": "input_text", "text": QUESTION})
    await sock.wait_for(lambda sent: sum(e["type"] == "response.audio.delta" for e in sent) >= 4)
    drop(sock)
    await until_detached(registry)
    deltas = [e for e in sock.sent if e["type"] == "response.audio.delta"]
    response_id = deltas[0]["response_id"]
    heard = int(deltas[1]["offset_ms"] + deltas[1]["duration_ms"] / 2)   # played into the 2nd chunk

    back, link_task = await resume(registry, resume_event(sock, response_id=response_id, heard_ms=heard))
    await back.wait_for("response.done")
    resumed = back.sent[0]
    assert resumed["type"] == "session.resumed" and resumed["session_id"] == created["session_id"]
    assert resumed["session"]["language"] == "en" and resumed["session"]["input_sample_rate"] == RATE
    assert resumed["resume_token"] != created["resume_token"]   # the token used is spent
    rest = back.sent[1:]
    assert [e["type"] for e in rest][-1] == "response.done" and "response.created" not in [e["type"] for e in rest]
    chunks = [e for e in rest if e["type"] == "response.audio.delta"]
    assert chunks[0]["seq"] == 1   # from the chunk the client was playing, nothing it had heard before
    assert [c["seq"] for c in chunks] == list(range(1, 1 + len(chunks)))   # no gap, no repeat
    done = rest[-1]
    assert done["response_id"] == response_id and not done["interrupted"] and not done["cut"]
    assert abs(chunks[-1]["offset_ms"] + chunks[-1]["duration_ms"] - done["audio_ms"]) < 0.01

    # The session goes on, with what it remembered: the follow-up context, the settings.
    assert session.conversation.exchanges and session.config.language == "en"
    back.text({"type": "ping", "id": 3})
    await back.wait_for("pong")
    back.disconnect()   # a clean close ends it
    await asyncio.wait_for(task, 2)
    await asyncio.wait_for(link_task, 2)
    assert len(registry) == 0


async def test_an_answer_prepared_while_detached_arrives_whole_on_resume(services):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry)
    sock.text({"type": "input_text", "text": QUESTION})
    drop(sock)   # before any of the answer was sent
    await until_detached(registry)
    await asyncio.sleep(0.3)   # the turn goes on preparing meanwhile; its playback waits
    back, link_task = await resume(registry, resume_event(sock))
    await back.wait_for("response.done", timeout=10)
    kinds = [e["type"] for e in back.sent]
    assert kinds[:3] == ["session.resumed", "response.created", "response.audio.delta"], kinds
    assert kinds.count("response.created") == 1 and kinds[-1] == "response.done"
    chunks = [e for e in back.sent if e["type"] == "response.audio.delta"]
    assert [c["seq"] for c in chunks] == list(range(len(chunks)))
    task.cancel()


async def test_a_wrong_token_an_unknown_id_or_another_channel_is_refused_and_the_session_waits(services):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry, channel="kiosk:hall")
    drop(sock)
    await until_detached(registry)
    for event, channel in [(resume_event(sock, token="x" * 43), "kiosk:hall"),
                           ({**resume_event(sock), "session_id": "sess_000000000000"}, "kiosk:hall"),
                           (resume_event(sock), "web"), (resume_event(sock), "kiosk:other")]:
        refused, refused_task = await resume(registry, event, channel)
        await asyncio.wait_for(refused_task, 2)
        assert refused.sent == [{"type": "error", "code": p.ErrorCode.RESUME_REFUSED, "event_id": None,
                                 "message": refused.sent[0]["message"]}]
        assert refused.closed_with == (1000, "resume refused")
    assert len(registry) == 1   # a wrong guess does not end the session
    back, link_task = await resume(registry, resume_event(sock), "kiosk:hall")
    assert back.sent[0]["type"] == "session.resumed"
    task.cancel()


async def test_a_detached_session_expires_after_the_window_and_leaves_nothing_running(services):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry, resume_window_s=0.3)
    sock.text({"type": "input_text", "text": QUESTION})
    await sock.wait_for("response.audio.delta")
    drop(sock)
    await until_detached(registry)
    await asyncio.wait_for(task, 2)   # the session ended at the end of its window
    assert len(registry) == 0 and session.closed and session.link.closed
    await asyncio.sleep(0.05)
    assert session._turn_task.done() and not session._background
    refused, _ = await resume(registry, resume_event(sock))
    assert refused.sent[0]["code"] == p.ErrorCode.RESUME_REFUSED


@pytest.mark.parametrize("code", [1000, 1001, 1009])
async def test_a_clean_close_or_a_close_for_a_broken_rule_ends_the_session_at_once(services, code):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry)
    sock.incoming.put_nowait({"type": "websocket.disconnect", "code": code})
    await asyncio.wait_for(task, 1)
    assert len(registry) == 0


async def test_resuming_off_ends_the_session_on_a_drop(services):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry, resume_window_s=0.0)
    assert sock.sent[0]["resume_token"] is None and sock.sent[0]["resume_window_s"] == 0.0
    drop(sock)
    await asyncio.wait_for(task, 1)
    assert len(registry) == 0


async def test_audio_past_the_buffer_bound_is_not_kept_and_the_answer_ends_cut(services):
    registry = ResumeRegistry()
    # Room for about two chunks of the answer's audio (16 kHz: 200 ms = 6.4 kB of PCM, 8.5 kB base64).
    sock, session, task = await open_session(services, registry, resume_buffer_bytes=18_000)
    sock.text({"type": "input_text", "text": QUESTION})
    await sock.wait_for(lambda sent: sum(e["type"] == "response.audio.delta" for e in sent) >= 6)
    drop(sock)
    await until_detached(registry)
    record = session.link.record
    assert sum(len(d.audio) for d in record.deltas) <= 18_000 and record.dropped_to_ms > 0
    response_id = record.created.response_id
    back, link_task = await resume(registry, resume_event(sock, response_id=response_id, heard_ms=200))
    await back.wait_for("response.done")
    done = back.sent[-1]
    assert [e["type"] for e in back.sent] == ["session.resumed", "response.done"]
    assert done["response_id"] == response_id and done["cut"] and done["interrupted"] and done["heard_ms"] == 200
    await asyncio.sleep(0.5)   # nothing more of that answer follows, and the session goes on
    assert [e["type"] for e in back.sent] == ["session.resumed", "response.done"]
    back.text({"type": "input_text", "text": "what are your opening hours"})
    await back.wait_for(lambda sent: sent[-1]["type"] == "response.done" and sent[-1]["response_id"] != response_id,
                        timeout=10)
    task.cancel()


async def test_session_resume_on_an_open_session_is_an_invalid_event(services):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry)
    sock.text(resume_event(sock))
    await sock.wait_for("error")
    assert sock.sent[-1]["code"] == p.ErrorCode.INVALID_EVENT
    task.cancel()


# ---------------------------------------------------------------- a real socket, the reference client


@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    from assistant.app import create_app

    svc = fake_services(tmp_path_factory.mktemp("resume"), allowed_origins=["http://localhost:8000"],
                        limits={"resume_window_s": 10.0})
    svc.speaker.engines["en"].ms_per_token = 600.0
    with RunningServer(create_app(svc.settings, svc), ws_max_size=4 * svc.settings.limits.max_frame_bytes) as server:
        yield server
    svc.close()


async def test_the_kiosk_client_resumes_a_dropped_connection_and_gets_the_rest_of_the_answer(loopback):
    client = await TellerClient.connect(f"ws://127.0.0.1:{loopback.port}/v1/session", resume=True)
    first_socket = client.ws
    await client.configure(language="en")
    await client.send({"type": "input_text", "text": QUESTION})
    events = []
    while sum(e["type"] == "response.audio.delta" for e in events) < 3:
        events.append(await client.recv())
    first_socket.transport.abort()   # the network fails: no close frame, the server sees 1006
    while (event := await client.recv(timeout=15))["type"] != "response.done":
        events.append(event)
    events.append(event)
    assert client.resumes == 1 and client.ws is not first_socket
    kinds = [e["type"] for e in events]
    assert "session.resumed" in kinds and kinds.count("response.created") == 1 and kinds[-1] == "response.done"
    assert not events[-1]["interrupted"] and not events[-1].get("cut")
    # Every millisecond of the answer arrived, in order (the resumed part may repeat the chunk
    # the drop interrupted, never skip one).
    chunks = [e for e in events if e["type"] == "response.audio.delta"]
    ends = 0.0
    for chunk in chunks:
        assert chunk["offset_ms"] <= ends + 0.01
        ends = max(ends, chunk["offset_ms"] + chunk["duration_ms"])
    assert abs(ends - events[-1]["audio_ms"]) < 0.01
    await client.send({"type": "ping", "id": 1})
    assert (await client.expect("pong"))["id"] == 1
    await client.close()


async def test_the_kiosk_client_starts_afresh_when_the_server_refuses_and_ends_the_open_answer(loopback):
    client = await TellerClient.connect(f"ws://127.0.0.1:{loopback.port}/v1/session", resume=True)
    await client.configure(language="en")
    await client.send({"type": "input_text", "text": QUESTION})
    await client.expect("response.audio.delta")
    client.resume_token = "not-the-token"   # as if the server had restarted and forgotten it
    old_session = client.session_id
    client.ws.transport.abort()
    done = await client.expect("response.done", timeout=15)
    assert done["cut"] and done["interrupted"]   # a local one: the open answer is ended
    created = await client.expect("session.created")
    assert created["session_id"] != old_session and client.fresh_starts == 1
    updated = await client.expect("session.updated")   # the settings it had are sent again
    assert updated["session"]["language"] == "en"
    await client.close()


async def test_a_client_back_before_the_server_noticed_the_drop_takes_the_session_over(services):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry)
    # The old connection looks alive to the server (half-open): the session waits on it.
    back, link_task = await resume(registry, resume_event(sock))
    assert back.sent[0]["type"] == "session.resumed"
    await asyncio.sleep(0.05)
    assert sock.closed_with == (4001, "resumed on another connection")
    back.text({"type": "ping", "id": "new"})   # the session now reads the new connection
    await back.wait_for("pong")
    back.disconnect()
    await asyncio.wait_for(task, 2)
    await asyncio.wait_for(link_task, 2)


async def test_a_resumed_session_still_times_out_when_idle_with_its_reason(services):
    registry = ResumeRegistry()
    sock, session, task = await open_session(services, registry, idle_timeout_s=1.2)
    drop(sock)
    await until_detached(registry)
    back, link_task = await resume(registry, resume_event(sock))
    await asyncio.wait_for(task, 3)
    await asyncio.wait_for(link_task, 1)
    assert back.closed_with == (1000, "idle timeout")


async def test_a_detached_session_keeps_its_place_and_needs_no_new_one_to_resume(tmp_path):
    import httpx
    import websockets

    from assistant.app import create_app

    svc = fake_services(tmp_path, allowed_origins=["http://localhost:8000"],
                        limits={"max_sessions": 2, "kiosk_reserved_sessions": 1, "resume_window_s": 10.0})
    with RunningServer(create_app(svc.settings, svc), ws_max_size=1 << 20) as server:
        url = f"ws://127.0.0.1:{server.port}/v1/session"
        owner = await TellerClient.connect(url, resume=True)   # the one web place
        owner.ws.transport.abort()
        await asyncio.sleep(0.3)
        assert httpx.get(f"{server.http}/readyz").json()["sessions"] == 1   # detached, still counted
        with pytest.raises(websockets.ConnectionClosed) as refused:
            await TellerClient.connect(url)
        assert "web visitors" in refused.value.rcvd.reason
        assert (await owner.recv())["type"] == "session.resumed"   # back, in the place it kept
        await owner.send({"type": "ping", "id": 1})
        assert (await owner.expect("pong"))["id"] == 1
        await owner.close()
        await asyncio.sleep(0.3)
        other = await TellerClient.connect(url)   # a clean close frees the place
        await other.close()
    svc.close()


async def test_the_kiosk_client_command_asks_typed_and_spoken(loopback, tmp_path):
    import wave

    from assistant.kiosk_client import ask
    from tests.fakes import tone

    url = f"ws://127.0.0.1:{loopback.port}/v1/session"
    typed = await ask(url, origin="http://localhost:8000", text=QUESTION, language="en")
    assert typed[0]["type"] == "response.created" and typed[-1]["type"] == "response.done"
    assert all("audio" not in e for e in typed)
    path = tmp_path / "question.wav"
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1), f.setsampwidth(2), f.setframerate(RATE)
        f.writeframes((tone(0.8) * 32767).astype("<i2").tobytes())
    spoken = [e["type"] for e in await ask(url, origin="http://localhost:8000", wav=str(path), language="en")]
    assert "transcript.final" in spoken and spoken[-1] == "response.done"
