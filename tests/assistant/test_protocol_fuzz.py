"""Protocol fuzzing over a real loopback socket: 10,000 malformed or hostile messages across 200
sessions (8 at a time), every engine a fake. Every bad message must get exactly one typed `error`
with a documented code, every session must stay open (a ping answered after the barrage), and the
one session that passes the invalid-message budget must be closed with the documented 1008.

The generator is seeded, so a failure names a reproducible message.
"""

from __future__ import annotations

import asyncio
import json
import random

import pytest
import websockets

from assistant import protocol as p
from assistant.session import MAX_ERRORS
from tests.conftest import RunningServer
from tests.fakes import fake_services

SESSIONS = 200
PER_SESSION = 50          # at most MAX_ERRORS invalid messages, so no session is closed for them
CONCURRENT = 8
CODES = {v for k, v in vars(p.ErrorCode).items() if not k.startswith("_")}
MAX_FRAME = 64 * 1024


def _strings(rng: random.Random) -> str:
    return rng.choice([
        "", "x" * rng.randint(1, 200), "\ud800", "\udfff\ud800", "\x00\x01", "🙂" * 30, "转人工", "<script>",
        "'; DROP TABLE entries; --", "%s%s%n", "\u202e", "a\nb", " " * 10,
    ])


def _values(rng: random.Random, depth: int = 0):
    kind = rng.randrange(10 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, -(2**63) - 1, 10**300, 1.5, -0.0, 1e308])
    if kind in (3, 4, 5, 6):
        return _strings(rng)
    if kind in (7, 8):
        return [_values(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_strings(rng)[:20]: _values(rng, depth + 1) for _ in range(rng.randrange(4))}


def bad_message(rng: random.Random) -> str | bytes:
    """One message the server must refuse with a typed error (never a valid one)."""
    kind = rng.randrange(14)
    types = list(p.CLIENT_EVENT_TYPES)
    if kind == 0:
        return rng.choice(["", "{", "nul", "[1,", '{"type": "ping"', "\x00", "{'type': 'ping'}"])
    if kind == 1:
        depth = rng.randint(1000, 20_000)
        return "[" * depth + "]" * depth
    if kind == 2:
        return '{"type": "ping", "id": ' + "9" * rng.randint(4301, 20_000) + "}"
    if kind == 3:
        return json.dumps(_values(rng))                                   # not an object, or no type
    if kind == 4:
        return json.dumps({"type": _strings(rng) or "nope", "event_id": _strings(rng)[:64]})
    if kind == 5:                                                         # a known type, a wrong field
        return json.dumps({"type": rng.choice(types), "event_id": "e", _strings(rng)[:10] or "x": _values(rng)})
    if kind == 6:
        return json.dumps({"type": "session.update", "session": {"input_sample_rate": rng.choice([0, 1, 12345, "16000", None, 1e9]) or 7}})
    if kind == 7:
        return json.dumps({"type": "session.update", "session": {"language": _values(rng) or "fr", "voice": "x" * 100}})
    if kind == 8:
        return json.dumps({"type": "input_audio_buffer.append", "audio": rng.choice(["%%%", "AAA", "A" * 7, "😀"])})
    if kind == 9:
        return json.dumps({"type": "input_text", "text": rng.choice(["", "x" * 501, "y" * 5000])})
    if kind == 10:
        return json.dumps({"type": "response.cancel", "heard_ms": rng.choice([-1, "5", 1.5, None])}) if rng.random() < 0.7 \
            else json.dumps({"type": "response.cancel"})                 # nothing is playing
    if kind == 11:
        return bytes(rng.randrange(256) for _ in range(rng.choice([1, 3, 321, 2001])))   # audio before configuring
    if kind == 12:
        return "x" * (MAX_FRAME + rng.randint(1, 1000))                   # too large (below the transport cap)
    return json.dumps({"type": "input_audio_buffer.commit", "event_id": _strings(rng)[:64]})   # not configured


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    from assistant.app import create_app

    services = fake_services(tmp_path_factory.mktemp("fuzz"), allowed_origins=["http://localhost:8000"])
    with RunningServer(create_app(services.settings, services),
                       ws_max_size=4 * services.settings.limits.max_frame_bytes) as server:
        yield server
    services.close()


async def _session(url: str, seed: int, count: int) -> tuple[int, list[str]]:
    rng = random.Random(seed)
    problems: list[str] = []
    sent = 0
    async with websockets.connect(url, origin="http://localhost:8000", max_size=2**24) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        for i in range(count):
            message = bad_message(rng)
            await ws.send(message)
            sent += 1
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if reply.get("type") != "error" or reply.get("code") not in CODES or not isinstance(reply.get("message"), str):
                shown = message[:80] if isinstance(message, str) else f"{len(message)} bytes"
                problems.append(f"seed {seed} message {i} {shown!r}: {reply}")
        await ws.send(json.dumps({"type": "ping", "id": "alive"}))
        pong = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if pong != {"type": "pong", "id": "alive"}:
            problems.append(f"seed {seed}: no pong after the barrage: {pong}")
    return sent, problems


async def test_ten_thousand_hostile_messages_lose_no_session(fuzz_server):
    url = fuzz_server.ws
    gate = asyncio.Semaphore(CONCURRENT)

    async def one(seed: int):
        async with gate:
            return await _session(url, seed, PER_SESSION)

    results = await asyncio.gather(*(one(seed) for seed in range(SESSIONS)))
    sent = sum(n for n, _ in results)
    problems = [line for _, found in results for line in found]
    assert sent >= 10_000
    assert not problems, "\n".join(problems[:20])


async def test_past_the_budget_the_session_is_closed_with_1008(fuzz_server):
    rng = random.Random(99)
    async with websockets.connect(fuzz_server.ws, origin="http://localhost:8000", max_size=2**24) as ws:
        await ws.recv()
        for _ in range(MAX_ERRORS + 1):
            await ws.send(bad_message(rng))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_the_generator_never_makes_a_valid_message():
    rng = random.Random(1)
    for _ in range(2000):
        message = bad_message(rng)
        if isinstance(message, bytes) or len(message.encode("utf-8", "surrogatepass")) > MAX_FRAME:
            continue
        try:
            event = p.parse_client_event(message)
        except p.ProtocolError:
            continue
        # Parsed: then it is one the session refuses on its own terms.
        assert isinstance(event, (p.AudioAppend, p.AudioCommit, p.InputText, p.ResponseCancel)), message
        if isinstance(event, p.InputText):
            assert len(event.text) > 500
