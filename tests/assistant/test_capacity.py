"""Capacity a load balancer and the bank's kiosks can count on: `/readyz` says when this replica is
saturated, and the last places are kept for kiosks. Real loopback server, fake engines."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
import websockets

from assistant.kiosks import KioskRegistry
from knowledge.db import open_database
from tests.conftest import RunningServer
from tests.fakes import fake_services


@pytest.fixture()
def small(tmp_path):
    from assistant.app import create_app

    services = fake_services(tmp_path, allowed_origins=["http://localhost:8000"],
                             limits={"max_sessions": 3, "kiosk_reserved_sessions": 1},
                             scheduling={"hold_after_s": 0.1})
    with RunningServer(create_app(services.settings, services), ws_max_size=1 << 20) as server:
        server.services = services
        yield server
    services.close()


async def test_readyz_reports_saturation_and_recovers(small):
    assert httpx.get(f"{small.http}/readyz").json()["status"] == "ready"
    release = threading.Event()
    inference = small.services.inference

    async def hold():   # a long transcription, and a finished turn waiting behind it
        await inference.run("asr", release.wait, 10)

    holding = [asyncio.ensure_future(hold()) for _ in range(2)]
    await asyncio.sleep(0.2)
    busy = httpx.get(f"{small.http}/readyz")
    assert busy.status_code == 503 and busy.json()["status"] == "saturated"
    assert busy.json()["inference_queue"] == 2 and busy.json()["wait_estimate_s"] > 0.1
    release.set()
    await asyncio.gather(*holding)
    ready = httpx.get(f"{small.http}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


async def test_the_last_places_are_kept_for_kiosks(small):
    token = KioskRegistry(open_database(small.services.settings.knowledge_db)).add("lobby-1")
    web = [await websockets.connect(small.ws, origin="http://localhost:8000") for _ in range(2)]
    for ws in web:
        assert json.loads(await ws.recv())["type"] == "session.created"
    third = await websockets.connect(small.ws, origin="http://localhost:8000")
    with pytest.raises(websockets.ConnectionClosed) as refused:
        await asyncio.wait_for(third.recv(), 5)
    assert refused.value.rcvd.code == 1008 and "web visitors" in refused.value.rcvd.reason
    kiosk = await websockets.connect(small.ws, additional_headers={"Authorization": f"Bearer {token}"})
    assert json.loads(await kiosk.recv())["type"] == "session.created"
    saturated = httpx.get(f"{small.http}/readyz")
    assert saturated.status_code == 503 and saturated.json()["sessions"] == 3
    for ws in [*web, kiosk]:
        await ws.close()
