"""The one inference scheduler: every model call of every session waits here for a CPU thread.

Two cores serve twenty kiosks only if the work that a customer is waiting for right now goes
first. Each *lane* (`asr`, `tts`, `light`, `writes`) owns a few worker threads and one waiting
line ordered by

1. **priority** (`Priority`): a finished turn's final transcription and retrieval, then speech
   for an answer being played, then partials and speculation, then background pre-synthesis;
2. **fairness** within a priority: start-time fair queuing per client (`asking`), so one session
   that submits many jobs cannot starve another's; a kiosk's jobs weigh `kiosk_weight` times a
   web session's (kiosks are the bank's own counters and get reserved capacity);
3. arrival order.

Lines are bounded. A full line evicts its least important *optional* job (a partial, a
speculation, pre-synthesis: nothing a customer is owed) to make room; a job a customer is owed
is refused only when the wait it would face exceeds `max_wait_s`, with `ServerBusy` carrying a
`retry_after_ms` estimate. Optional jobs also expire after `speculative_deadline_s` in the line
(a stale partial is worth nothing), and they may never take a lane's last free worker, so a
finished turn always finds one within a job's length.

A `Ticket` lets a caller raise the priority of work it already queued: the speculation started
at a pause becomes the final transcription when the turn ends, without being queued twice.

Jobs run on this module's threads, never on the event loop; awaiting `Scheduler.run` is the
only way in. Cancelling the awaiting task withdraws a job that has not started.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import heapq
import itertools
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum
from functools import partial
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class Priority(IntEnum):
    FINAL = 0        # a finished turn: its final transcription, its retrieval
    SPEECH = 1       # speech for an answer being played that is not cached
    SPECULATIVE = 2  # partials, speculation at a pause and its prefetch, the turn-end model
    BACKGROUND = 3   # pre-synthesis of approved answers

    @property
    def optional(self) -> bool:
        """Nobody is owed this job: it may be evicted, expire, and never takes the last worker."""
        return self >= Priority.SPECULATIVE


@dataclass(frozen=True)
class Client:
    """Who a job is for: the fairness key (one per session or HTTP caller) and its weight."""

    key: str
    weight: float = 1.0


# Set by a session (its tasks inherit it) or an HTTP route before it submits work.
asking: ContextVar[Client] = ContextVar("asking", default=Client("server"))


class ServerBusy(RuntimeError):
    """The CPU cannot take this job in time; `retry_after_ms` is the scheduler's estimate."""

    def __init__(self, message: str, retry_after_ms: int = 1000):
        super().__init__(message)
        self.retry_after_ms = max(100, int(retry_after_ms))


class Ticket:
    """A handle on work a caller submitted (possibly several jobs one after the other) whose
    priority it may raise while a job still waits. Used from the event loop only."""

    def __init__(self, priority: Priority):
        self.priority = priority
        self._queued: tuple[Lane, _Job] | None = None

    def promote(self, priority: Priority) -> None:
        if priority >= self.priority:
            return
        self.priority = priority
        if self._queued is not None:
            lane, job = self._queued
            lane.requeue(job, priority)


@dataclass(eq=False)
class _Job:
    fn: Callable[[], Any]
    priority: Priority
    client: Client
    submitted: float
    deadline: float | None
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    entry: int = 0   # the sequence number of the job's live heap entry (older entries are stale)


