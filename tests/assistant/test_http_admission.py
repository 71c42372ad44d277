"""`POST /v1/ask` and `/v1/tts` admit callers like a session: a kiosk token, a staff credential, or
an allowed origin (anonymous, rate-limited per address); anything else is refused before any
model work. A real loopback server, a real store (SQLite), fake engines."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from assistant.kiosks import KioskRegistry
from knowledge.store import KnowledgeStore
from tests.conftest import RunningServer
from tests.fakes import fake_services

QUESTION = {"text": "how do I report a lost card"}
SPEECH = {"text": "Hello.", "language": "en"}


@contextlib.contextmanager
def serve(tmp_path, **settings):
    from assistant.app import create_app

    services = fake_services(tmp_path, allowed_origins=["https://bank.example"], **settings)
    services.kb_store = KnowledgeStore(services.settings.knowledge_db)
    app = create_app(services.settings, services)
    with RunningServer(app, ws_max_size=1 << 20) as server:
        server.services = services
        yield server
    services.close()


@pytest.fixture(scope="module")
def teller(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("admission")) as server:
        yield server


def post(server, path, body, **headers):
    return httpx.post(f"{server.http}{path}", json=body, headers=headers, timeout=30)


@pytest.mark.parametrize("path,body", [("/v1/ask", QUESTION), ("/v1/tts", SPEECH)])
def test_anonymous_callers_need_an_allowed_origin(teller, path, body):
    assert post(teller, path, body).status_code == 403
    assert post(teller, path, body, Origin="https://evil.example").status_code == 403
    assert post(teller, path, body, Origin=teller.http).status_code == 200            # the server's own page
    assert post(teller, path, body, Origin="https://bank.example").status_code == 200  # configured


@pytest.mark.parametrize("path,body", [("/v1/ask", QUESTION), ("/v1/tts", SPEECH)])
def test_kiosks_and_staff_are_admitted_by_their_credentials(teller, path, body):
    store = teller.services.kb_store
    kiosk = KioskRegistry(store.db).add(f"k{path.rsplit('/', 1)[1]}")
    assert post(teller, path, body, Authorization=f"Bearer {kiosk}").status_code == 200
    who = f"ada-{path.rsplit('/', 1)[1]}"
    store.staff.add(who, "viewer", password="correct-horse-battery")
    key = store.staff.add_api_key(who, by="system").token
    assert post(teller, path, body, Authorization=f"Bearer {key}").status_code == 200
    for bad in ("Bearer dtk_nope", "Bearer dtkey_nope", "Basic abc", "Bearer"):
        assert post(teller, path, body, Authorization=bad).status_code == 401, bad
    store.staff.revoke(key, by="system")
    assert post(teller, path, body, Authorization=f"Bearer {key}").status_code == 401


def test_the_audit_names_the_channel(teller):
    kiosk = KioskRegistry(teller.services.kb_store.db).add("lobby-1")
    reply = post(teller, "/v1/ask", QUESTION, Authorization=f"Bearer {kiosk}").json()
    served = teller.services.kb_store.audit.find_served(reply["response_id"])
    assert served.actor == "ask:kiosk:lobby-1"


def test_anonymous_requests_are_rate_limited_per_address(tmp_path):
    with serve(tmp_path, limits={"anon_requests_per_minute": 3}) as server:
        codes = [post(server, "/v1/ask", QUESTION, Origin=server.http).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = post(server, "/v1/tts", SPEECH, Origin=server.http)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        kiosk = KioskRegistry(server.services.kb_store.db).add("k1")
        assert post(server, "/v1/ask", QUESTION, Authorization=f"Bearer {kiosk}").status_code == 200


def test_with_anonymous_access_off_a_credential_is_required(tmp_path):
    with serve(tmp_path, allow_anonymous=False) as server:
        assert post(server, "/v1/ask", QUESTION, Origin=server.http).status_code == 401
        kiosk = KioskRegistry(server.services.kb_store.db).add("k1")
        assert post(server, "/v1/ask", QUESTION, Authorization=f"Bearer {kiosk}").status_code == 200


def test_the_openapi_documents_the_refusals(teller):
    spec = httpx.get(f"{teller.http}/openapi.json").json()
    for path in ("/v1/ask", "/v1/tts"):
        assert {"401", "403", "413", "429"} <= set(spec["paths"][path]["post"]["responses"])
