"""HTTP surface: /v1/ask, health, readiness, metrics; start-up refuses missing models."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from teller_client import TellerClient

from assistant.cli import main
from assistant.loading import ModelsNotReady, check_models
from assistant.settings import Settings


def test_ask_returns_a_cited_answer(server):
    r = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "How can I check my balance?"})
    assert r.status_code == 200
    body = r.json()
    assert body["entry_id"] == "balance-inquiry" and body["language"] == "en" and not body["handoff"]
    assert body["candidates"][0]["entry_id"] == "balance-inquiry"
    zh = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "怎么查余额"}).json()
    assert zh["entry_id"] == "balance-inquiry" and zh["language"] == "zh"


def test_ask_validates_input(server):
    assert httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": ""}).status_code == 422
    assert httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "x" * 800}).status_code == 413
    assert httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "hi", "language": "fr"}).status_code == 422


def test_health_ready_and_metrics(server):
    assert httpx.get(f"{server.http}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.http}/readyz").json()["status"] == "ready"
    httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "转人工"})
    text = httpx.get(f"{server.http}/metrics").text
    assert "dt_stage_seconds_bucket" in text and 'dt_turns_total{language="zh",outcome="handoff"}' in text
    assert "dt_sessions" in text


def test_missing_models_stop_start_up_with_a_clear_message(tmp_path, capsys):
    empty = Settings(model_dir=tmp_path / "no-models", data_dir=tmp_path / "data")
    with pytest.raises(ModelsNotReady) as info:
        check_models(empty)
    assert "whisper-base" in str(info.value)
    assert main(["serve", "--model-dir", str(tmp_path / "no-models"), "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert "cannot start" in err and "digital-teller models" in err


async def test_anonymous_sessions_are_rate_limited_per_address(server_with):
    import websockets

    with server_with(anon_sessions_per_minute=2) as srv:
        async def scenario():
            ok = [await TellerClient.connect(srv.ws) for _ in range(2)]
            ws = await websockets.connect(srv.ws, origin="http://localhost:8000")
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as exc:
                code, reason = exc.rcvd.code, exc.rcvd.reason
            for c in ok:
                await c.close()
            return code, reason

        code, reason = await scenario()
    assert code == 1008 and "too many" in reason


def test_presynthesis_fills_the_disk_cache_and_survives_a_restart(services, settings):
    from assistant.loading import load_speaker

    texts = {"en": ["Thank you for waiting. Your card is on its way."], "zh": ["感谢您的耐心等待。"]}
    made = services.speaker.presynthesize(texts)
    assert made == 3  # two English sentences, one Mandarin
    assert services.speaker.presynthesize(texts) == 0  # already cached
    # a fresh speaker (as after a restart) reads the disk cache instead of synthesising
    fresh = load_speaker(settings)
    calls = []
    real = fresh.engines["en"].synthesize
    fresh.engines["en"].synthesize = lambda text: calls.append(text) or real(text)
    segments = fresh.synthesize("Thank you for waiting.", "en")
    assert segments and segments[0].audio.size > 0 and calls == []


def test_ask_understands_a_follow_up_in_its_conversation(server):
    first = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "I want to open an account"}).json()
    assert first["entry_id"] == "open-account" and first["conversation_id"].startswith("conv_")
    follow = {"text": "what documents do I need for that"}
    alone = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json=follow).json()
    assert alone["entry_id"] != "account-documents" and not alone["followed_up"]
    assert alone["conversation_id"] != first["conversation_id"]          # no id: a new conversation
    in_context = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http},
                            json={**follow, "conversation_id": first["conversation_id"]}).json()
    assert in_context["entry_id"] == "account-documents" and in_context["followed_up"]
    assert in_context["conversation_id"] == first["conversation_id"]
    zh = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "我想开个账户"}).json()
    zh2 = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "那外国人呢", "conversation_id": zh["conversation_id"]}).json()
    assert zh2["entry_id"] == "foreigner-account"
    unknown = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={**follow, "conversation_id": "conv_made_up"}).json()
    assert unknown["conversation_id"] != "conv_made_up" and not unknown["followed_up"]
    assert httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={**follow, "conversation_id": "x" * 65}).status_code == 422


async def test_a_session_understands_follow_ups_in_both_languages(server):
    client = await TellerClient.connect(server.ws)
    await client.configure()
    answered = []
    for text in ["I want to open an account", "what documents do I need for that", "我想开个账户", "那外国人呢"]:
        await client.send({"type": "input_text", "text": text})
        ex = await client.collect_until("response.done", timeout=30)
        answered.append(ex.first("response.created")["entry_id"])
    await client.close()
    assert answered == ["open-account", "account-documents", "open-account", "foreigner-account"]
