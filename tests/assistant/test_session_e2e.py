"""End to end over a real WebSocket: spoken questions in, transcripts, answers, audio and visemes out.

The audio is real speech made with the bundled voices; the server runs every real model.
"""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
from teller_client import TellerClient, ask_typed

pytestmark = pytest.mark.slow

HAN = re.compile(r"[\u4e00-\u9fff]")
TRADITIONAL_ONLY = set("們這個來時說對還會為銀帳號戶額區點麼於掛補")


def viseme_total_ms(deltas):
    return sum(sum(d["lipsync"]["vdurations"]) for d in deltas)


def assert_visemes_cover_audio(ex):
    deltas = ex.of("response.audio.delta")
    assert deltas, "no audio"
    assert [d["seq"] for d in deltas] == list(range(len(deltas)))
    rate = deltas[0]["sample_rate"]
    audio_ms = len(ex.audio()) * 1000 / rate
    frame_ms = 1000 / 30  # one video frame at 30 fps
    assert abs(viseme_total_ms(deltas) - audio_ms) <= frame_ms
    done = ex.first("response.done")
    assert abs(done["audio_ms"] - audio_ms) < 1.0
    for d in deltas:
        lip = d["lipsync"]
        assert set(lip) >= {"visemes", "vtimes", "vdurations", "words", "wtimes", "wdurations"}
        # every chunk's visemes lie inside that chunk's audio (times are response-relative)
        for t, dur in zip(lip["vtimes"], lip["vdurations"]):
            assert d["offset_ms"] - 1 <= t and t + dur <= d["offset_ms"] + d["duration_ms"] + 1


async def voice_turn(server, audio, **config):
    client = await TellerClient.connect(server.ws)
    try:
        await client.configure(**config)
        return await client.ask_by_voice(audio)
    finally:
        await client.close()


async def test_spoken_english_question_gets_a_cited_spoken_answer(server, speech_bank):
    audio = speech_bank("How do I report a lost bank card?", "en")
    ex = await voice_turn(server, audio, language="en")
    kinds = [e["type"] for e in ex.events]
    assert kinds.index("input_audio_buffer.speech_started") < kinds.index("transcript.final")
    final = ex.first("transcript.final")
    assert "lost" in final["text"].lower() and "card" in final["text"].lower()
    assert final["language"] == "en"
    created = ex.first("response.created")
    assert created["entry_id"] == "lost-card" and not created["handoff"]
    assert created["sample_rate"] == 22050
    assert kinds.index("transcript.final") < kinds.index("response.created") < kinds.index("response.audio.delta")
    assert ex.first("response.done")["interrupted"] is False
    assert_visemes_cover_audio(ex)


async def test_spoken_mandarin_question_is_simplified_and_answered_in_mandarin(server, speech_bank):
    audio = speech_bank("我的银行卡丢了，怎么挂失？", "zh")
    ex = await voice_turn(server, audio, language="zh")
    final = ex.first("transcript.final")
    assert HAN.search(final["text"]) and not (set(final["text"]) & TRADITIONAL_ONLY)
    assert final["language"] == "zh"
    created = ex.first("response.created")
    assert created["entry_id"] == "lost-card"
    assert HAN.search(created["text"]) and created["sample_rate"] == 24000
    assert_visemes_cover_audio(ex)


async def test_partial_transcripts_arrive_while_a_long_question_is_spoken(server, speech_bank):
    audio = speech_bank("I would like to know how I can transfer money to an account at another bank, "
                        "and how long the transfer usually takes to arrive.", "en")
    ex = await voice_turn(server, audio, language="en")
    partials = ex.of("transcript.partial")
    assert partials, "no partial transcript for a long question"
    kinds = [e["type"] for e in ex.events]
    assert kinds.index("transcript.partial") < kinds.index("input_audio_buffer.speech_stopped")
    assert any(w in partials[0]["text"].lower() for w in ("transfer", "money", "like", "know"))


@pytest.mark.parametrize("first,second,language,expect", [
    ("I lost my bank card yesterday,", "how do I report it?", "en", ("yesterday", "report")),
    ("我的银行卡昨天丢了，", "请问怎么挂失？", "zh", ("丢", "挂")),
])
async def test_a_pause_between_clauses_gets_one_answer_after_the_second(server, speech_bank, first, second, language, expect):
    pause = np.zeros(int(16000 * 0.7), np.float32)
    audio = np.concatenate([speech_bank(first, language), pause, speech_bank(second, language)])

    async def scenario():
        client = await TellerClient.connect(server.ws)
        await client.configure(language=language)
        ex = await client.ask_by_voice(audio)
        # keep listening a moment: a second (half-question) answer would show up here
        extra = []
        try:
            while True:
                extra.append(await client.recv(timeout=1.5))
        except asyncio.TimeoutError:
            pass
        await client.close()
        return ex, extra

    ex, extra = await scenario()
    assert len(ex.of("response.created")) == 1
    assert ex.first("response.done")["interrupted"] is False
    assert not [e for e in extra if e["type"] == "response.created"]
    final = ex.first("transcript.final")["text"].lower()
    assert expect[0] in final and expect[1] in final, final
    assert ex.time_of("response.created") > ex.speech_end_sent


