"""Mandarin pinyin → Oculus visemes, from the reference table."""

import pytest

from avatar_bridge import Phone, unknown_symbols, visemes_from_phones


def track(symbols, durations=None, min_ms=0.0):
    durations = durations or [100.0] * len(symbols)
    phones, t = [], 0.0
    for s, d in zip(symbols, durations):
        phones.append(Phone(s, t, d))
        t += d
    return visemes_from_phones(phones, "pinyin", min_ms=min_ms)


def names(symbols, **kw):
    return [v.name for v in track(symbols, **kw)]


INITIALS = {
    "b": ["PP"], "p": ["PP"], "m": ["PP"], "f": ["FF"],
    "d": ["DD"], "t": ["DD"], "n": ["DD"], "l": ["nn"],
    "g": ["kk"], "k": ["kk"], "h": ["kk"],
    "j": ["CH"], "q": ["CH"], "x": ["CH"],
    "zh": ["DD", "SS"], "ch": ["DD", "SS"],
    "sh": ["SS"], "r": ["SS"], "z": ["SS"], "c": ["SS"], "s": ["SS"],
    "y": ["I"], "w": ["U"],
}

# The reference's final column with repeats fused (a repeat only lengthens a shape).
FINALS = {
    "a1": ["aa"], "o2": ["U", "O"], "e3": ["E"], "i4": ["I"], "u5": ["U"],
    "v3": ["U", "E"], "ü3": ["U", "E"],
    "ai4": ["aa", "E"], "ei2": ["E", "I"], "ui4": ["U", "E", "I"], "uei4": ["U", "E", "I"],
    "ao3": ["aa", "O"], "ou1": ["O", "U"], "iu2": ["I", "O", "U"], "iou2": ["I", "O", "U"],
    "ie3": ["I", "E"], "ve4": ["U", "E"], "üe4": ["U", "E"], "er2": ["DD", "aa"],
    "an1": ["aa", "DD"], "en1": ["aa", "DD"], "in1": ["I", "DD"],
    "un2": ["U", "aa", "DD"], "uen2": ["U", "aa", "DD"],
    "ang2": ["aa", "kk"], "eng1": ["aa", "kk"], "ing2": ["I", "aa", "kk"], "ong1": ["U", "kk"],
    "ia4": ["I", "aa"], "ian4": ["I", "aa", "DD"], "iang2": ["I", "aa", "kk"], "iao3": ["I", "aa", "O"],
    "iong3": ["U", "kk"],
    "ua1": ["U", "aa"], "uai4": ["U", "aa", "E"], "uan3": ["U", "aa", "DD"], "uang2": ["U", "aa", "kk"],
    "uo3": ["U", "O"],
    "ii1": ["I"], "iii4": ["I"], "van2": ["U", "aa", "DD"], "vn2": ["U", "E", "DD"],
    # erhua
    "anr3": ["aa", "DD", "RR"], "ar4": ["aa", "RR"],
}

WHOLE = {
    "zhi4": ["DD", "SS", "I"], "chi1": ["DD", "SS", "I"], "shi4": ["SS", "I"], "ri4": ["SS", "I"],
    "zi3": ["SS", "I"], "ci2": ["SS", "I"], "si1": ["SS", "I"],
    "yu2": ["U", "E"], "yue4": ["U", "E"], "yin2": ["I", "DD"], "ying2": ["I", "aa", "kk"],
    # other syllables split into initial + final, with the y/w and j/q/x + u spellings read
    "zhong1": ["DD", "SS", "U", "kk"], "ju4": ["CH", "U", "E"], "xue2": ["CH", "U", "E"],
    "yuan2": ["U", "aa", "DD"], "wo3": ["U", "O"], "ya4": ["I", "aa"], "wei4": ["U", "E", "I"],
    "lü4": ["nn", "U", "E"], "lv4": ["nn", "U", "E"], "nüe4": ["DD", "U", "E"],
    "bā": ["PP", "aa"], "huar1": ["kk", "U", "aa", "RR"], "de5": ["DD", "E"],
}


@pytest.mark.parametrize("symbol,expected", sorted(INITIALS.items()))
def test_initials(symbol, expected):
    assert names([symbol]) == expected


@pytest.mark.parametrize("symbol,expected", sorted(FINALS.items()))
def test_finals(symbol, expected):
    assert names([symbol]) == expected


@pytest.mark.parametrize("symbol,expected", sorted(WHOLE.items()))
def test_syllables(symbol, expected):
    assert names([symbol]) == expected


def test_final_e_uses_E_not_aa():
    assert names(["g", "e4"]) == ["kk", "E"]


def test_u_after_jqxy_initial_phone_is_umlaut():
    assert names(["j", "u3"]) == ["CH", "U", "E"]
    assert names(["q", "uan2"]) == ["CH", "U", "aa", "DD"]
    assert names(["d", "u3"]) == ["DD", "U"]


def test_bilabials_at_the_right_time():
    v = track(["b", "a1", "b", "a5"], durations=[60, 200, 50, 150], min_ms=40)
    assert [(x.name, x.start_ms) for x in v] == [("PP", 0), ("aa", 60), ("PP", 260), ("aa", 310)]


def test_bundled_front_end_sequence():
    # 'sil c e4 #0 sh iii4 #0 ^ uen2 #0 b en3 sil' (测试文本) plus the eos token
    symbols = "sil c e4 #0 sh iii4 #0 ^ uen2 #0 b en3 sil eos".split()
    assert names(symbols) == ["sil", "SS", "E", "SS", "I", "U", "aa", "DD", "PP", "aa", "DD", "sil"]
    assert unknown_symbols([Phone(s, 0, 0) for s in symbols], "pinyin") == set()


def test_final_splits_time_with_vowels_weighted():
    v = track(["an1"], durations=[90])
    assert [(x.name, round(x.duration_ms, 9)) for x in v] == [("aa", 60), ("DD", 30)]
    v = track(["iang2"], durations=[100])
    assert [(x.name, round(x.duration_ms, 9)) for x in v] == [("I", 40), ("aa", 40), ("kk", 20)]


def test_zero_initial_marker_and_prosody_marks():
    v = track(["^", "a4", "#1", "b", "a4"], durations=[20, 100, 30, 50, 100])
    # ^ goes with the final after it, #1 with the syllable before it
    assert [(x.name, x.start_ms, x.end_ms) for x in v] == [("aa", 0, 150), ("PP", 150, 200), ("aa", 200, 300)]


@pytest.mark.parametrize("pause", ["sil", "sp", "#3", "#4", "eos", "", "，", "。", ","])
def test_pauses(pause):
    assert names(["m", "a1", pause, "m", "a1"]) == ["PP", "aa", "sil", "PP", "aa"]


@pytest.mark.parametrize("join", ["#0", "#1", "#2", " ", "3", "'"])
def test_joins_are_not_pauses(join):
    assert names(["m", "a1", join, "m", "a1"]) == ["PP", "aa", "PP", "aa"]


def test_erhua_as_separate_phones():
    assert names(["h", "ua1", "er5"]) == ["kk", "U", "aa", "DD", "aa"]
    assert names(["h", "ua1", "r5"]) == ["kk", "U", "aa", "RR"]


def test_unknown_holds_previous():
    assert names(["m", "a1", "qqq", "b"]) == ["PP", "aa", "PP"]
    assert unknown_symbols([Phone("qqq", 0, 1)], "pinyin") == {"qqq"}