def _fail(job: _Job, exc: BaseException) -> None:
    """Fail a job that has not started; a job its caller already cancelled stays cancelled."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        job.future.set_exception(exc)


@dataclass(frozen=True)
class LaneLoad:
    name: str
    workers: int
    running: int
    waiting: int
    waiting_owed: int          # waiting jobs a customer is owed (not optional)
    service_s: float           # recent mean time a job holds a worker
    wait_estimate_s: float     # how long a new owed job would wait now


class Lane:
    """One kind of model work: `workers` threads and a bounded, ordered waiting line."""

    def __init__(self, name: str, workers: int, *, max_waiting: int, speculative_deadline_s: float,
                 service_guess_s: float = 0.2):
        self.name = name
        self.workers = workers
        self.max_waiting = max_waiting
        self.speculative_deadline_s = speculative_deadline_s
        self._heap: list[tuple[int, float, int, _Job]] = []
        self._live: dict[int, _Job] = {}      # entry -> job, the jobs actually waiting
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = 0
        self._virtual = 0.0                   # the fairness tag of the job started last
        self._tags: dict[str, float] = {}     # each client's next fairness tag
        self._service_s = service_guess_s
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"dt-{name}-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ submitting

    def submit(self, fn: Callable[[], Any], priority: Priority, client: Client, *,
               max_wait_s: float) -> _Job:
        now = time.monotonic()
        deadline = now + self.speculative_deadline_s if priority.optional else None
        job = _Job(fn, priority, client, now, deadline)
        with self._cond:
            if self._closed:
                raise ServerBusy("the server is shutting down")
            if len(self._live) >= self.max_waiting and not self._evict_below(priority):
                raise ServerBusy(f"the {self.name} line is full", self._estimate_ms())
            if not priority.optional:
                wait = self._wait_estimate(priority)
                if wait > max_wait_s:
                    raise ServerBusy(f"the {self.name} line would take {wait:.1f} s", wait * 1000)
            self._push(job)
            self._cond.notify()
        return job

    def requeue(self, job: _Job, priority: Priority) -> None:
        """Raise a waiting job's priority (no effect once it started)."""
        with self._cond:
            if self._live.get(job.entry) is not job:
                return
            del self._live[job.entry]
            job.priority, job.deadline = priority, (job.deadline if priority.optional else None)
            self._push(job)
            self._cond.notify()

    def withdraw(self, job: _Job) -> None:
        """The caller stopped waiting: drop the job if it has not started."""
        with self._cond:
            if self._live.get(job.entry) is job:
                del self._live[job.entry]
                job.future.cancel()

    def _push(self, job: _Job) -> None:
        tag = max(self._virtual, self._tags.get(job.client.key, 0.0))
        self._tags[job.client.key] = tag + 1.0 / max(job.client.weight, 1e-3)
        job.entry = next(self._seq)
        self._live[job.entry] = job
        heapq.heappush(self._heap, (int(job.priority), tag, job.entry, job))

    def _evict_below(self, priority: Priority) -> bool:
        """Make room by failing the least important optional job that matters less than one of
        `priority` (between optional jobs of one priority, the oldest: it is the stalest)."""
        candidates = [j for j in self._live.values()
                      if j.priority.optional and (j.priority > priority or (priority.optional and j.priority == priority))]
        if not candidates:
            return False
        worst = max(candidates, key=lambda j: (j.priority, -j.entry))
        del self._live[worst.entry]
        _fail(worst, ServerBusy(f"the {self.name} line made room for more urgent work", self._estimate_ms()))
        return True

    # ------------------------------------------------------------------ estimates

    def _wait_estimate(self, priority: Priority) -> float:
        ahead = sum(1 for j in self._live.values() if j.priority <= priority)
        busy = self._running >= self.workers
        return (ahead + (1 if busy else 0)) * self._service_s / self.workers

    def _estimate_ms(self) -> float:
        return self._wait_estimate(Priority.BACKGROUND) * 1000 + self._service_s * 1000

    def load(self) -> LaneLoad:
        with self._cond:
            owed = sum(1 for j in self._live.values() if not j.priority.optional)
            return LaneLoad(self.name, self.workers, self._running, len(self._live), owed,
                            round(self._service_s, 4), round(self._wait_estimate(Priority.FINAL), 3))

    # ------------------------------------------------------------------ the workers

    def _next(self) -> _Job | None:
        """The most urgent runnable job, or None (called with the lock held)."""
        now = time.monotonic()
        while self._heap:
            _, tag, entry, job = self._heap[0]
            if self._live.get(entry) is not job:
                heapq.heappop(self._heap)            # stale: requeued, withdrawn or evicted
                continue
            if job.deadline is not None and now > job.deadline:
                heapq.heappop(self._heap)
                del self._live[entry]
                _fail(job, ServerBusy(f"waited too long in the {self.name} line", self._estimate_ms()))
                continue
            if job.priority.optional and self.workers > 1 and self._running >= self.workers - 1:
                return None                          # the last free worker is kept for owed work
            heapq.heappop(self._heap)
            del self._live[entry]
            self._virtual = max(self._virtual, tag)
            if len(self._tags) > 4096:               # clients at or behind the clock are as good as new
                self._tags = {k: t for k, t in self._tags.items() if t > self._virtual}
            return job
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (job := self._next()) is None:
                    # Wake now and then: an optional job's deadline may pass while nothing else moves.
                    self._cond.wait(timeout=0.5)
                if self._closed:
                    return
                self._running += 1
            ran, result, error, spent = job.future.set_running_or_notify_cancel(), None, None, 0.0
            if ran:
                started = time.perf_counter()
                try:
                    result = job.fn()
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                    error = exc
                spent = time.perf_counter() - started
            with self._cond:
                self._running -= 1
                if ran:
                    self._service_s = 0.8 * self._service_s + 0.2 * spent
                self._cond.notify_all()
            # Only now: a caller that wakes up sees the lane as it is after its job.
            if ran and error is not None:
                job.future.set_exception(error)
            elif ran:
                job.future.set_result(result)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            for job in self._live.values():
                job.future.cancel()
            self._live.clear()
            self._cond.notify_all()


