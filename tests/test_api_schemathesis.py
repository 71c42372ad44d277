"""Every HTTP route against requests generated from its own OpenAPI schema (Schemathesis): no
5xx, and every response as documented (status code, content type, body schema).

The app is the server's own (`assistant.app.create_app`) on the fakes of tests/fakes.py, with a
real knowledge store (SQLite) seeded with the fake knowledge base and the index following its
approvals, so generated requests reach the store, the index and the answer path, not just
validation. Staff routes are called with an admin's API key, the customer routes with a kiosk
token: what passes authentication is what gets exercised. Bounded and deterministic (a fixed
seed, no example database), so a CI failure replays the same way on a laptop.
"""

from __future__ import annotations

import itertools
import json

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from assistant.kiosks import KioskRegistry
from knowledge.staff import AuthError, Role
from knowledge.store import KnowledgeStore
from knowledge.sync import IndexFollower, sync
from tests.fakes import FAKE_KB, fake_services

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CONFIG = schemathesis.Config.from_dict({
    "seed": 20261203,
    # 30 generated requests per operation and phase (valid and invalid): about 30 s for every
    # route on a 2-core machine.
    "generation": {"max-examples": 30, "deterministic": True, "database": "none"},
})


class Credentials:
    """An admin's API key for the staff routes and a kiosk token for the customer routes.

    Generated requests may revoke, demote or disable the very admin they are sent as (revoke
    and disable take any name, and logout revokes the key it is called with), so the key is
    checked before each request and a fresh admin made when it no longer works."""

    def __init__(self, store: KnowledgeStore) -> None:
        self.store = store
        self.kiosk = KioskRegistry(store.db).add("fuzz-kiosk")
        self._names = (f"fuzz-admin-{n}" for n in itertools.count())
        self._key = self._new_admin()

    def _new_admin(self) -> str:
        name = next(self._names)
        self.store.staff.add(name, Role.admin, password="correct-horse-battery")
        return self.store.staff.add_api_key(name, by="system", label="schemathesis").token

    def admin(self) -> str:
        try:
            if self.store.staff.authenticate(self._key).role == Role.admin:
                return self._key
        except AuthError:
            pass
        self._key = self._new_admin()
        return self._key

    def headers(self, path: str, method: str) -> dict[str, str]:
        if (method, path) == ("POST", "/v1/kb/logout"):
            # Logging out revokes the credential presented: a throwaway one, not the shared key.
            return {"Authorization": f"Bearer {self._new_admin()}"}
        if path.startswith("/v1/kb/"):
            return {"Authorization": f"Bearer {self.admin()}"}
        return {"Authorization": f"Bearer {self.kiosk}"}


@pytest.fixture(scope="module")
def teller(tmp_path_factory):
    from assistant.app import create_app

    folder = tmp_path_factory.mktemp("schemathesis")
    services = fake_services(folder)
    store = services.kb_store = KnowledgeStore(services.settings.knowledge_db)
    seed = folder / "seed.jsonl"
    seed.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in FAKE_KB), encoding="utf-8")
    sync(store, services.index, seed_file=seed)
    services.kb_follower = IndexFollower(store, services.index).attach()
    app = create_app(services.settings, services)
    # Login and feedback are rate-limited per address, and every generated request comes from
    # one: lifted here, or most requests would only ever see the limit's 429 (documented).
    app.state.kb_login_per_minute = app.state.kb_feedback_per_minute = 1_000_000
    app.state.credentials = Credentials(store)
    yield app
    store.close()
    services.close()


def _schema() -> dict:
    from assistant.app import create_app
    from assistant.settings import Settings

    # The routes, and so the schema, do not depend on the services (loaded at start-up): it is
    # read at collection time from an app that loads nothing, and the requests go to `teller`.
    # (Schemathesis's `from_fixture` cannot be used: it renames pytest nodes through an
    # attribute pytest 9 no longer has.)
    return create_app(Settings()).openapi()


schema = schemathesis.openapi.from_dict(_schema(), config=CONFIG)


@schema.parametrize()
def test_every_route_answers_generated_requests_as_documented(case, teller):
    headers = teller.state.credentials.headers(case.path, case.method.upper())
    case.call_and_validate(app=teller, headers=headers, checks=CHECKS)


def test_every_http_route_is_in_the_schema(teller):
    """The run above covers what /openapi.json lists; a route left out of it would go untested."""
    from fastapi.routing import APIRoute, iter_route_contexts

    listed = {(method.upper(), path) for path, ops in teller.openapi()["paths"].items() for method in ops}
    # Included routers' routes too (FastAPI includes them lazily), whether in the schema or not.
    routed = {(method, route.path) for route in iter_route_contexts(teller.routes)
              if isinstance(route.original_route, APIRoute) for method in route.methods}
    assert routed == listed
    assert teller.openapi() == _schema()   # the schema the requests were generated from
    assert {("POST", "/v1/ask"), ("POST", "/v1/tts"), ("POST", "/v1/feedback"), ("GET", "/readyz"),
            ("GET", "/metrics"), ("POST", "/v1/kb/login"), ("GET", "/v1/kb/staff")} <= listed
