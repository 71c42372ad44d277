"""Audio in, turn events out: buffering, resampling, VAD and turn tracking for one stream.

`TurnDetector.feed(pcm)` is synchronous and returns what the chunk caused, as small frozen events;
it knows nothing of sockets, sessions, transcription or answers. The session reads the events and
decides (barge-in, speculation, committing early); the only things it tells the detector back are
"end the turn now" (`end_turn`, `commit`) and "the partial transcript finished" (`partial_done`).

Events, in the order a turn produces them:

    SpeechStart ─▶ PartialDue* ─▶ Paused ─▶ (Resumed ─▶ PartialDue* ─▶ Paused)* ─▶ MayCommit ─▶ TurnEnded

`Paused` carries the audio so far (what a speculative transcription should hear); `MayCommit` says
the silence is long enough to commit to a confident answer; `TurnEnded` carries the finished,
immutable `Turn`. In push-to-talk mode only `SpeechStart` (and `TooLong`) are produced by audio;
the customer's button ends the turn through `commit()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Union

import numpy as np

from .audio import Resampler, pcm16_to_float
from .engines import VadModel
from .ids import new_id
from .settings import Endpointing
from .turns import WINDOW_MS, Signal, TurnTracker

if TYPE_CHECKING:
    from .answering import Speculation

RATE = 16_000
PREROLL_MS = 300     # audio kept before the detected start so the first syllable is not clipped
TAIL_MS = 250        # silence kept after the last voiced window; Whisper needs a little
# Unvoiced time outside a turn after which the VAD's recurrent state is reset: after 1.3 s of
# digital silence its onset is on time, after 25 s it is ~0.5 s late (SpeechDetector.reset_state).
VAD_RESET_MS = 2000
MIN_PARTIAL_S = 0.6


@dataclass(frozen=True)
class Turn:
    """One customer turn, as answered. Voice turns carry their audio (and, once the session
    attaches it, the speculation prepared at the pause); typed turns carry their text."""

    turn_id: str
    audio: np.ndarray | None = field(default=None, repr=False)
    text: str = ""
    language: str | None = None
    speech_end_wall: float | None = None   # monotonic time the last voiced window arrived
    speculation: "Speculation | None" = field(default=None, repr=False)
    tapped: str | None = None   # the clarifying question's option the customer tapped (its entry id)

    @property
    def typed(self) -> bool:
        return self.audio is None


@dataclass(frozen=True)
class SpeechStart:
    turn_id: str
    audio_start_ms: int


@dataclass(frozen=True)
class _TurnSoFar:
    turn_id: str
    audio: np.ndarray = field(repr=False)   # the turn's audio up to this event, 16 kHz float32


@dataclass(frozen=True)
class PartialDue(_TurnSoFar):
    """Time for a partial transcript of the turn so far."""


@dataclass(frozen=True)
class Paused(_TurnSoFar):
    """The first pause after speech: prepare the answer on `audio` (the turn so far)."""


@dataclass(frozen=True)
class Resumed:
    """Speech came back after `Paused`: whatever was prepared for that pause is stale."""

    turn_id: str


@dataclass(frozen=True)
class MayCommit:
    """Silence long enough to end the turn now if the prepared answer is confident."""

    turn_id: str


@dataclass(frozen=True)
class TooLong:
    """The turn passed `max_utterance_s`; a `TurnEnded` follows in the same batch."""

    turn_id: str
    limit_s: float


@dataclass(frozen=True)
class TurnEnded:
    turn: Turn
    speech_end_ms: int    # stream time at the end of the last voiced window
    silence_s: float      # silence waited before the turn ended (the endpointing cost)


TurnEvent = Union[SpeechStart, PartialDue, Paused, Resumed, MayCommit, TooLong, TurnEnded]


@dataclass
class _Buffer:
    """Audio since `origin` (absolute 16 kHz sample index), kept as chunks until needed."""

    origin: int = 0
    chunks: list[np.ndarray] = field(default_factory=list)
    length: int = 0

    @property
    def end(self) -> int:
        return self.origin + self.length

    def append(self, x: np.ndarray) -> None:
        self.chunks.append(x)
        self.length += len(x)

    def keep_from(self, absolute: int) -> None:
        drop = absolute - self.origin
        if drop <= 0:
            return
        audio = self.array()[drop:]
        self.chunks, self.length, self.origin = [audio], len(audio), absolute

    def array(self, end: int | None = None) -> np.ndarray:
        if len(self.chunks) != 1:
            self.chunks = [np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)]
        audio = self.chunks[0]
        return audio if end is None else audio[: max(0, end - self.origin)]

    def copy(self, end: int | None = None) -> np.ndarray:
        return self.array(end).copy()


class TurnDetector:
    """Turn tracking for one audio stream (one session's microphone).

    Args:
      endpointing: the silence milestones and thresholds (settings.endpointing).
      vad: the shared VAD model; the detector makes its own stateful stream from it.
      input_rate: the client's sample rate; audio is resampled to 16 kHz.
      push_to_talk: only `commit()` ends a turn (the session may flip it between turns).
      max_utterance_s: a longer turn is ended with `TooLong`.
      partial_interval_ms: the least time between the end of one partial and the next `PartialDue`.
      clock: monotonic seconds, for `Turn.speech_end_wall` (latency is timed from it).
    """

    def __init__(self, endpointing: Endpointing, vad: VadModel, *, input_rate: int, push_to_talk: bool = False,
                 max_utterance_s: float = 30.0, partial_interval_ms: int = 1000,
                 clock: Callable[[], float] = time.monotonic):
        self.push_to_talk = push_to_talk
        self.input_rate = input_rate
        self._tracker = TurnTracker(endpointing)
        self._vad = vad.detector()
        self._resample = Resampler(input_rate, RATE)
        self._buffer = _Buffer()
        self._max_utterance_s = max_utterance_s
        self._partial_interval_ms = partial_interval_ms
        self._clock = clock
        self._turn_id: str | None = None
        self._speech_end_wall: float | None = None
        self._last_partial_ms = 0
        self._heard_any = False   # push-to-talk: anything voiced since the last commit
        self._quiet_ms = 0        # unvoiced time outside a turn since the VAD's state was last reset
        # `feed` runs on a worker thread (the session keeps the VAD off its event loop) while the
        # session may end the turn from the loop: one at a time, or a turn's audio is cut mid-frame.
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ state the session reads

    @property
    def turn_id(self) -> str | None:
        return self._turn_id

    @property
    def in_turn(self) -> bool:
        return self._tracker.in_turn

    @property
    def may_commit(self) -> bool:
        """The silence has passed `commit_after_ms` (and speech has not resumed since)."""
        return self._tracker.in_turn and self._tracker.may_commit

    @property
    def buffered_samples(self) -> int:
        return self._buffer.length

    # ------------------------------------------------------------------ audio in

    def feed(self, pcm: bytes) -> list[TurnEvent]:
        """PCM16LE mono at `input_rate` (an even number of bytes) → what it caused, in order."""
        with self._lock:
            return self._feed(pcm)

    def _feed(self, pcm: bytes) -> list[TurnEvent]:
        audio = self._resample(pcm16_to_float(pcm))
        self._buffer.append(audio)
        events: list[TurnEvent] = []
        t = self._tracker
        for prob in self._vad.process(audio):
            if prob >= t.config.speech_threshold:
                self._speech_end_wall = self._clock()
                self._quiet_ms = 0
            elif not t.in_turn:
                self._quiet_ms += WINDOW_MS
                if self._quiet_ms >= VAD_RESET_MS:   # see SpeechDetector.reset_state
                    self._vad.reset_state()
                    self._quiet_ms = 0
            for signal in t.push(float(prob)):
                self._on_signal(signal, events)
        if t.in_turn:
            if (t.now_ms - t.speech_start_ms) / 1000 > self._max_utterance_s:
                events.append(TooLong(self._turn_id or "", self._max_utterance_s))
                events.append(self.end_turn())
                return events
            self._maybe_partial(events)
        elif not self.push_to_talk:
            self._buffer.keep_from(t.now_ms * RATE // 1000 - PREROLL_MS * RATE // 1000)
        else:
            # Push-to-talk keeps audio for the button, but never much more than a turn may last;
            # trimmed a second at a time, not on every chunk (a trim copies the whole buffer).
            cap = int(self._max_utterance_s * RATE)
            if self._buffer.length > cap + RATE:
                self._buffer.keep_from(self._buffer.end - cap)
        return events

    def _on_signal(self, signal: Signal, events: list[TurnEvent]) -> None:
        t = self._tracker
        if signal is Signal.SPEECH_STARTED:
            self._heard_any = True
            if self._turn_id is None:
                self._turn_id = new_id("turn")
                if not self.push_to_talk:
                    self._buffer.keep_from(max(0, (t.speech_start_ms - PREROLL_MS) * RATE // 1000))
                self._last_partial_ms = t.now_ms
            events.append(SpeechStart(self._turn_id, t.speech_start_ms))
        elif self.push_to_talk or self._turn_id is None:
            return  # the customer's button, not silence, ends a push-to-talk turn
        elif signal is Signal.SPECULATE:
            events.append(Paused(self._turn_id, self._buffer.copy(t.now_ms * RATE // 1000)))
        elif signal is Signal.RESUMED:
            events.append(Resumed(self._turn_id))
        elif signal is Signal.MAY_COMMIT:
            events.append(MayCommit(self._turn_id))
        elif signal is Signal.SILENCE_TIMEOUT:
            events.append(self.end_turn())

    def _maybe_partial(self, events: list[TurnEvent]) -> None:
        t = self._tracker
        if t.pausing or self._turn_id is None:
            return
        if t.now_ms - self._last_partial_ms < self._partial_interval_ms or self._buffer.length < MIN_PARTIAL_S * RATE:
            return
        self._last_partial_ms = t.now_ms
        events.append(PartialDue(self._turn_id, self._buffer.copy()))

    def partial_done(self) -> None:
        """The last partial finished: the interval counts from here, so the one transcription slot
        stays free most of the time and the end-of-turn speculation never queues behind a partial."""
        with self._lock:
            self._last_partial_ms = self._tracker.now_ms

    # ------------------------------------------------------------------ ending a turn

    def end_turn(self, *, whole: bool = False) -> TurnEnded:
        """End the current turn now. Its audio runs to a short tail after the last speech, or, with
        `whole` (and always in push-to-talk), to everything buffered."""
        with self._lock:
            return self._end_turn(whole)

    def _end_turn(self, whole: bool) -> TurnEnded:
        t = self._tracker
        end = min(self._buffer.end, (t.speech_end_ms + TAIL_MS) * RATE // 1000)
        if self.push_to_talk or whole:
            end = self._buffer.end
        ended = TurnEnded(
            Turn(turn_id=self._turn_id or new_id("turn"), audio=self._buffer.copy(end),
                 speech_end_wall=self._speech_end_wall),
            speech_end_ms=t.speech_end_ms, silence_s=t.silence_ms / 1000)
        t.reset()
        self._turn_id = None
        self._heard_any = False
        self._buffer.keep_from(self._buffer.end)
        return ended

    def end_turn_if_may_commit(self) -> TurnEnded | None:
        """End the turn if its silence still allows an early commit, checked and ended at once: a
        frame fed meanwhile on the worker thread may have resumed the speech."""
        with self._lock:
            return self._end_turn(False) if self.may_commit else None

    def commit(self) -> TurnEnded | None:
        """The customer ended the turn (push-to-talk release, or a manual commit): all buffered
        audio is the turn. None when there is nothing to answer."""
        with self._lock:
            return self._commit()

    def _commit(self) -> TurnEnded | None:
        if self.push_to_talk:
            if not self._heard_any or self._buffer.length == 0:
                return None
        elif not self._tracker.in_turn:
            return None
        return self.end_turn(whole=True)

