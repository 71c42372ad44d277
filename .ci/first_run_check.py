"""Check a server started by the README's start command the way a newcomer would use it.

    python3 .ci/first_run_check.py --pid PID --log FILE [--url http://127.0.0.1:8000]

Waits for `/readyz` (the start command installs and prepares models first, so this can take
minutes), failing at once if the start command's process exits; then asks one Mandarin and one
English question over `POST /v1/ask`, one typed question over `WS /v1/session`, and opens `/` in
headless Chromium until the page says it is connected. Prints one line per check and how long the
first run took to become ready; exits non-zero on the first failure, with the log's tail.

Standard library up to readiness (nothing is installed before the start command runs); after it,
`websockets`, which the start command installed as a dependency of the server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

QUESTIONS = [("zh", "银行卡丢了怎么办？"), ("en", "How do I report a lost card?")]
TYPED = ("en", "What are your opening hours?")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class CheckFailed(Exception):
    pass


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(url: str, pid: int, limit_s: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise CheckFailed("the start command exited before the server was ready") from None
        try:
            status, body = get(f"{url}/readyz", timeout=2)
            if status == 200 and json.loads(body).get("status") == "ready":
                return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            pass
        time.sleep(1)
    raise CheckFailed(f"/readyz not ready after {limit_s:.0f} s")


def check_answer(body: dict, language: str, where: str) -> str:
    if not body.get("entry_id") or body.get("handoff") or body.get("language") != language:
        raise CheckFailed(f"{where}: expected a cited {language} answer, got {json.dumps(body, ensure_ascii=False)[:300]}")
    return body["entry_id"]


def ask_http(url: str, language: str, text: str) -> str:
    # As the page does: the server admits its own origin (anonymous clients need one).
    request = urllib.request.Request(f"{url}/v1/ask", data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json", "Origin": url})
    with urllib.request.urlopen(request, timeout=60) as res:
        return check_answer(json.loads(res.read()), language, f"POST /v1/ask {text!r}")


def ask_ws(url: str, language: str, text: str) -> str:
    from websockets.sync.client import connect

    ws_url = url.replace("http", "ws", 1) + "/v1/session"
    # The page's own origin: what a browser on the served page sends.
    with connect(ws_url, origin=url, open_timeout=10, max_size=2**24) as ws:
        def next_event() -> dict:
            return json.loads(ws.recv(timeout=60))

        if (first := next_event())["type"] != "session.created":
            raise CheckFailed(f"WS: expected session.created, got {first}")
        ws.send(json.dumps({"type": "input_text", "text": text}))
        created = None
        while (event := next_event())["type"] != "response.done":
            if event["type"] == "error":
                raise CheckFailed(f"WS: {event}")
            if event["type"] == "response.created":
                created = event
        if created is None:
            raise CheckFailed("WS: response.done without response.created")
        return check_answer(created, language, f"WS input_text {text!r}")


def page_connects(url: str, chromium: str, limit_s: float = 60.0) -> None:
    """Open the page in headless Chromium (DevTools protocol) until `#connection` is open."""
    from websockets.sync.client import connect

    profile = tempfile.mkdtemp(prefix="dt-first-run-chromium-")
    proc = subprocess.Popen([chromium, *CHROMIUM_ARGS, f"--user-data-dir={profile}",
                             "--remote-debugging-port=0", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.monotonic() > deadline:
                raise CheckFailed("Chromium did not open its DevTools port")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        _, body = get(f"http://127.0.0.1:{port}/json/list")
        target = next(t for t in json.loads(body) if t.get("type") == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=2**24) as cdp:
            ids = iter(range(1, 10**6))

            def call(method: str, **params) -> dict:
                ident = next(ids)
                cdp.send(json.dumps({"id": ident, "method": method, "params": params}))
                while True:
                    reply = json.loads(cdp.recv(timeout=30))
                    if reply.get("id") == ident:
                        return reply.get("result", {})

            call("Page.navigate", url=f"{url}/")
            probe = ("(() => { const c = document.querySelector('#connection');"
                     " return JSON.stringify({state: c && c.dataset.state, text: c && c.textContent,"
                     " configured: !!(window.teller && window.teller.state.configured)}); })()")
            deadline, seen = time.monotonic() + limit_s, {}
            while time.monotonic() < deadline:
                value = call("Runtime.evaluate", expression=probe).get("result", {}).get("value")
                seen = json.loads(value) if value else {}
                if seen.get("state") == "open" and seen.get("configured"):
                    return
                time.sleep(0.5)
            raise CheckFailed(f"the page did not connect: {seen}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, required=True, help="the start command's process")
    parser.add_argument("--log", type=Path, required=True, help="its output, shown on failure")
    parser.add_argument("--ready-within-s", type=float, default=1800)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    try:
        ready_s = wait_ready(args.url, args.pid, args.ready_within_s)
        print(f"first run: ready {ready_s:.0f} s after the start command began (install, models, start-up)")
        for language, text in QUESTIONS:
            print(f"POST /v1/ask ({language}) {text} -> {ask_http(args.url, language, text)}")
        print(f"WS /v1/session input_text ({TYPED[0]}) {TYPED[1]} -> {ask_ws(args.url, *TYPED)}")
        page_connects(args.url, args.chromium)
        print("GET / in Chromium: the page connected")
    except (CheckFailed, OSError) as exc:
        print(f"first run FAILED: {exc}", file=sys.stderr)
        if args.log.is_file():
            print("---- the start command's output (tail) ----", file=sys.stderr)
            print(args.log.read_text(errors="replace")[-6000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
