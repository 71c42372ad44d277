"""TurnDetector on scripted audio (tests/fakes.EnergyVad: a tone is speech, zeros are silence):
the events a stream produces, in order, with no socket, session or model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assistant.settings import Endpointing
from assistant.turn_detector import (PREROLL_MS, TAIL_MS, MayCommit, PartialDue, Paused, Resumed, SpeechStart,
                                     TooLong, TurnDetector, TurnEnded)
from tests.fakes import RATE, EnergyVad, silence, tone


def pcm(audio: np.ndarray, rate: int = RATE) -> list[bytes]:
    """20 ms PCM16 chunks, as a microphone sends them."""
    step = rate // 50
    data = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    return [data[i:i + step].tobytes() for i in range(0, len(data), step)]


def run(detector: TurnDetector, *pieces: np.ndarray, rate: int = RATE) -> list:
    events = []
    for chunk in pcm(np.concatenate(pieces), rate):
        events.extend(detector.feed(chunk))
    return events


def kinds(events: list, *, partials: bool = False) -> list[str]:
    return [type(e).__name__ for e in events if partials or not isinstance(e, PartialDue)]


def detector(**kw) -> TurnDetector:
    return TurnDetector(Endpointing(), EnergyVad(), input_rate=kw.pop("input_rate", RATE), **kw)


def test_a_question_then_silence_gives_the_milestones_in_order():
    events = run(detector(), silence(0.5), tone(1.5), silence(1.3))
    assert kinds(events, partials=True) == ["SpeechStart", "PartialDue", "Paused", "MayCommit", "TurnEnded"]
    start, ended = events[0], events[-1]
    assert {getattr(e, "turn_id", None) for e in events[:-1]} == {start.turn_id} == {ended.turn.turn_id}
    assert abs(start.audio_start_ms - 500) <= 64
    # The turn's audio: a little before the start, the speech, and a short tail.
    expected = (PREROLL_MS + 1500 + TAIL_MS) / 1000
    assert abs(len(ended.turn.audio) / RATE - expected) < 0.1
    assert abs(ended.speech_end_ms - 2000) <= 64 and ended.silence_s == pytest.approx(1.0, abs=0.04)


def test_the_pause_carries_the_audio_so_far_and_resumed_speech_makes_it_stale():
    events = run(detector(), silence(0.3), tone(0.8), silence(0.25), tone(0.6), silence(1.3))
    assert kinds(events) == ["SpeechStart", "Paused", "Resumed", "Paused", "MayCommit", "TurnEnded"]
    first, second = [e for e in events if isinstance(e, Paused)]
    assert len(first.audio) < len(second.audio)
    assert len(events[-1].turn.audio) / RATE > 0.8 + 0.25 + 0.6   # both clauses are one turn


def test_a_cough_is_not_a_turn():
    assert run(detector(), silence(0.3), tone(0.1), silence(1.5)) == []


def test_end_turn_is_the_sessions_early_commit():
    d = detector()
    events = run(d, tone(1.0), silence(0.4))
    assert kinds(events)[-1] == "MayCommit" and d.may_commit and d.in_turn
    ended = d.end_turn()
    assert isinstance(ended, TurnEnded) and ended.turn.turn_id == events[0].turn_id
    assert not d.in_turn and d.turn_id is None and not d.may_commit
    assert run(d, silence(1.5)) == []            # no second end for the same turn
    again = run(d, tone(0.5), silence(1.2))      # the next turn gets a new id
    assert again[0].turn_id != events[0].turn_id


def test_push_to_talk_ends_only_on_commit_with_everything_buffered():
    d = detector(push_to_talk=True)
    events = run(d, silence(0.5), tone(0.6), silence(2.0))
    assert kinds(events) == ["SpeechStart"]
    ended = d.commit()
    assert ended is not None and len(ended.turn.audio) / RATE == pytest.approx(3.1, abs=0.05)
    assert d.commit() is None                    # nothing heard since


def test_commit_in_vad_mode_needs_a_turn():
    d = detector()
    run(d, silence(1.0))
    assert d.commit() is None
    run(d, tone(0.5))
    assert d.commit() is not None


def test_a_turn_past_the_limit_ends_with_too_long():
    events = run(detector(max_utterance_s=2.0), tone(2.5))
    assert kinds(events)[0] == "SpeechStart"
    too_long = [i for i, e in enumerate(events) if isinstance(e, TooLong)]
    assert len(too_long) == 1 and isinstance(events[too_long[0] + 1], TurnEnded)
    assert events[too_long[0]].limit_s == 2.0


def test_partials_come_at_the_interval_counted_from_the_last_partials_end():
    d = detector(partial_interval_ms=500)
    events = run(d, tone(1.3))
    due = [e for e in events if isinstance(e, PartialDue)]
    assert len(due) == 2 and len(due[0].audio) < len(due[1].audio)
    d.partial_done()                              # a partial that just finished restarts the interval
    assert not [e for e in run(d, tone(0.4)) if isinstance(e, PartialDue)]


def test_any_input_rate_is_resampled_to_16k():
    src = np.repeat(np.concatenate([silence(0.3), tone(1.0), silence(1.2)]), 3)   # the same audio at 48 kHz
    events = run(detector(input_rate=48_000), src, rate=48_000)
    assert kinds(events) == ["SpeechStart", "Paused", "MayCommit", "TurnEnded"]
    assert abs(len(events[-1].turn.audio) / RATE - (PREROLL_MS + 1000 + TAIL_MS) / 1000) < 0.15


def test_turns_are_frozen_and_timed_by_the_injected_clock():
    ticks = iter(range(1000, 100000))
    d = TurnDetector(Endpointing(), EnergyVad(), input_rate=RATE, clock=lambda: float(next(ticks)))
    ended = run(d, tone(0.6), silence(1.2))[-1]
    assert ended.turn.speech_end_wall is not None and ended.turn.speech_end_wall >= 1000
    with pytest.raises(dataclasses.FrozenInstanceError):
        ended.turn.text = "changed"  # type: ignore[misc]
    assert not ended.turn.typed


def test_events_name_nothing_but_data():
    """The detector's events are plain data: no callbacks, no references to a session."""
    for cls in (SpeechStart, PartialDue, Paused, Resumed, MayCommit, TooLong, TurnEnded):
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen


