"""Bad input over a real WebSocket: typed errors, and the session keeps serving."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
import websockets
from teller_client import TellerClient

from assistant.kiosks import KioskRegistry
from knowledge.db import open_database


async def errors_for(server, frames, *, configure=False):
    client = await TellerClient.connect(server.ws)
    if configure:
        await client.configure()
    codes = []
    for frame in frames:
        await client.ws.send(frame)
        event = await client.expect("error")
        codes.append(event["code"])
    # still alive and serving
    await client.send({"type": "ping", "id": "alive"})
    pong = await client.expect("pong")
    await client.close()
    return codes, pong


async def test_bad_messages_get_stable_codes_and_the_session_survives(server):
    frames = [
        "this is not json",
        json.dumps([1, 2, 3]),
        json.dumps({"type": "session.update", "session": {"input_sample_rate": "fast"}}),
        json.dumps({"type": "session.update", "session": {"language": "fr"}}),
        json.dumps({"type": "teleport.now"}),
        json.dumps({"type": "input_text", "text": "x" * 600}),
        json.dumps({"type": "input_audio_buffer.append", "audio": "!!notbase64!!"}),
        json.dumps({"type": "response.cancel"}),
        json.dumps({"type": "input_audio_buffer.commit"}),
        json.dumps({"type": "session.update", "session": {"voice": "no-such-voice"}}),
    ]
    codes, pong = await errors_for(server, frames, configure=True)
    assert codes == ["invalid_json", "invalid_event", "invalid_event", "invalid_event", "unknown_event",
                     "text_too_long", "invalid_audio", "no_active_response", "nothing_to_commit", "invalid_event"]
    assert pong["id"] == "alive"


async def test_audio_before_session_update_is_refused(server):
    frames = [b"\x00\x00" * 320,
              json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\0\0").decode()}),
              json.dumps({"type": "input_audio_buffer.commit"})]
    codes, _ = await errors_for(server, frames)
    assert codes == ["session_not_configured"] * 3


async def test_huge_frames_are_refused_without_ending_the_session(server, settings):
    limit = settings.limits.max_frame_bytes
    frames = [b"\x00" * (limit + 2), json.dumps({"type": "input_text", "text": "a" * (limit + 10)})]
    codes, _ = await errors_for(server, frames, configure=True)
    assert codes == ["frame_too_large", "frame_too_large"]


async def test_odd_length_pcm_is_invalid_audio(server):
    codes, _ = await errors_for(server, [b"\x00" * 321], configure=True)
    assert codes == ["invalid_audio"]


async def test_a_frame_beyond_the_transport_cap_closes_with_1009(server, settings):
    async def scenario():
        client = await TellerClient.connect(server.ws)
        await client.ws.send(b"\x00" * (4 * settings.limits.max_frame_bytes + 2))
        with pytest.raises(websockets.ConnectionClosed) as info:
            await client.recv(timeout=10)
        return info.value.rcvd.code if info.value.rcvd else None

    assert await scenario() == 1009


async def test_endless_garbage_closes_the_session_with_1008(server):
    async def scenario():
        client = await TellerClient.connect(server.ws)
        for _ in range(60):
            await client.ws.send("garbage")
        with pytest.raises(websockets.ConnectionClosed) as info:
            while True:
                await client.recv(timeout=10)
        return info.value.rcvd.code

    assert await scenario() == 1008


async def closed_with(url, **kwargs):
    ws = await websockets.connect(url, **kwargs)
    try:
        await asyncio.wait_for(ws.recv(), 10)
        await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code, exc.rcvd.reason
    finally:
        await ws.close()
    return None, None


async def test_unknown_origin_is_refused_with_1008(server):
    code, reason = await closed_with(server.ws, origin="https://phishing.example")
    assert code == 1008 and "origin" in reason


async def test_kiosk_token_admits_and_revocation_refuses_next_connect(server, settings):
    registry = KioskRegistry(open_database(settings.knowledge_db))  # as the CLI opens it
    token = registry.add("e2e-kiosk")

    async def connect_ok():
        client = await TellerClient.connect(server.ws, origin=None, token=token)
        await client.send({"type": "ping", "id": 1})
        pong = await client.expect("pong")
        await client.close()
        return pong

    assert (await connect_ok())["id"] == 1
    registry.revoke("e2e-kiosk")
    code, reason = await closed_with(server.ws, additional_headers={"Authorization": f"Bearer {token}"})
    assert code == 1008 and "revoked" in reason
    code, _ = await closed_with(server.ws, additional_headers={"Authorization": "Bearer dtk_forged"})
    assert code == 1008


async def test_idle_sessions_are_closed_with_a_reason(server_with):
    with server_with(idle_timeout_s=1.5) as srv:
        async def scenario():
            client = await TellerClient.connect(srv.ws)
            with pytest.raises(websockets.ConnectionClosed) as info:
                await client.recv(timeout=10)
            return info.value.rcvd.code, info.value.rcvd.reason

        code, reason = await scenario()
    assert code == 1000 and reason == "idle timeout"


async def test_an_overlong_turn_is_refused_then_answered(server_with, speech_bank):

    speech = speech_bank("I would like to ask how I can open a new savings account at your bank, please.", "en")
    with server_with(max_utterance_s=2.0) as srv:
        async def scenario():
            client = await TellerClient.connect(srv.ws)
            await client.configure(language="en")
            ex = await client.ask_by_voice(speech, until="response.created")
            await client.close()
            return ex

        ex = await scenario()
    assert len(speech) / 16000 > 2.5
    assert ex.first("error")["code"] == "utterance_too_long"
    kinds = [e["type"] for e in ex.events]
    assert kinds.index("error") < kinds.index("transcript.final") < kinds.index("response.created")