async def test_barge_in_cancels_the_answer_and_the_new_turn_is_answered(server, speech_bank):
    long_question = speech_bank("How do I send money abroad?", "en")
    interruption = speech_bank("What are your opening hours?", "en")

    async def scenario():
        client = await TellerClient.connect(server.ws)
        await client.configure(language="en")
        first = await client.ask_by_voice(long_question, until="response.audio.delta")
        old_id = first.first("response.created")["response_id"]

        def new_answer_done(ex):
            return any(e["type"] == "response.done" and e["response_id"] != old_id for e in ex.events)

        second = await client.ask_by_voice(interruption, until=new_answer_done, lead_silence_s=0.0)
        await client.close()
        return first, second

    first, second = await scenario()
    old_id = first.first("response.created")["response_id"]
    dones = {e["response_id"]: e for e in second.of("response.done")}
    assert dones[old_id]["interrupted"] is True
    assert dones[old_id]["heard_ms"] is not None and dones[old_id]["heard_ms"] < dones[old_id]["audio_ms"] + 1
    new = [e for e in second.of("response.created") if e["response_id"] != old_id]
    assert new and new[0]["entry_id"] == "opening-hours"
    assert dones[new[0]["response_id"]]["interrupted"] is False


async def test_push_to_talk_waits_for_commit(server, speech_bank):
    audio = speech_bank("What is your customer service number?", "en")

    async def scenario():
        client = await TellerClient.connect(server.ws)
        await client.configure(language="en", turn_detection="push_to_talk")
        await client.stream(np.zeros(4800, np.float32))
        await client.stream(audio)
        await client.stream(np.zeros(int(16000 * 1.6), np.float32))  # long silence: no answer yet
        early = []
        try:
            while True:
                early.append(await client.recv(timeout=0.3))
        except asyncio.TimeoutError:
            pass
        await client.send({"type": "input_audio_buffer.commit"})
        ex = await client.collect_until("response.done")
        await client.close()
        return early, ex

    early, ex = await scenario()
    assert not [e for e in early if e["type"] in ("transcript.final", "response.created")]
    assert "input_audio_buffer.speech_started" in [e["type"] for e in early]
    assert ex.first("response.created")["entry_id"] == "customer-hotline"


@pytest.mark.parametrize("text,entry,language", [
    ("How do I activate my new credit card?", "card-activation", "en"),
    ("手机银行登录密码忘了怎么办", "app-password-reset", "zh"),
])
async def test_typed_question_gets_a_spoken_answer(server, text, entry, language):
    ex = await ask_typed(server.ws, text)
    created = ex.first("response.created")
    assert created["entry_id"] == entry and created["language"] == language
    assert not ex.of("transcript.final")
    assert_visemes_cover_audio(ex)


@pytest.mark.parametrize("text,language", [
    ("转人工", "zh"),
    ("I want to speak to a real person", "en"),
    ("What's the weather like on Mars tonight?", "en"),
    ("给我讲个笑话吧", "zh"),
])
async def test_hand_off_when_asked_or_unsure(server, text, language):
    created = (await ask_typed(server.ws, text)).first("response.created")
    assert created["handoff"] is True and created["entry_id"] is None
    assert created["language"] == language and created["kind"] == "handoff"


async def test_wealth_answer_carries_its_disclosure_to_the_end_despite_barge_in(server):
    async def scenario():
        client = await TellerClient.connect(server.ws)
        await client.configure(language="zh")
        await client.send({"type": "input_text", "text": "你们有哪些理财产品？"})
        created = await client.expect("response.created")
        await client.expect("response.audio.delta")
        await client.send({"type": "response.cancel", "heard_ms": 300})
        ex = await client.collect_until("response.done")
        await client.close()
        return created, ex

    created, ex = await scenario()
    assert created["entry_id"] == "wealth-products" and "理财非存款" in created["disclosure"]
    done = ex.first("response.done")
    assert done["interrupted"] is True and done["heard_ms"] == 300
    fixed = [d for d in ex.of("response.audio.delta") if not d["interruptible"]]
    assert fixed, "the disclosure was cut by the cancel"


async def test_one_sessions_turn_does_not_block_another_session(server, services, speech_bank):
    """While session A's speech is being transcribed (in a worker thread), session B still gets pongs."""
    import time

    audio = speech_bank("What documents do I need to open an account?", "en")
    calls: list[tuple[float, float]] = []
    real = services.transcriber.transcribe

    def recording(*args, **kwargs):
        start = time.monotonic()
        try:
            return real(*args, **kwargs)
        finally:
            calls.append((start, time.monotonic()))

    async def scenario():
        a = await TellerClient.connect(server.ws)
        b = await TellerClient.connect(server.ws)
        await a.configure(language="en")
        await b.configure(language="en")
        pongs: list[float] = []

        async def pinger():
            while True:
                await b.send({"type": "ping", "id": "b"})
                await b.expect("pong")
                pongs.append(time.monotonic())
                await asyncio.sleep(0.02)

        ping_task = asyncio.create_task(pinger())
        ex = await a.ask_by_voice(audio, until="response.created")
        ping_task.cancel()
        await a.close()
        await b.close()
        return ex, pongs

    services.transcriber.transcribe = recording
    try:
        ex, pongs = await scenario()
    finally:
        del services.transcriber.transcribe
    assert ex.first("response.created")["entry_id"] == "account-documents"
    assert calls, "A's speech was never transcribed"
    during = [t for t in pongs for start, end in calls if start < t < end]
    assert during, "no pong reached session B while A's audio was being transcribed"
