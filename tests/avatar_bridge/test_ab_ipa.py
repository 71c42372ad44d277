"""English IPA → Oculus visemes, as espeak-ng en-us emits it through Piper."""

import pytest

from avatar_bridge import Phone, unknown_symbols, visemes_from_phones
from avatar_bridge.ipa import ENGLISH_INVENTORY, IPA_VISEMES


def names(symbols, durations=None, min_ms=0.0):
    durations = durations or [100.0] * len(symbols)
    phones, t = [], 0.0
    for s, d in zip(symbols, durations):
        phones.append(Phone(s, t, d))
        t += d
    return [v.name for v in visemes_from_phones(phones, "ipa", min_ms=min_ms)]


EXPECTED = {
    # Azure → Oculus correspondences from the reference (and the brief's choices)
    "p": "PP", "b": "PP", "m": "PP",
    "f": "FF", "v": "FF",
    "θ": "TH", "ð": "TH",
    "t": "DD", "d": "DD", "n": "DD", "ɾ": "DD",
    "k": "kk", "g": "kk", "ɡ": "kk", "ŋ": "kk", "h": "kk", "x": "kk", "ç": "kk", "ʔ": "kk",
    "ʃ": "CH", "ʒ": "CH", "tʃ": "CH", "dʒ": "CH",
    "s": "SS", "z": "SS",
    "l": "nn",
    "ɹ": "RR", "r": "RR", "ɚ": "RR", "ɝ": "RR", "ɜ": "RR",
    "æ": "aa", "ə": "aa", "ʌ": "aa", "ɑ": "aa", "a": "aa", "ɐ": "aa",
    "ɛ": "E", "e": "E",
    "ɪ": "I", "i": "I", "j": "I", "ᵻ": "I",
    "ɔ": "O", "o": "O", "ɒ": "O",
    "u": "U", "ʊ": "U", "w": "U",
}


@pytest.mark.parametrize("symbol,viseme", sorted(EXPECTED.items()))
def test_single_symbol(symbol, viseme):
    assert names([symbol]) == [viseme]
    assert IPA_VISEMES[symbol] == viseme


def test_whole_inventory_is_known():
    phones = [Phone(s, 10.0 * i, 10.0) for i, s in enumerate(ENGLISH_INVENTORY)]
    assert unknown_symbols(phones, "ipa") == set()
    brief = "ə ɚ æ ɑ ɔ ɛ ɪ i u ʊ ʌ ɜ ɐ o e a ɒ ᵻ p b m f v θ ð t d n l s z ʃ ʒ tʃ dʒ k g ɡ ŋ h ɹ r j w ɾ ʔ x ç"
    assert set(brief.split()) <= set(ENGLISH_INVENTORY)


@pytest.mark.parametrize("symbols,expected", [
    (["a", "ɪ"], ["aa", "I"]),          # Piper writes diphthongs as two phones
    (["aɪ"], ["aa", "I"]),              # another engine may write them as one
    (["e", "ɪ"], ["E", "I"]),
    (["o", "ʊ"], ["O", "U"]),
    (["ɔ", "ɪ"], ["O", "I"]),
    (["a", "ʊ"], ["aa", "U"]),
    (["t", "ʃ"], ["CH"]),               # affricate split by Piper is one CH, not DD CH
    (["d", "ʒ"], ["CH"]),
    (["t", "s"], ["DD", "SS"]),         # but t before anything else stays DD
    (["ˈaɪ"], ["aa", "I"]),             # stress inside a phone is ignored
    (["iː"], ["I"]),
    (["n̩"], ["DD"]),                    # syllabic mark
    (["ɾʲ"], ["DD"]),
])
def test_sequences(symbols, expected):
    assert names(symbols) == expected


def test_marks_lend_their_time_to_the_right_neighbour():
    # stress belongs to what follows, length to what precedes, a space to the word before
    phones = [Phone("h", 0, 50), Phone("ˈ", 50, 10), Phone("ɛ", 60, 40), Phone("ː", 100, 20),
              Phone(" ", 120, 5), Phone("l", 125, 60)]
    v = visemes_from_phones(phones, "ipa", min_ms=0)
    assert [(x.name, x.start_ms, x.end_ms) for x in v] == [
        ("kk", 0, 50), ("E", 50, 125), ("nn", 125, 185)]


def test_piper_sentence():
    # "hello, how" as espeak-ng en-us via Piper, with its BOS/EOS markers
    symbols = ["^", "h", "ə", "l", "ˈ", "o", "ʊ", ",", " ", "h", "ˌ", "a", "ʊ", "$"]
    assert names(symbols) == ["sil", "kk", "aa", "nn", "O", "U", "sil", "kk", "aa", "U", "sil"]


def test_unknown_symbol_holds_previous_shape_or_sil_at_start():
    assert names(["m", "☃", "a"]) == ["PP", "aa"]
    v = visemes_from_phones([Phone("m", 0, 50), Phone("☃", 50, 30), Phone("a", 80, 50)], "ipa", min_ms=0)
    assert (v[0].name, v[0].duration_ms) == ("PP", 80)
    assert names(["☃", "a"]) == ["sil", "aa"]
    assert unknown_symbols([Phone("☃", 0, 1), Phone("a", 1, 1)], "ipa") == {"☃"}


@pytest.mark.parametrize("pause", ["_", "^", "$", ".", ",", "?", "!", ";", ":", "sil", "sp", ""])
def test_pauses_are_sil(pause):
    assert names(["m", pause, "m"]) == ["PP", "sil", "PP"]
