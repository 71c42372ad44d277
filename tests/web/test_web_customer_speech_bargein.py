"""Barge-in by speaking, in real headless Chromium with the fake microphone: while the teller reads a
long answer, the customer asks something else; the page stops the answer at once and the new
question is answered.

Timing is the hard part. A fixed file (question, a pause, a second question) only works when the
first answer starts inside the pause, and on a loaded 2-core machine the time to the first answer
ranges from ~2 s to over 10 s while the server streams a 17 s answer in ~8 s. So the second question
is not placed by guesswork: Chromium reads the fake-microphone file afresh each time capture
starts, so once the first answer is playing the test writes the second question into the file and
turns the microphone off and on, as a customer would, and the question is heard 0.4 s later.
"""

from __future__ import annotations

import json
import time


from tests.web.mic import fake_mic_args, restart_mic, start_mic, write_mic_file
from tests.web.test_web_customer import SAMPLE_JS, events, wait_connected

LONG_QUESTION = "What documents do I need to open an account?"   # the longest English answer, ~17 s
NEXT_QUESTION = "What are your opening hours?"


def _json(frame: str) -> dict:
    try:
        return json.loads(frame)
    except ValueError:
        return {}


def wait_for_event(page, kind, match, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [e for e in events(page.received_frames, kind) if match(e)]
        if found:
            return found[0]
        page.wait_for_timeout(100)
    raise AssertionError(f"no {kind} matching within {timeout_s} s: {[e.get('type') for e in events(page.received_frames, kind)]}")


def test_web_speaking_over_the_answer_barges_in(launch, open_page, web_server, ask, speech_bank, tmp_path):
    first, second = ask(LONG_QUESTION, "en"), ask(NEXT_QUESTION, "en")
    assert first["disclosure"] is None, "a disclosure would keep playing through the barge-in"
    assert first["entry_id"] != second["entry_id"]
    mic_file = tmp_path / "customer.wav"
    write_mic_file(mic_file, speech_bank(LONG_QUESTION, "en"), lead_s=0.8)
    browser = launch(fake_mic_args(mic_file))
    page = open_page(f"{web_server.http}/?lang=en", on=browser)
    wait_connected(page)

    start_mic(page)
    page.wait_for_function("(id) => document.getElementById('answer-source').dataset.entry === id",
                           arg=first["entry_id"], timeout=90_000)
    # Under a heavy load the first sentence can take tens of seconds to synthesise: wait, don't time.
    page.wait_for_selector('#avatar[data-speaking="true"]', timeout=90_000)
    answer1 = events(page.received_frames, "response.created")[0]
    assert answer1["entry_id"] == first["entry_id"]
    assert page.evaluate("window.teller.bargeIns.length") == 0

    # The customer speaks again while the answer plays.
    write_mic_file(mic_file, speech_bank(NEXT_QUESTION, "en"), lead_s=0.4)
    restart_mic(page)

    page.wait_for_function("() => window.teller.bargeIns.length > 0", timeout=20_000)
    cut = page.evaluate("window.teller.bargeIns[0]")
    # Cut by the customer's voice (speech_started), at once: no audio scheduled, no viseme left.
    assert cut["cause"] == "speech" and cut["response_id"] == answer1["response_id"], cut
    assert cut["speakingAfter"] is False and cut["cuesAfter"] == 0 and cut["visemeAfter"] == "sil", cut
    assert cut["heard_ms"] > 0, cut
    done1 = wait_for_event(page, "response.done", lambda e: e["response_id"] == answer1["response_id"])
    assert done1["interrupted"] is True, done1
    assert done1["heard_ms"] <= done1["audio_ms"] + 0.1 and done1["heard_text"], done1
    cancels = events(page.sent_frames, "response.cancel")
    assert cancels and cancels[0]["heard_ms"] == cut["heard_ms"], cancels

    # The new question is transcribed and answered, and that answer plays.
    page.wait_for_function("(id) => document.getElementById('answer-source').dataset.entry === id",
                           arg=second["entry_id"], timeout=90_000)
    assert "hours" in page.text_content("#transcript").lower()
    assert page.text_content("#answer-text") == second["text"]
    created = events(page.received_frames, "response.created")
    assert [c["entry_id"] for c in created] == [first["entry_id"], second["entry_id"]], created
    answer2 = created[1]["response_id"]
    page.wait_for_function("(id) => window.teller.stats.responses.some(r => r.id === id && r.firstAudioAt !== null)",
                           arg=answer2, timeout=90_000)
    result = page.evaluate(SAMPLE_JS, [8000, 5])
    trail = [(e["type"], e.get("response_id"), e.get("seq"), e.get("text")) for e in map(_json, page.received_frames)
             if e.get("type") != "response.audio.delta" or e.get("seq") in (0, 1)]
    debug = page.evaluate("({b: window.teller.bargeIns, r: window.teller.stats.responses, s: window.teller.stats.stopped})")
    assert result["speaking"] and len(set(result["seen"]) - {"sil"}) >= 3, (result, trail, debug)
