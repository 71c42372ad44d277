"""Invariants of visemes_from_phones: exact coverage, minimum durations, edges."""

import random

import pytest

from avatar_bridge import OCULUS_VISEMES, Phone, lipsync, visemes_from_phones
from avatar_bridge.ipa import ENGLISH_INVENTORY
from avatar_bridge.pinyin import FINALS, INITIALS

EPS = 1e-6


def phones_of(symbols, durations, start=0.0):
    out, t = [], start
    for s, d in zip(symbols, durations):
        out.append(Phone(s, t, d))
        t += d
    return out


def check_track(visemes, phones, min_ms):
    span_start = phones[0].start_ms
    span_end = max(p.end_ms for p in phones)
    assert visemes[0].start_ms == pytest.approx(span_start, abs=EPS)
    assert visemes[-1].end_ms == pytest.approx(span_end, abs=EPS)
    assert sum(v.duration_ms for v in visemes) == pytest.approx(span_end - span_start, abs=EPS)
    for a, b in zip(visemes, visemes[1:]):
        assert a.end_ms == pytest.approx(b.start_ms, abs=EPS)   # no gap, no overlap
        assert a.name != b.name                                 # repeats fused
    if len(visemes) > 1:
        assert min(v.duration_ms for v in visemes) >= min_ms - EPS
    assert all(v.name in OCULUS_VISEMES and v.duration_ms >= 0 for v in visemes)


IPA_POOL = list(ENGLISH_INVENTORY) + ["ˈ", "ˌ", "ː", " ", ",", ".", "^", "$", "_", "ʲ", "☃", "aɪ", "sil"]
PINYIN_POOL = (list(INITIALS) + [f + str(t) for f in FINALS for t in "12345"]
               + ["sil", "sp", "#0", "#1", "#2", "#3", "#4", "eos", "^", "anr3", "zhi4", "yu2", "???"])


@pytest.mark.parametrize("alphabet,pool", [("ipa", IPA_POOL), ("pinyin", PINYIN_POOL)])
def test_random_sequences_cover_span_exactly(alphabet, pool):
    rng = random.Random(20240611)
    for case in range(400):
        n = rng.randint(1, 40)
        symbols = [rng.choice(pool) for _ in range(n)]
        durations = [rng.choice([0.0, rng.uniform(0, 15), rng.uniform(10, 200)]) for _ in range(n)]
        start = rng.uniform(0, 5000) if case % 3 else 0.0
        phones = phones_of(symbols, durations, start)
        min_ms = rng.choice([0.0, 25.0, 40.0, 80.0])
        visemes = visemes_from_phones(phones, alphabet, min_ms=min_ms)
        check_track(visemes, phones, min_ms)


def test_random_timings_with_gaps_and_overlaps_still_tile():
    rng = random.Random(7)
    for _ in range(300):
        phones, t = [], rng.uniform(0, 100)
        for _ in range(rng.randint(1, 25)):
            t += rng.uniform(-20, 30)          # holes and overlaps between phones
            phones.append(Phone(rng.choice(IPA_POOL), max(t, 0.0), rng.uniform(0, 120)))
            t = phones[-1].end_ms
        visemes = visemes_from_phones(phones, "ipa", min_ms=40)
        # clipped on one clock: the span runs from the first start to the furthest end
        check_track(visemes, phones, 40)


def test_min_duration_merge_keeps_total_and_removes_short():
    phones = phones_of(["s", "a", "k", "t", "s", "a"], [100, 100, 20, 15, 30, 100])
    v = visemes_from_phones(phones, "ipa", min_ms=40)
    assert sum(x.duration_ms for x in v) == pytest.approx(365)
    assert all(x.duration_ms >= 40 - EPS for x in v)
    # shortest first, each into its shorter neighbour: t (15) into k (20), then s (30) into k+t (35)
    assert [(x.name, x.duration_ms) for x in v] == [("SS", 100), ("aa", 100), ("kk", 65), ("aa", 100)]
    unmerged = visemes_from_phones(phones, "ipa", min_ms=0)
    assert [x.name for x in unmerged] == ["SS", "aa", "kk", "DD", "SS", "aa"]


def test_short_lip_closure_borrows_rather_than_vanishes():
    phones = phones_of(["a", "m", "a"], [150, 20, 150])
    v = visemes_from_phones(phones, "ipa", min_ms=40)
    assert [(x.name, x.start_ms, x.duration_ms) for x in v] == [("aa", 0, 150), ("PP", 150, 40), ("aa", 190, 130)]


def test_short_closure_without_room_merges():
    phones = phones_of(["a", "m", "a"], [45, 20, 45])
    v = visemes_from_phones(phones, "ipa", min_ms=40)
    assert sum(x.duration_ms for x in v) == pytest.approx(110)
    assert all(x.duration_ms >= 40 - EPS for x in v)


def test_span_shorter_than_minimum_is_one_viseme():
    v = visemes_from_phones(phones_of(["p", "a"], [10, 15], start=100), "ipa", min_ms=40)
    assert len(v) == 1 and v[0].start_ms == 100 and v[0].duration_ms == pytest.approx(25)


@pytest.mark.parametrize("alphabet,symbols", [
    ("ipa", ["_", "h", "ə", "l", "o", "ʊ", "."]),
    ("ipa", ["^", "h", "ə", "l", "o", "ʊ", "$"]),
    ("pinyin", ["sil", "n", "i3", "h", "ao3", "sil"]),
    ("pinyin", ["sp", "n", "i3", "h", "ao3", "#4"]),
])
def test_edges_are_sil_when_phones_start_and_end_with_pauses(alphabet, symbols):
    durations = [200] + [80] * (len(symbols) - 2) + [200]
    v = visemes_from_phones(phones_of(symbols, durations), alphabet)
    assert v[0].name == "sil" and v[0].start_ms == 0 and v[0].duration_ms == 200
    assert v[-1].name == "sil" and v[-1].duration_ms == pytest.approx(200)


def test_gap_between_phones_is_silence():
    phones = [Phone("m", 0, 80), Phone("a", 80, 100), Phone("m", 400, 80), Phone("a", 480, 100)]
    v = visemes_from_phones(phones, "ipa")
    assert [(x.name, x.start_ms, x.end_ms) for x in v] == [
        ("PP", 0, 80), ("aa", 80, 180), ("sil", 180, 400), ("PP", 400, 480), ("aa", 480, 580)]


def test_empty_and_invalid_arguments():
    assert visemes_from_phones([], "ipa") == ()
    with pytest.raises(ValueError, match="ipa"):
        visemes_from_phones([Phone("a", 0, 1)], "arpabet")
    with pytest.raises(ValueError):
        visemes_from_phones([Phone("a", 0, 1)], "ipa", min_ms=-1)
    with pytest.raises(ValueError):
        Phone("a", 0, -5)


def test_lipsync_bundles_words():
    from avatar_bridge import Word
    words = [Word("ma", 0, 180)]
    tr = lipsync(phones_of(["m", "a"], [80, 100]), words, "ipa")
    assert tr.words == tuple(words)
    assert [v.name for v in tr.visemes] == ["PP", "aa"]
    assert tr.duration_ms == 180
