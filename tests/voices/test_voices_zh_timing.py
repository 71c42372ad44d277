"""How FastSpeech2's per-symbol frame counts become phones (no model needed)."""

import itertools

import numpy as np
import pytest

from voices.zh_timing import phones_and_words, piece_bounds, timed_symbols

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


# --- where a sentence is cut for streaming --------------------------------------

def _timed(*items):
    return [(symbol, frames, word) for symbol, frames, word in items]


PIECE_CASES = [
    # (timed items, first_frames, expected bounds)
    # Long enough: first piece = shortest word-aligned prefix of >= 10 frames.
    (_timed(("sil", 6, None), ("n", 3, 0), ("in2", 5, 0), ("h", 4, 1), ("ao3", 8, 1), ("d", 3, 2), ("e5", 9, 2),
            ("k", 4, 3), ("a3", 10, 3), ("sil", 8, None)), 10, [(0, 3), (3, 10)]),
    # Never inside a word: "n in2" stays together even though 9 frames would reach the target.
    (_timed(("sil", 6, None), ("n", 3, 0), ("in2", 20, 0), ("h", 4, 1), ("ao3", 30, 1), ("sil", 40, None)), 9,
     [(0, 3), (3, 6)]),
    # Every piece speaks (the leading silence alone is not a piece); later pieces
    # grow x2: 20 frames, then >= 40, then the rest (< 80) stays together.
    (_timed(("sil", 12, None), ("a1", 8, 0), ("a2", 8, 1), ("a3", 8, 2), ("a4", 8, 3), ("a1", 8, 4),
            ("a2", 8, 5), ("a3", 8, 6), ("a4", 8, 7), ("a1", 8, 8), ("a2", 8, 9), ("sil", 30, None)), 12,
     [(0, 2), (2, 7), (7, 12)]),
    # A short remainder stays with the piece before it: no cut at all here.
    (_timed(("sil", 6, None), ("h", 4, 0), ("ao3", 10, 0), ("sil", 5, None)), 10, [(0, 4)]),
    # One word only: nothing to cut between.
    (_timed(("h", 4, 0), ("ao3", 10, 0)), 1, [(0, 2)]),
]


@pytest.mark.parametrize("timed,first,expected", PIECE_CASES)
def test_piece_bounds(timed, first, expected):
    bounds = piece_bounds(timed, first)
    assert bounds == expected
    # Pieces tile the sentence, in order, with no gap.
    assert bounds[0][0] == 0 and bounds[-1][1] == len(timed)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
