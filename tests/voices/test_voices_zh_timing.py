"""How FastSpeech2's per-symbol frame counts become phones (no model needed)."""

import numpy as np

from voices.zh_timing import phones_and_words, timed_symbols

LOUD, QUIET = 0.5, -2.0


def test_prosody_marks_fold_into_phones_and_frames_are_kept():
    symbols = ["sil", "n", "in2", "#0", "h", "ao3", "#3", "^", "an1", "sil", "eos"]
    words = [None, 0, 0, None, 1, 1, None, 2, 2, None, None]
    durations = [4, 3, 5, 6, 2, 8, 10, 2, 7, 5, 3]
    timed = timed_symbols(symbols, words, durations)
    assert timed == [
        ("sil", 4, None), ("n", 3, 0), ("in2", 11, 0), ("h", 2, 1), ("ao3", 8, 1),
        ("sp", 10, None), ("an1", 9, 2), ("sil", 8, None),
    ]
    assert sum(f for _, f, _ in timed) == sum(durations)


def test_sounding_frames_at_the_start_of_a_pause_go_back_to_the_final():
    symbols = ["sil", "h", "ao3", "sil", "eos"]
    words = [None, 0, 0, None, None]
    durations = [2, 2, 4, 5, 1]
    # 14 frames: 2 quiet, 6 of "hao", then 2 still sounding inside the final sil.
    level = np.array([QUIET] * 2 + [LOUD] * 6 + [LOUD] * 2 + [QUIET] * 4)
    timed = timed_symbols(symbols, words, durations, frame_level=level)
    assert timed == [("sil", 2, None), ("h", 2, 0), ("ao3", 6, 0), ("sil", 4, None)]


def test_zero_length_phones_are_dropped_and_words_span_their_phones():
    timed = timed_symbols(["sil", "n", "in2", "sil", "eos"], [None, 0, 0, None, None], [2, 0, 6, 2, 2])
    phones, words = phones_and_words(timed, ["您"], 12.5)
    assert [p.symbol for p in phones] == ["sil", "in2", "sil"]
    assert [(w.text, w.start_ms, w.duration_ms) for w in words] == [("您", 25.0, 75.0)]
    assert sum(p.duration_ms for p in phones) == 12 * 12.5
