"""A text-only answer (`response.done` with `degraded: true`: speech synthesis failed) shows a small
note under the answer, in the page's language; the next answer hides it again. Real server, real
Chromium; the socket is routed through Playwright, which marks the first answer's `response.done`
degraded exactly as the server does when the voice fails (tests/assistant/test_session_stream.py
proves the server side)."""

from __future__ import annotations

import json

from tests.web.test_web_customer import ask_typed, wait_connected


def degrade_first_answer(ws):
    server = ws.connect_to_server()
    marked: list[str] = []

    def from_server(message):
        if isinstance(message, str):
            event = json.loads(message)
            if event.get("type") == "response.done" and not marked:
                marked.append(event["response_id"])
                message = json.dumps({**event, "degraded": True})
        ws.send(message)

    server.on_message(from_server)


def test_web_a_text_only_answer_is_noted_in_both_languages(browser, web_server):
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    try:
        page = context.new_page()
        page.route_web_socket("**/v1/session", degrade_first_answer)
        page.goto(f"{web_server.http}/")
        wait_connected(page)
        page.click("#lang-en")
        assert page.is_hidden("#text-only")
        ask_typed(page, "How do I report a lost card?")
        page.wait_for_selector("#text-only", state="visible", timeout=30_000)
        assert page.text_content("#text-only") == "This answer is shown as text only: speech is unavailable right now."
        assert len(page.text_content("#answer-text")) > 10   # the answer itself is all there
        page.click("#lang-zh")
        assert page.text_content("#text-only") == "本次回答仅以文字显示：语音暂时不可用。"
        ask_typed(page, "营业时间是什么？")                          # a normal answer: the note goes
        page.wait_for_selector("#text-only", state="hidden", timeout=30_000)
    finally:
        context.close()
