"""The customer page keeps its conversation through a dropped connection (docs/protocol.md,
"Resuming a session"): real server, real Chromium; the socket is routed through Playwright, which
cuts the first connection in the middle of an answer (the page sees an abnormal close, the server
a drop), and the page reconnects, resumes, and plays the rest of the answer to its
`response.done`. When the server refuses the resume, the page starts a new session and says so
quietly, in the page's language. The server side alone: tests/assistant/test_session_resume.py."""

from __future__ import annotations

import json
import re

from tests.web.test_web_customer import ask_typed, wait_connected

SESSION = re.compile(r".*/v1/session.*")


def cut_mid_answer(seen: dict, forge_token: bool = False):
    """Route every session socket; the first is cut after three audio chunks of its first answer."""

    def handler(ws):
        seen["connections"] = n = seen.get("connections", 0) + 1
        server = ws.connect_to_server()
        got = seen.setdefault(n, [])
        if n > 1:
            if forge_token:
                def from_page(message):
                    if isinstance(message, str) and '"session.resume"' in message:
                        message = json.dumps({**json.loads(message), "resume_token": "forged"})
                    server.send(message)
                ws.on_message(from_page)

            def relay(message):
                got.append(message)
                ws.send(message)
            server.on_message(relay)
            return

        def from_server(message):
            if seen.get("cut"):
                return
            event = json.loads(message) if isinstance(message, str) else {}
            if event.get("type") == "response.audio.delta" and \
                    sum('"response.audio.delta"' in m for m in got) == 3:
                seen["cut"] = event["response_id"]
                ws.close(code=4003, reason="network lost")       # the page: an unexpected close
                server.close(code=4000, reason="network lost")   # the server: a drop to resume
                return
            got.append(message)
            ws.send(message)
        server.on_message(from_server)

    return handler


def open_cut_page(browser, web_server, seen, forge_token=False):
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    page = context.new_page()
    page.route_web_socket(SESSION, cut_mid_answer(seen, forge_token))
    page.goto(f"{web_server.http}/")
    wait_connected(page)
    page.click("#lang-en")
    ask_typed(page, "How do I report a lost card?")
    return context, page


def test_web_the_page_resumes_a_dropped_answer_where_it_stopped(browser, web_server):
    seen: dict = {}
    context, page = open_cut_page(browser, web_server, seen)
    try:
        page.wait_for_function("() => window.teller.player.resp && window.teller.player.resp.done"
                               " && window.teller.state.configured", timeout=60_000)
        assert seen["connections"] == 2
        resumed = [json.loads(m) for m in seen[2] if isinstance(m, str)]
        kinds = [e["type"] for e in resumed]
        assert kinds[0] == "session.resumed" and "session.created" not in kinds, kinds
        assert "response.created" not in kinds and "response.audio.delta" in kinds
        done = next(e for e in resumed if e["type"] == "response.done")
        assert done["response_id"] == seen["cut"] and not done["interrupted"] and not done["cut"]
        state = page.evaluate("() => ({id: window.teller.player.resp.id, cut: window.teller.player.resp.cut,"
                              " conn: document.querySelector('#connection').dataset.state})")
        assert state == {"id": seen["cut"], "cut": False, "conn": "open"}
    finally:
        context.close()


def test_web_a_refused_resume_starts_a_new_conversation_and_says_so(browser, web_server):
    seen: dict = {}
    context, page = open_cut_page(browser, web_server, seen, forge_token=True)
    try:
        page.wait_for_selector('#connection[data-state="open"][data-extra="fresh"]', timeout=30_000)
        wait_connected(page)
        assert seen["connections"] == 3   # the refused resume, then a new session
        assert json.loads(seen[2][0])["code"] == "resume_refused"
        assert json.loads(seen[3][0])["type"] == "session.created"
        assert page.text_content("#connection-text") == (
            "Reconnected; the earlier conversation could not be continued, so a new one has started.")
        page.click("#lang-zh")
        assert page.text_content("#connection-text") == "已重新连接；之前的对话无法继续，已开始新的对话。"
        assert page.evaluate("() => window.teller.player.resp.done") is True   # that answer is over
    finally:
        context.close()
