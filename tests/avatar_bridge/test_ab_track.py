"""LipSync: shift, window, join."""

import random

import pytest

from avatar_bridge import LipSync, Phone, Viseme, Word, join, normalize_viseme_name, visemes_from_phones
from avatar_bridge.ipa import ENGLISH_INVENTORY

TRACK = LipSync(
    [Viseme("sil", 0, 100), Viseme("PP", 100, 50), Viseme("aa", 150, 150), Viseme("sil", 300, 100)],
    [Word("pa", 100, 200), Word("!", 300, 100)],
)


def test_dataclasses_and_end():
    assert Phone("a", 10, 5).end_ms == 15
    assert Word("a", 10, 5).end_ms == 15
    assert Viseme("aa", 10, 5).end_ms == 15
    assert isinstance(TRACK.visemes, tuple) and isinstance(TRACK.words, tuple)
    assert TRACK.duration_ms == 400
    assert LipSync().duration_ms == 0
    with pytest.raises(ValueError):
        Viseme("ah", 0, 10)
    with pytest.raises(Exception):
        TRACK.visemes = ()


@pytest.mark.parametrize("raw,name", [("viseme_PP", "PP"), ("IH", "I"), ("OH", "O"), ("OU", "U"), ("kk", "kk")])
def test_normalize_names(raw, name):
    assert normalize_viseme_name(raw) == name


def test_shifted():
    s = TRACK.shifted(1000)
    assert [v.start_ms for v in s.visemes] == [1000, 1100, 1150, 1300]
    assert [v.duration_ms for v in s.visemes] == [100, 50, 150, 100]
    assert [w.start_ms for w in s.words] == [1100, 1300]
    assert s.duration_ms == 1400


def test_window_clips_visemes_and_keeps_absolute_times():
    w = TRACK.window(120, 320)
    assert [(v.name, v.start_ms, v.end_ms) for v in w.visemes] == [("PP", 120, 150), ("aa", 150, 300), ("sil", 300, 320)]
    assert [x.text for x in w.words] == ["!"]       # "pa" started before the window
    assert [x.text for x in TRACK.window(100, 120).words] == ["pa"]
    assert TRACK.window(400, 500) == LipSync()
    assert TRACK.window(50, 50) == LipSync()


def test_windows_rejoin_to_the_whole_track():
    rng = random.Random(3)
    for _ in range(200):
        symbols = [rng.choice(ENGLISH_INVENTORY + (",",)) for _ in range(rng.randint(1, 30))]
        phones, t = [], 0.0
        for s in symbols:
            d = rng.uniform(5, 150)
            phones.append(Phone(s, t, d))
            t += d
        words = [Word(f"w{i}", rng.uniform(0, t), 10) for i in range(5)]
        track = LipSync(visemes_from_phones(phones, "ipa"), sorted(words, key=lambda w: w.start_ms)).shifted(250)
        step = rng.uniform(10, 300)
        cuts, edge = [], 250.0
        while edge < track.duration_ms:
            cuts.append(track.window(edge, edge + step))
            edge += step
        rejoined = join((c, 0.0) for c in cuts)
        assert [v.name for v in rejoined.visemes] == [v.name for v in track.visemes]
        for a, b in zip(rejoined.visemes, track.visemes):
            assert a.start_ms == pytest.approx(b.start_ms, abs=1e-6)
            assert a.duration_ms == pytest.approx(b.duration_ms, abs=1e-6)
        assert rejoined.words == track.words                    # each word exactly once
        assert sum(v.duration_ms for c in cuts for v in c.visemes) == pytest.approx(t, abs=1e-6)


def test_join_and_concat_place_tracks_on_one_clock():
    a = LipSync([Viseme("PP", 0, 50), Viseme("aa", 50, 100)], [Word("pa", 0, 150)])
    b = LipSync([Viseme("sil", 0, 40), Viseme("U", 40, 60)], [Word("oo", 40, 60)])
    joined = join([(a, 0), (b, 200)])
    assert [(v.name, v.start_ms, v.end_ms) for v in joined.visemes] == [
        ("PP", 0, 50), ("aa", 50, 150), ("sil", 200, 240), ("U", 240, 300)]
    assert [(w.text, w.start_ms) for w in joined.words] == [("pa", 0), ("oo", 240)]
    assert a.concat(b, 200) == joined
    # the same shape meeting at a seam is one viseme
    c = LipSync([Viseme("aa", 0, 30)])
    assert join([(a, 0), (c, 150)]).visemes[-1] == Viseme("aa", 50, 130)
