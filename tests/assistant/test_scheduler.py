"""The inference scheduler's promises, on real threads and plain functions (no model): priority,
fairness across sessions, bounded lines, deadlines, promotion, withdrawal."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from assistant.scheduler import Client, Priority, Scheduler, ServerBusy, Ticket, asking


@pytest.fixture()
def scheduler():
    s = Scheduler(asr_workers=1, tts_workers=2, light_workers=2, max_waiting=6, max_wait_s=30.0,
                  speculative_deadline_s=5.0)
    yield s
    s.shutdown()


async def _block(scheduler: Scheduler, lane: str = "asr") -> tuple[threading.Event, asyncio.Future]:
    """Occupy the lane's (first) worker until the event is set."""
    release = threading.Event()
    running = threading.Event()

    def hold() -> None:
        running.set()
        release.wait(10)

    task = asyncio.ensure_future(scheduler.run(lane, hold))
    while not running.is_set():
        await asyncio.sleep(0.005)
    return release, task


def _as(client: str, weight: float = 1.0):
    asking.set(Client(client, weight))


async def test_a_finished_turn_runs_before_speculation_that_came_first(scheduler):
    release, blocker = await _block(scheduler)
    order: list[str] = []
    spec = asyncio.ensure_future(scheduler.run("asr", order.append, "speculation", priority=Priority.SPECULATIVE))
    partial = asyncio.ensure_future(scheduler.run("asr", order.append, "partial", priority=Priority.SPECULATIVE))
    final = asyncio.ensure_future(scheduler.run("asr", order.append, "final", priority=Priority.FINAL))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(blocker, spec, partial, final)
    assert order == ["final", "speculation", "partial"]


async def test_one_busy_session_cannot_starve_another(scheduler):
    release, blocker = await _block(scheduler)
    order: list[str] = []

    async def submit(client: str, n: int) -> list[asyncio.Future]:
        _as(client)   # a task of its own: its context is the session's
        return [asyncio.ensure_future(scheduler.run("asr", order.append, f"{client}{i}")) for i in range(n)]

    greedy = await asyncio.ensure_future(submit("a", 5))
    polite = await asyncio.ensure_future(submit("b", 1))
    await asyncio.sleep(0.02)
    release.set()
    await asyncio.gather(blocker, *greedy, *polite)
    assert order.index("b0") <= 1, order        # not behind all five of a's


async def test_a_kiosk_gets_twice_a_web_sessions_share(scheduler):
    release, blocker = await _block(scheduler)
    order: list[str] = []

    async def submit(client: str, weight: float) -> list[asyncio.Future]:
        _as(client, weight)
        return [asyncio.ensure_future(scheduler.run("asr", order.append, client)) for i in range(3)]

    jobs = [*await asyncio.ensure_future(submit("web", 1.0)), *await asyncio.ensure_future(submit("kiosk", 2.0))]
    await asyncio.sleep(0.02)
    release.set()
    await asyncio.gather(blocker, *jobs)
    assert order[:4].count("kiosk") >= 2 and order[:3].count("kiosk") >= 2, order


async def test_a_full_line_drops_optional_work_for_a_finished_turn(scheduler):
    release, blocker = await _block(scheduler)
    optional = [asyncio.ensure_future(scheduler.run("asr", time.sleep, 0, priority=Priority.SPECULATIVE))
                for _ in range(6)]
    await asyncio.sleep(0.02)
    final = asyncio.ensure_future(scheduler.run("asr", lambda: "answered", priority=Priority.FINAL))
    await asyncio.sleep(0.02)
    dropped = [f for f in optional if f.done() and isinstance(f.exception(), ServerBusy)]
    assert len(dropped) == 1 and optional[0] in dropped      # the oldest optional job made room
    assert dropped[0].exception().retry_after_ms >= 100
    release.set()
    assert await final == "answered"
    await asyncio.gather(blocker, *optional, return_exceptions=True)


async def test_a_full_line_of_owed_work_refuses_with_retry_after(scheduler):
    release, blocker = await _block(scheduler)
    owed = [asyncio.ensure_future(scheduler.run("asr", time.sleep, 0)) for _ in range(6)]
    await asyncio.sleep(0.02)
    with pytest.raises(ServerBusy) as busy:
        await scheduler.run("asr", time.sleep, 0)
    assert busy.value.retry_after_ms >= 100
    with pytest.raises(ServerBusy):   # nor may optional work push out what a customer is owed
        await scheduler.run("asr", time.sleep, 0, priority=Priority.SPECULATIVE)
    release.set()
    await asyncio.gather(blocker, *owed)


