"""Clarifying questions on the customer page, in real headless Chromium against the real server and
models: an ambiguous question is answered with a spoken question whose options are shown as
buttons; a tap on one, or saying which one (the fake microphone plays synthesised speech), is
answered with that option's entry."""

from __future__ import annotations

import pytest

from tests.web.mic import fake_mic_args, start_mic, write_mic_file
from tests.web.test_web_customer import ask_typed, events, wait_connected

SOURCE_IS = "(id) => document.getElementById('answer-source').dataset.entry === id"
# Ambiguous questions of the demo KB, the first the served index asks about is used (the choice
# depends on the index's confidence, which the server may have refitted on the knowledge base).
AMBIGUOUS = {
    # Questions that read as two or three entries at once (the first few are asked until one is).
    "en": ["I need help with my password", "Card problem", "I want to cancel", "What documents do I need?",
           "How do I get a card?", "Can I exchange some currency here?", "What's the rate?"],
    "zh": ["我想办外币业务", "密码不对怎么办", "怎么办卡", "要带什么材料"],
}
BUTTONS = "#choice-list button.suggestion"


def clarified(ask, lang: str) -> tuple[str, dict]:
    """An ambiguous question the server answers with a clarifying question, and that answer."""
    for question in AMBIGUOUS[lang]:
        reply = ask(question, lang)
        if reply["kind"] == "clarify":
            return question, reply
    pytest.fail(f"none of {AMBIGUOUS[lang]} was answered with a clarifying question")


def show_the_question(page, question: str, reply: dict, lang: str) -> list:
    """Ask it on the page; the options appear as buttons while the question is spoken."""
    ask_typed(page, question)
    page.wait_for_selector(BUTTONS, state="visible", timeout=60_000)
    buttons = page.query_selector_all(BUTTONS)
    assert [b.text_content() for b in buttons] == [o["question"] for o in reply["clarify"]]
    assert [b.get_attribute("data-entry") for b in buttons] == [o["id"] for o in reply["clarify"]]
    assert {b.get_attribute("lang") for b in buttons} == {"en" if lang == "en" else "zh-CN"}
    assert page.text_content("#choices-label") == ("Which one do you mean?" if lang == "en" else "请选择您想问的")
    assert page.text_content("#answer-text") == reply["text"]
    assert page.is_hidden("#suggestions") and page.is_hidden("#handoff")
    created = events(page.received_frames, "response.created")[-1]
    assert created["kind"] == "clarify" and created["clarify"] == reply["clarify"], created
    # Spoken like any answer: its audio plays with lip-sync.
    page.wait_for_function("(id) => window.teller.stats.responses.some(r => r.id === id && r.firstAudioAt !== null)",
                           arg=created["response_id"], timeout=90_000)
    return buttons


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_web_a_clarifying_question_is_answered_by_a_tap(open_page, web_server, ask, lang):
    question, reply = clarified(ask, lang)
    page = open_page(f"{web_server.http}/?lang={lang}")
    wait_connected(page)
    buttons = show_the_question(page, question, reply, lang)
    pick = reply["clarify"][-1]
    buttons[-1].click()
    page.wait_for_function(SOURCE_IS, arg=pick["id"], timeout=60_000)
    taps = events(page.sent_frames, "clarify.choose")
    assert [t["entry_id"] for t in taps] == [pick["id"]], taps
    created = events(page.received_frames, "response.created")[-1]
    assert (created["kind"], created["entry_id"], created["clarify"]) == ("answer", pick["id"], []), created
    assert page.text_content("#transcript") == pick["question"]
    assert page.text_content("#answer-text") == created["text"]
    assert page.is_hidden("#choices") and page.query_selector_all(BUTTONS) == []
    assert not any(e["code"] == "invalid_choice" for e in events(page.received_frames, "error"))


def test_web_a_clarifying_question_is_answered_by_voice(launch, open_page, web_server, ask, speech_bank, tmp_path):
    question, reply = clarified(ask, "en")
    pick = reply["clarify"][1]
    mic_file = write_mic_file(tmp_path / "choice.wav", speech_bank("The second one, please.", "en"), lead_s=0.6)
    browser = launch(fake_mic_args(mic_file))
    page = open_page(f"{web_server.http}/?lang=en", on=browser)
    wait_connected(page)
    show_the_question(page, question, reply, "en")
    start_mic(page)        # the customer says which one
    page.wait_for_function(SOURCE_IS, arg=pick["id"], timeout=90_000)
    heard = events(page.received_frames, "transcript.final")
    assert heard and "second" in heard[-1]["text"].lower(), heard
    created = events(page.received_frames, "response.created")[-1]
    assert (created["kind"], created["entry_id"]) == ("answer", pick["id"]), created
    assert created["turn_id"] == heard[-1]["turn_id"]
    assert events(page.sent_frames, "clarify.choose") == []     # said, not tapped
    assert page.is_hidden("#choices")
