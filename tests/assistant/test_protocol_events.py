"""Client event validation: every bad input maps to a stable code."""

import base64
import json

import pytest

from assistant import protocol as p


@pytest.mark.parametrize("raw,code", [
    ("{", p.ErrorCode.INVALID_JSON),
    ("[1,2]", p.ErrorCode.INVALID_EVENT),
    ('{"no_type": 1}', p.ErrorCode.INVALID_EVENT),
    ('{"type": 5}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "conversation.item.create"}', p.ErrorCode.UNKNOWN_EVENT),
    ('{"type": "session.update", "session": {"language": "fr"}}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "session.update", "session": {"input_sample_rate": "16000"}}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "session.update", "session": {"input_sample_rate": 11025}}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "session.update", "session": {"viseme_format": "svg"}}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "session.update", "session": {}, "extra": true}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "input_text", "text": ""}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "input_text", "text": 42}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "response.cancel", "heard_ms": -5}', p.ErrorCode.INVALID_EVENT),
    ('{"type": "input_audio_buffer.append"}', p.ErrorCode.INVALID_EVENT),
])
def test_bad_events_get_stable_codes(raw, code):
    with pytest.raises(p.ProtocolError) as info:
        p.parse_client_event(raw)
    assert info.value.code == code


def test_event_id_is_echoed_in_errors():
    with pytest.raises(p.ProtocolError) as info:
        p.parse_client_event('{"type": "input_text", "text": 1, "event_id": "abc"}')
    assert info.value.event_id == "abc"


def test_base64_audio_is_decoded_and_checked():
    ok = p.parse_client_event(json.dumps({"type": "input_audio_buffer.append",
                                          "audio": base64.b64encode(b"\x01\x00\x02\x00").decode()}))
    assert ok.pcm() == b"\x01\x00\x02\x00"
    odd = p.parse_client_event(json.dumps({"type": "input_audio_buffer.append",
                                           "audio": base64.b64encode(b"\x01\x00\x02").decode()}))
    with pytest.raises(p.ProtocolError) as info:
        odd.pcm()
    assert info.value.code == p.ErrorCode.BAD_AUDIO
    bad = p.parse_client_event('{"type": "input_audio_buffer.append", "audio": "***"}')
    with pytest.raises(p.ProtocolError):
        bad.pcm()


def test_server_events_serialise_with_their_type():
    event = p.ResponseDone(response_id="r", interrupted=True, audio_ms=10.0, heard_ms=5.0, heard_text="hi")
    data = json.loads(event.to_json())
    assert data == {"type": "response.done", "response_id": "r", "interrupted": True, "audio_ms": 10.0,
                    "heard_ms": 5.0, "heard_text": "hi", "degraded": False, "cut": False}
