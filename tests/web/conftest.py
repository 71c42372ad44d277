"""Browser-test fixtures: the app on a known port (so the page's origin can be allowed), Debian's
Chromium driven by Playwright's Python API, a fake microphone file, screenshots on failure.

The pages are served with their Content-Security-Policy (no 'unsafe-eval'), and Playwright
evaluates a `wait_for_function` *expression* string with eval inside the page whenever it has to
poll, which the policy blocks: give it a function (`"() => window.teller.ready"`), never a bare
expression.

Needs `pip install playwright` (the Python package only: no `playwright install`) and Chromium at
/usr/bin/chromium (`apt-get install -y chromium`). Without Chromium the tests skip with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from benchmarks.loopback import free_port
from tests.conftest import ARTIFACTS, RunningServer
from tests.web.mic import FAKE_MEDIA, write_mic_file

CHROMIUM = os.environ.get("DT_CHROMIUM", "/usr/bin/chromium")
BASE_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def _chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


# ---------------------------------------------------------------- the app on a chosen port


@pytest.fixture(scope="session")
def web_server_factory(settings, services):
    """`start(port=None)` → a started RunningServer on a free (or the caller's) port; no origin is
    configured, so every page test also proves the server admits its own page on any port."""
    from assistant.app import create_app

    started: list[RunningServer] = []

    def start(port: int | None = None) -> RunningServer:
        port = port or free_port()
        changed = settings.model_copy(update={"allowed_origins": []})
        srv = RunningServer(create_app(changed, services), ws_max_size=4 * changed.limits.max_frame_bytes, port=port)
        srv.__enter__()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        if srv.thread.is_alive():
            srv.__exit__(None, None, None)


@pytest.fixture(scope="session")
def web_server(web_server_factory):
    return web_server_factory()


@pytest.fixture(scope="session")
def ask(web_server):
    """The answer the server gives to a typed question over HTTP (the expectation for the page)."""

    def run(text: str, language: str | None = None) -> dict:
        body = json.dumps({"text": text, **({"language": language} if language else {})}).encode()
        req = urllib.request.Request(f"{web_server.http}/v1/ask", data=body,
                                     headers={"Content-Type": "application/json", "Origin": web_server.http})
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read())

    return run


# ---------------------------------------------------------------- the browser


# Module scope, not session: Playwright's sync API keeps an event loop running on the main
# thread while it is open, and any later test that calls asyncio.run() would fail under it.
@pytest.fixture(scope="module")
def playwright_instance():
    path = _chromium_path()
    if path is None:
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (Python package)")
    with sync_api.sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def launch(playwright_instance):
    """`launch(extra_args)` → a Chromium browser (closed at the end of the session)."""
    browsers = []

    def start(extra: list[str] | None = None):
        browser = playwright_instance.chromium.launch(
            executable_path=_chromium_path(), headless=True, args=BASE_ARGS + list(extra or []))
        browsers.append(browser)
        return browser

    yield start
    for b in browsers:
        b.close()


@pytest.fixture(scope="module")
def browser(launch):
    return launch(FAKE_MEDIA)


@pytest.fixture(scope="session")
def question_wav(tmp_path_factory, speech_bank):
    """`make(text, lang)` → a WAV of the question padded with silence (Chromium loops the file)."""
    folder = tmp_path_factory.mktemp("fake-mic")

    def make(text: str, lang: str, lead_s: float = 0.8, tail_s: float = 25.0) -> Path:
        path = folder / f"question-{lang}-{abs(hash(text)) % 10**8}.wav"
        return write_mic_file(path, speech_bank(text, lang), lead_s, tail_s)

    return make


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def open_page(request, browser):
    """`open_page(url, browser=None)` → a page in a fresh context; a screenshot is saved on failure."""
    pages = []

    def open_(url: str, on=None):
        context = (on or browser).new_context(viewport={"width": 1100, "height": 820})
        page = context.new_page()
        page.console_lines = []
        page.on("console", lambda msg: page.console_lines.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda err: page.console_lines.append(f"pageerror: {err}"))
        page.sent_frames, page.received_frames = [], []  # JSON frames on the page's WebSockets

        def on_ws(ws):
            ws.on("framesent", lambda p: page.sent_frames.append(p) if isinstance(p, str) else None)
            ws.on("framereceived", lambda p: page.received_frames.append(p) if isinstance(p, str) else None)

        page.on("websocket", on_ws)
        pages.append(page)
        page.goto(url)
        return page

    yield open_
    rep = getattr(request.node, "rep_call", None)
    failed = rep is not None and rep.failed
    for i, page in enumerate(pages):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = f"{request.node.name}-{i}".replace("/", "_").replace("[", "-").replace("]", "")
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(page.console_lines), encoding="utf-8")
            except Exception:  # noqa: BLE001 - a dead page cannot be captured
                pass
        page.context.close()
