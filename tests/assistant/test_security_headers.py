"""Security headers: a Content-Security-Policy on every HTML page (customer page, staff console,
API docs), `frame-ancestors` from the `frame_ancestors` setting on the customer page only, and
nosniff + no-referrer on every response. The real app on fake engines (fast tier); that the pages
still work under the policy is tests/web/test_web_csp.py's."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from assistant.security_headers import docs_policy, page_policy
from tests.fakes import fake_services

BANK = "https://www.example-bank.cn"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from assistant.app import create_app

    services = fake_services(tmp_path_factory.mktemp("csp"), frame_ancestors=[BANK])
    with TestClient(create_app(services.settings, services)) as client:
        yield client
    services.close()


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


@pytest.mark.parametrize("path", ["/", "/index.html", "/admin/", "/admin/index.html"])
def test_every_page_has_a_strict_policy(client, path):
    got = client.get(path)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
    csp = directives(got.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"] and csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in got.headers["content-security-policy"]
    assert "'unsafe-eval'" not in got.headers["content-security-policy"]
    # The page's own WebSocket, on the host it was loaded from (TestClient's is "testserver").
    assert {"'self'", "ws://testserver", "wss://testserver"} == set(csp["connect-src"])
    expected = ["'self'", BANK] if not path.startswith("/admin") else ["'self'"]
    assert csp["frame-ancestors"] == expected
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/", "/admin/"])
def test_the_pages_have_no_inline_script_or_style(client, path):
    html = client.get(path).text
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), "inline <script> would be blocked"
    assert "<style" not in html and " style=" not in html and not re.search(r"\son[a-z]+=", html)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_allow_exactly_their_inline_blocks(client, path):
    got = client.get(path)
    csp = directives(got.headers["content-security-policy"])
    inline = re.findall(r"<(script|style)>(.*?)</\1>", got.text, re.S)
    assert inline, "FastAPI's docs page starts its UI with an inline block"
    for tag, body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp[f"{tag}-src"]
    assert "'unsafe-inline'" not in got.headers["content-security-policy"]
    assert csp["frame-ancestors"] == ["'self'"]


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/v1/kb/me", "/app.js"])
def test_every_response_is_nosniff_and_no_referrer(client, path):
    got = client.get(path)
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in got.headers   # not HTML: nothing for a policy to govern


def test_a_forged_host_header_never_reaches_the_policy():
    assert "ws:" not in page_policy("evil.example; script-src *")
    assert "ws://[::1]:8000" in page_policy("[::1]:8000")
    assert "'sha256-" not in docs_policy(b'<script src="https://cdn.jsdelivr.net/x.js"></script>')
