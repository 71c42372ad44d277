"""Suggested follow-up questions on the customer page, in real headless Chromium against the real
server: the buttons show the answer's `related` questions, and choosing one asks it."""

from __future__ import annotations

import pytest

from tests.web.test_web_customer import ask_typed, events, wait_connected

SOURCE_IS = "(id) => document.getElementById('answer-source').dataset.entry === id"


@pytest.mark.parametrize("lang,question,choose", [
    ("en", "How do I report a lost card?", "click"),
    ("zh", "银行卡丢了怎么办？", "keyboard"),
])
def test_web_follow_up_buttons_ask_their_question(open_page, web_server, ask, lang, question, choose):
    expected = ask(question, lang)
    related = expected["related"]
    assert expected["entry_id"] and related, expected
    page = open_page(f"{web_server.http}/?lang={lang}")
    wait_connected(page)
    assert page.is_hidden("#suggestions")
    ask_typed(page, question)
    page.wait_for_function(SOURCE_IS, arg=expected["entry_id"], timeout=30_000)
    page.wait_for_selector("#suggestions button.suggestion", state="visible", timeout=5_000)
    buttons = page.query_selector_all("#suggestion-list button.suggestion")
    assert [b.text_content() for b in buttons] == [r["question"] for r in related]
    assert [b.get_attribute("data-entry") for b in buttons] == [r["id"] for r in related]
    assert expected["entry_id"] not in [r["id"] for r in related]
    assert page.text_content("#suggestions-label") == ("You might also ask" if lang == "en" else "您可能还想问")
    assert {b.get_attribute("lang") for b in buttons} == {"en" if lang == "en" else "zh-CN"}

    pick = related[-1]
    follow = ask(pick["question"], lang)
    if choose == "click":
        buttons[-1].click()
    else:  # a native button: reachable and usable from the keyboard
        buttons[-1].focus()
        page.keyboard.press("Enter")
    page.wait_for_function(SOURCE_IS, arg=follow["entry_id"], timeout=30_000)
    assert follow["entry_id"] == pick["id"], follow  # an entry's own first question finds it
    assert page.text_content("#transcript") == pick["question"]
    assert page.text_content("#answer-text") == follow["text"]
    typed = [e for e in events(page.sent_frames, "input_text") if e["text"] == pick["question"]]
    assert len(typed) == 1 and typed[0]["language"] == lang, typed
    # The new answer brings its own follow-ups, none of them the entry just answered.
    page.wait_for_selector("#suggestions button.suggestion", state="visible", timeout=5_000)
    now = [b.get_attribute("data-entry") for b in page.query_selector_all("#suggestion-list button.suggestion")]
    assert now == [r["id"] for r in follow["related"]] and pick["id"] not in now
    page.wait_for_selector('#avatar[data-speaking="true"]', timeout=90_000)


def test_web_no_follow_ups_on_a_requested_handoff(open_page, web_server):
    page = open_page(f"{web_server.http}/?lang=en")
    wait_connected(page)
    ask_typed(page, "How do I report a lost card?")
    page.wait_for_selector("#suggestions button.suggestion", state="visible", timeout=30_000)
    ask_typed(page, "I want to talk to a real person")
    page.wait_for_selector("#handoff", state="visible", timeout=30_000)
    created = events(page.received_frames, "response.created")
    assert created[-1]["handoff"] and created[-1]["related"] == [], created[-1]
    assert page.is_hidden("#suggestions")
    assert page.query_selector_all("#suggestion-list button") == []