def test_push_to_talk_keeps_at_most_one_turn_of_audio():
    d = detector(push_to_talk=True, max_utterance_s=2.0)
    run(d, silence(5.0))
    assert d.buffered_samples <= 3 * RATE          # the cap, and at most a second before a trim


def test_a_frame_fed_on_a_worker_thread_and_an_early_commit_from_the_loop_never_interleave():
    """The session feeds frames on a worker thread while its event loop may end the turn early:
    the early commit waits for the frame, then sees the speech it resumed and does not end."""
    import threading
    import time

    gate, inside = threading.Event(), threading.Event()

    class HeldVad:
        """Energy VAD whose next call waits at `gate` (a frame still being analysed)."""

        def __init__(self):
            self.inner, self.hold = EnergyVad().detector(), False

        def reset_state(self):
            pass

        def process(self, audio):
            if self.hold:
                inside.set()
                gate.wait(5)
            return self.inner.process(audio)

    vad = HeldVad()
    d = TurnDetector(Endpointing(), type("Model", (), {"detector": lambda self: vad})(), input_rate=RATE)
    events = run(d, silence(0.3), tone(1.0), silence(0.5))
    assert "MayCommit" in kinds(events) and d.may_commit
    vad.hold = True
    speech_again = threading.Thread(target=lambda: run(d, tone(0.2)))
    speech_again.start()
    inside.wait(5)
    ended: list = []
    commit = threading.Thread(target=lambda: ended.append(d.end_turn_if_may_commit()))
    commit.start()
    time.sleep(0.1)
    assert commit.is_alive()          # waiting for the frame, not cutting the turn under it
    gate.set()
    speech_again.join(5)
    commit.join(5)
    assert ended == [None] and d.in_turn and not d.may_commit   # the customer went on: no early end


def test_long_silence_outside_a_turn_resets_the_vads_state_and_a_turn_never_does():
    d = detector()
    run(d, silence(5.0))
    resets = d._vad.resets
    assert resets == 2                                  # every 2 s of silence outside a turn
    run(d, tone(1.0), silence(0.5), tone(3.0))          # a long turn: no reset inside it
    assert d._vad.resets == resets
