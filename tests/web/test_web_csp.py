"""The pages work under their Content-Security-Policy (assistant/security_headers.py): in real
headless Chromium, the customer page answers a typed question (with audio and lip-sync) and the
staff console signs in and shows each of its screens, and the browser reports no violation of the
policy at all: neither a `securitypolicyviolation` event nor a console message about it."""

from __future__ import annotations

import secrets

import pytest

from tests.web.test_admin_console import PASSWORD, sign_in
from tests.web.test_web_customer import ask_typed, wait_connected

# Installed before any page script runs, so a violation during loading is caught too.
COLLECT = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
"""


@pytest.fixture
def watched(browser):
    """`open(url)` → a page whose CSP violations are collected; checked at the end of the test."""
    pages = []

    def open_(url: str):
        context = browser.new_context(viewport={"width": 1100, "height": 820})
        context.add_init_script(COLLECT)
        page = context.new_page()
        page.csp_console = []
        page.on("console", lambda m: page.csp_console.append(m.text)
                if "content security policy" in m.text.lower() else None)
        page.goto(url)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.context.close()


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations") + page.csp_console


def test_the_customer_page_answers_with_no_csp_violation(watched, web_server, ask):
    question = "How do I report a lost card?"
    expected = ask(question, "en")
    page = watched(f"{web_server.http}/")
    policy = page.evaluate("async () => (await fetch('/')).headers.get('content-security-policy')")
    assert "frame-ancestors 'self'" in policy and "script-src 'self';" in policy
    wait_connected(page)
    page.click("#lang-en")
    ask_typed(page, question)
    page.wait_for_function("() => document.getElementById('answer-text').textContent.length > 1", timeout=20_000)
    assert page.text_content("#answer-text") == expected["text"]
    # The answer's audio reaches the player (Web Audio under media-src/worker-src as the policy says).
    page.wait_for_function("() => window.teller.stats.chunks > 0", timeout=20_000)
    assert violations(page) == []


def test_the_staff_console_loads_every_screen_with_no_csp_violation(watched, web_server, services):
    name = f"csp-admin-{secrets.token_hex(3)}"
    services.kb_store.staff.add(name, "admin", password=PASSWORD)
    web_server.server.config.app.state.kb_login_per_minute = 10_000
    page = watched(f"{web_server.http}/admin/?lang=en")
    page.wait_for_function("() => window.adminConsole && window.adminConsole.ready === true", timeout=20_000)
    sign_in(page, name)
    for screen, ready in (("#/entries", "#entries-table table"), ("#/review", "#review-list[data-loaded]"),
                          ("#/gaps", "#gaps-entries"), ("#/audit", "#audit-grid tbody tr")):
        page.evaluate("h => { location.hash = h; }", screen)
        page.wait_for_selector(ready, state="attached", timeout=20_000)
    page.evaluate("h => { location.hash = h; }", "#/test")
    page.fill("#test-q", "I lost my card")
    page.press("#test-q", "Enter")
    page.wait_for_selector("#test-grid tbody tr", timeout=30_000)
    # The confidence bars are sized through the CSSOM (an inline style attribute would be blocked).
    width = page.evaluate("document.querySelector('#test-grid .meter-fill').style.width")
    assert width.endswith("%") and float(width[:-1]) > 0, width
    assert violations(page) == []