async def test_optional_work_never_takes_the_last_free_worker(scheduler):
    release, blocker = await _block(scheduler, "tts")   # one of two speech threads busy
    started = threading.Event()
    spec = asyncio.ensure_future(scheduler.run("tts", started.set, priority=Priority.SPECULATIVE))
    await asyncio.sleep(0.1)
    assert not started.is_set()                          # kept for an answer being played
    assert await scheduler.run("tts", lambda: "spoken", priority=Priority.SPEECH) == "spoken"
    release.set()
    await asyncio.gather(blocker, spec)
    assert started.is_set()


async def test_stale_optional_work_expires_and_a_wait_too_long_is_refused():
    s = Scheduler(max_waiting=6, max_wait_s=0.5, speculative_deadline_s=0.1)
    try:
        release, blocker = await _block(s)
        ran = threading.Event()
        stale = asyncio.ensure_future(s.run("asr", ran.set, priority=Priority.SPECULATIVE))
        await asyncio.sleep(0.2)
        release.set()              # the worker frees up after the deadline: the stale job never runs
        await blocker
        with pytest.raises(ServerBusy):
            await stale
        assert not ran.is_set()
        release, blocker = await _block(s)
        # The lane's mean job is ~0.4 s: one running and one waiting ahead exceed 0.5 s.
        ahead = [asyncio.ensure_future(s.run("asr", time.sleep, 0))]
        await asyncio.sleep(0.02)
        with pytest.raises(ServerBusy) as busy:
            await s.run("asr", time.sleep, 0)
        assert "would take" in str(busy.value) and busy.value.retry_after_ms >= 500
        release.set()
        await asyncio.gather(blocker, *ahead)
    finally:
        s.shutdown()


async def test_a_promoted_speculation_runs_first_and_no_longer_expires():
    s = Scheduler(max_waiting=6, speculative_deadline_s=0.3)
    try:
        release, blocker = await _block(s)
        order: list[str] = []
        other = asyncio.ensure_future(s.run("asr", order.append, "partial", priority=Priority.SPECULATIVE))
        ticket = Ticket(Priority.SPECULATIVE)
        spec = asyncio.ensure_future(s.run("asr", order.append, "turn", ticket=ticket))
        await asyncio.sleep(0.02)
        ticket.promote(Priority.FINAL)      # the turn ended on this speculation
        await asyncio.sleep(0.6)            # past the optional deadline
        release.set()
        await asyncio.gather(blocker, spec, other, return_exceptions=True)
        assert order[0] == "turn" and spec.exception() is None
        assert other.done() and isinstance(other.exception(), ServerBusy)   # stale, dropped
    finally:
        s.shutdown()


async def test_a_cancelled_caller_withdraws_its_job(scheduler):
    release, blocker = await _block(scheduler)
    ran = threading.Event()
    job = asyncio.ensure_future(scheduler.run("asr", ran.set))
    await asyncio.sleep(0.02)
    job.cancel()
    await asyncio.sleep(0.02)
    assert scheduler.lanes["asr"].load().waiting == 0
    release.set()
    await blocker
    await asyncio.sleep(0.05)
    assert not ran.is_set()


async def test_errors_reach_the_caller_and_the_lane_goes_on(scheduler):
    def broken() -> None:
        raise ValueError("model failed")

    with pytest.raises(ValueError):
        await scheduler.run("light", broken)
    assert await scheduler.run("light", lambda x: x * 2, 21) == 42
    assert scheduler.pending == 0


async def test_pre_synthesis_waits_out_a_busy_server_instead_of_giving_up():
    """Background work is dropped first under load; the warm-up retries each step until it runs."""
    from types import SimpleNamespace

    from assistant.app import presynthesize

    made: list[tuple[str, str]] = []
    refusals = {"light": 1, "tts": 2}

    class Busy:
        async def run(self, lane, fn, *args, priority=None):
            assert priority is Priority.BACKGROUND
            if refusals[lane]:
                refusals[lane] -= 1
                raise ServerBusy("made room for a customer")
            return fn(*args)

    speaker = SimpleNamespace(missing=lambda texts: [("en", "Hello."), ("zh", "您好。")],
                              presynthesize_one=lambda lang, sentence: made.append((lang, sentence)))
    index = SimpleNamespace(entries=lambda: [])
    services = SimpleNamespace(speaker=speaker, inference=Busy(), index=index)
    assert await presynthesize(services, retry_s=0.01) == 2
    assert made == [("en", "Hello."), ("zh", "您好。")] and refusals == {"light": 0, "tts": 0}
