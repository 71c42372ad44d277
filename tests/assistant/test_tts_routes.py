"""POST /v1/tts: audio plus the whole lip-sync track in the requested format."""

from __future__ import annotations

import base64

import httpx
import pytest



ORIGIN = {"Origin": "http://localhost:8000"}   # an allowed origin of the test settings


@pytest.fixture(scope="module")
def tts_url(server):
    return f"{server.http}/v1/tts"


@pytest.mark.parametrize("language,text,fmt", [
    ("en", "Your card has been blocked. Please call 95588.", "oculus"),
    ("zh", "您好。您的卡已冻结，请拨打95588。", "azure"),
    ("en", "Hello baby.", "polly"),
    ("zh", "爸爸好。", "rhubarb"),
])
def test_tts_returns_audio_and_a_covering_track(tts_url, language, text, fmt):
    reply = httpx.post(tts_url, headers=ORIGIN, json={"text": text, "language": language, "viseme_format": fmt}, timeout=60)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    pcm = base64.b64decode(body["audio"])
    assert body["audio_format"] == "pcm16" and body["sample_rate"] in (22050, 24000)
    samples = len(pcm) // 2
    assert abs(body["duration_ms"] - samples * 1000 / body["sample_rate"]) < 0.01
    track = body["lipsync"]
    if fmt == "oculus":
        end = track["vtimes"][-1] + track["vdurations"][-1]
        assert abs(end - body["duration_ms"]) <= 1 and sum(track["vdurations"]) == end - track["vtimes"][0]
        assert track["visemes"][-1] == "sil"
    elif fmt == "rhubarb":
        assert abs(track["mouthCues"][-1]["end"] * 1000 - body["duration_ms"]) <= 10
    elif fmt == "azure":
        assert track[0]["audioOffset"] == 0
    elif fmt == "polly":
        assert any(m["type"] == "word" and m["value"] == "baby" for m in track)
    assert body["words"] and body["mood"] == "neutral"
    assert body["words"][-1]["start_ms"] < body["duration_ms"]


def test_tts_wav_and_other_voice(tts_url):
    reply = httpx.post(tts_url, headers=ORIGIN, json={"text": "Hello.", "language": "en", "voice": "espeak-en",
                                      "audio_format": "wav", "kind": "greeting"}, timeout=60)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert base64.b64decode(body["audio"])[:4] == b"RIFF" and body["voice"] == "espeak-en"
    assert body["mood"] == "happy"


@pytest.mark.parametrize("payload,status", [
    ({"text": "Hello.", "language": "en", "voice": "nobody"}, 400),
    ({"text": "Hello.", "language": "en", "voice": "baker"}, 400),  # a Mandarin voice
    ({"text": "", "language": "en"}, 422),
    ({"text": "x" * 2001, "language": "en"}, 422),
    ({"text": "Hello.", "language": "fr"}, 422),
    ({"text": "Hello.", "language": "en", "viseme_format": "disney"}, 422),
    ({"text": "……", "language": "zh"}, 422),
])
def test_tts_rejects_bad_requests(tts_url, payload, status):
    assert httpx.post(tts_url, headers=ORIGIN, json=payload, timeout=60).status_code == status