class Scheduler:
    """All lanes; `await run(lane, fn, *args, priority=..., ticket=..., **kwargs)` runs `fn` on
    one of the lane's threads in the order described in the module docstring.

    `priority` and `ticket` are the scheduler's own keyword arguments; every other argument goes
    to `fn`."""

    def __init__(self, *, asr_workers: int = 1, tts_workers: int = 2, light_workers: int = 2,
                 max_waiting: int = 64, max_wait_s: float = 20.0, speculative_deadline_s: float = 2.0):
        self.max_wait_s = max_wait_s
        self.lanes = {
            "asr": Lane("asr", asr_workers, max_waiting=max_waiting, speculative_deadline_s=speculative_deadline_s,
                        service_guess_s=0.4),
            "tts": Lane("tts", tts_workers, max_waiting=max_waiting, speculative_deadline_s=speculative_deadline_s,
                        service_guess_s=0.3),
            "light": Lane("light", light_workers, max_waiting=max_waiting,
                          speculative_deadline_s=speculative_deadline_s, service_guess_s=0.03),
            # Audit and other small writes: never evicted, never behind a model.
            "writes": Lane("writes", 1, max_waiting=max_waiting * 16, speculative_deadline_s=speculative_deadline_s,
                           service_guess_s=0.01),
        }

    async def run(self, lane: str, fn: Callable[..., T], *args: Any, priority: Priority = Priority.FINAL,
                  ticket: Ticket | None = None, **kwargs: Any) -> T:
        target = self.lanes[lane]
        if ticket is not None:
            priority = ticket.priority
        job = target.submit(partial(fn, *args, **kwargs), Priority(priority), asking.get(), max_wait_s=self.max_wait_s)
        if ticket is not None:
            ticket._queued = (target, job)
        try:
            return await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            target.withdraw(job)
            raise
        finally:
            if ticket is not None and ticket._queued is not None and ticket._queued[1] is job:
                ticket._queued = None

    def load(self) -> dict[str, LaneLoad]:
        return {name: lane.load() for name, lane in self.lanes.items()}

    @property
    def pending(self) -> int:
        """Model jobs running or waiting now, in every lane."""
        return sum(load.running + load.waiting for load in self.load().values())

    def shutdown(self) -> None:
        for lane in self.lanes.values():
            lane.close()
