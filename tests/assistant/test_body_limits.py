"""Every HTTP route refuses an oversized body with 413 before reading it (declared length) or at
the limit (chunked), on a real loopback server with fake engines."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import RunningServer
from tests.fakes import fake_services


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    from assistant.app import create_app

    services = fake_services(tmp_path_factory.mktemp("limits"),
                             limits={"anon_sessions_per_minute": 10_000, "max_body_bytes": 4096,
                                     "max_staff_body_bytes": 8192, "max_import_bytes": 16384})
    app = create_app(services.settings, services)
    with RunningServer(app, ws_max_size=4 * services.settings.limits.max_frame_bytes) as server:
        server.app = app
        yield server
    services.close()


def body_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route in the OpenAPI that takes a body, path parameters filled in."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method.upper() in ("POST", "PUT", "PATCH"):
                out.append((method.upper(), path.replace("{entry_id}", "lost-card").replace("{version}", "1")
                            .replace("{name}", "ada")))
    return out


def limit_of(path: str) -> int:
    return 16384 if path == "/v1/kb/import" else 8192 if path.startswith("/v1/kb/") else 4096


def test_every_route_with_a_body_is_bounded(limited):
    routes = body_routes(limited.app)
    assert {("POST", "/v1/ask"), ("POST", "/v1/tts"), ("POST", "/v1/kb/import"), ("POST", "/v1/feedback"),
            ("PUT", "/v1/kb/entries/lost-card")} <= set(routes) and len(routes) > 15
    with httpx.Client(base_url=limited.http, timeout=10) as http:
        for method, path in routes:
            big = b'{"text": "' + b"x" * limit_of(path) + b'"}'
            declared = http.request(method, path, content=big, headers={"content-type": "application/json"})
            assert declared.status_code == 413, (method, path, declared.status_code)

            def chunks(data=big):
                for i in range(0, len(data), 1000):
                    yield data[i:i + 1000]

            streamed = http.request(method, path, content=chunks(), headers={"content-type": "application/json"})
            assert streamed.status_code == 413, (method, path, "chunked", streamed.status_code)


def test_a_body_within_the_limit_still_works(limited):
    r = httpx.post(f"{limited.http}/v1/ask", json={"text": "how do I report a lost card"},
                   headers={"Origin": limited.http})
    assert r.status_code == 200 and r.json()["entry_id"] == "lost-card"


def test_twenty_megabytes_are_refused_without_being_read(limited):
    huge = b"[" + b"1," * (10 * 1024 * 1024) + b"1]"
    start = time.perf_counter()
    r = httpx.post(f"{limited.http}/v1/ask", content=huge, headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413 and "larger than 4096 bytes" in r.json()["detail"]
    assert time.perf_counter() - start < 5
