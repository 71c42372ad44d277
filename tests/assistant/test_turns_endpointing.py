"""The end-of-turn tracker, driven window by window with VAD probabilities."""

from assistant.settings import Endpointing
from assistant.turns import WINDOW_MS, Signal, TurnTracker


def run(tracker, pattern):
    """pattern: list of (prob, n_windows); returns [(t_ms, signal)]."""
    out = []
    for prob, n in pattern:
        for _ in range(n):
            for sig in tracker.push(prob):
                out.append((tracker.now_ms, sig))
    return out


def test_a_blip_shorter_than_min_speech_opens_no_turn():
    t = TurnTracker(Endpointing(min_speech_ms=160))
    assert run(t, [(0.9, 4), (0.0, 10)]) == []  # 128 ms of voice
    assert not t.in_turn


def test_speech_then_silence_passes_each_milestone_once_in_order():
    cfg = Endpointing(min_speech_ms=96, speculate_after_ms=160, commit_after_ms=320, max_silence_ms=992)
    t = TurnTracker(cfg)
    signals = run(t, [(0.0, 5), (0.9, 20), (0.1, 40)])
    kinds = [s for _, s in signals]
    assert kinds[:4] == [Signal.SPEECH_STARTED, Signal.SPECULATE, Signal.MAY_COMMIT, Signal.SILENCE_TIMEOUT]
    start_t = signals[0][0]
    assert start_t == (5 + 3) * WINDOW_MS  # third voiced window reaches 96 ms
    assert t.speech_start_ms == 5 * WINDOW_MS
    end_of_speech = 25 * WINDOW_MS
    assert signals[1][0] - end_of_speech == 5 * WINDOW_MS   # 160 ms
    assert signals[2][0] - end_of_speech == 10 * WINDOW_MS  # 320 ms
    assert signals[3][0] - end_of_speech == 31 * WINDOW_MS  # 992 ms


def test_speech_resuming_after_speculation_says_resumed_and_restarts_the_clock():
    cfg = Endpointing(min_speech_ms=96, speculate_after_ms=160, commit_after_ms=320, max_silence_ms=1000)
    t = TurnTracker(cfg)
    signals = [s for _, s in run(t, [(0.9, 10), (0.0, 7), (0.9, 10), (0.0, 6)])]
    assert signals == [Signal.SPEECH_STARTED, Signal.SPECULATE, Signal.RESUMED, Signal.SPECULATE]
    assert t.in_turn and not t.may_commit


def test_a_short_pause_below_speculation_is_not_reported():
    t = TurnTracker(Endpointing(min_speech_ms=96, speculate_after_ms=160))
    signals = [s for _, s in run(t, [(0.9, 10), (0.0, 4), (0.9, 10)])]
    assert signals == [Signal.SPEECH_STARTED]


def test_reset_waits_for_a_new_start():
    t = TurnTracker(Endpointing(min_speech_ms=96))
    run(t, [(0.9, 5)])
    t.reset()
    assert not t.in_turn
    assert [s for _, s in run(t, [(0.9, 3)])] == [Signal.SPEECH_STARTED]
