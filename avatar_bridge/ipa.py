"""English IPA (as espeak-ng en-us emits it through Piper) to Oculus visemes.

The basis is Azure's IPA → viseme-ID table composed with the Azure → Oculus map in
reference/visemes.md; where the two sets disagree the choice and its reason is noted.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

from .phone_roles import ATTACH_NEXT, ATTACH_PREV, COMMON_PAUSES, PAUSE, UNKNOWN, Reading, Role

IPA_VISEMES: dict[str, str] = {
    # vowels
    "ə": "aa", "æ": "aa", "ʌ": "aa", "ɑ": "aa", "a": "aa",
    "ɐ": "aa",   # espeak's reduced "a" (about, account): open central, so the open shape
    "ɛ": "E", "e": "E",
    "ɪ": "I", "i": "I",
    "ᵻ": "I", "ɨ": "I",   # espeak's reduced close vowel (roses, wanted)
    "ɔ": "O", "o": "O",
    "ɒ": "O",    # rounded open back vowel: lips round as for ɔ
    "ɵ": "O",
    "u": "U", "ʊ": "U", "ʉ": "U",
    "ɚ": "RR", "ɝ": "RR",
    # en-us espeak writes the NURSE vowel ɜː with no ɹ after it (thirty → θˈɜːɾi), so ɜ is
    # r-coloured there, Azure's ɝ.
    "ɜ": "RR",
    # consonants
    "p": "PP", "b": "PP", "m": "PP",
    "f": "FF", "v": "FF",
    "θ": "TH", "ð": "TH",
    "t": "DD", "d": "DD", "n": "DD",
    "ɾ": "DD",   # flap (water, thirty) is a tongue-tip tap like t/d
    "ɲ": "DD",
    "k": "kk", "g": "kk", "ɡ": "kk", "ŋ": "kk", "h": "kk", "x": "kk", "ç": "kk",
    # Glottal stop (button → bˈʌʔn̩) has no lip or tongue-tip gesture, like h: the neutral kk.
    "ʔ": "kk",
    "ʃ": "CH", "ʒ": "CH", "tʃ": "CH", "dʒ": "CH",
    "s": "SS", "z": "SS",
    "l": "nn", "ɫ": "nn",
    "ɹ": "RR", "r": "RR", "ɻ": "RR",
    "j": "I",
    "w": "U", "ʍ": "U",
}

# What espeak-ng en-us emits through Piper (checked against its phonemizer); the tests hold the
# table to covering all of it.
ENGLISH_INVENTORY: tuple[str, ...] = (
    "ə", "ɚ", "æ", "ɑ", "ɔ", "ɛ", "ɪ", "i", "u", "ʊ", "ʌ", "ɜ", "ɐ", "o", "e", "a", "ɒ", "ᵻ",
    "p", "b", "m", "f", "v", "θ", "ð", "t", "d", "n", "l", "s", "z", "ʃ", "ʒ", "tʃ", "dʒ",
    "k", "g", "ɡ", "ŋ", "h", "ɹ", "r", "j", "w", "ɾ", "ʔ", "x", "ç",
)

_STRESS = frozenset("ˈˌ")
# Marks that modify the sound before them: length, palatalisation (espeak's ʲ after i),
# aspiration, rhotic hook, and tone digits some espeak voices add.
_MODIFIERS = frozenset("ːˑʲʰʷˤ˞0123456789")
# Word and phrase joints Piper passes through as phones of their own: a space between words,
# quote marks, hyphens. They carry a little time but no shape.
_BOUNDARIES = frozenset(" \t#‿-'\"")
# Piper's sentence start/end markers and espeak's short-pause symbol.
_IPA_PAUSES = frozenset({"^", "$", "_"})
_LONGEST_KEY = max(len(k) for k in IPA_VISEMES)


def _is_mark(ch: str) -> bool:
    return ch in _MODIFIERS or unicodedata.combining(ch) != 0


def _core(symbol: str) -> str:
    """The symbol without stress, length, diacritics or spaces: what the table is keyed by."""
    return "".join(ch for ch in symbol if ch not in _STRESS and ch not in _BOUNDARIES and not _is_mark(ch))


def _shapes(core: str) -> tuple[str, ...]:
    """Longest-match the core against the table, so 'tʃ' is one CH and 'aɪ' is aa then I."""
    shapes: list[str] = []
    i = 0
    while i < len(core):
        for size in range(min(_LONGEST_KEY, len(core) - i), 0, -1):
            shape = IPA_VISEMES.get(core[i:i + size])
            if shape is not None:
                shapes.append(shape)
                i += size
                break
        else:
            i += 1   # an unknown letter inside a known phone: skip it, keep the rest
    return tuple(shapes)


def _role_of_marks(symbol: str) -> Reading | None:
    if symbol in COMMON_PAUSES or symbol in _IPA_PAUSES:
        return PAUSE
    if _core(symbol):
        return None
    if any(ch in _STRESS for ch in symbol):
        return ATTACH_NEXT   # stress is written before the syllable it marks
    return ATTACH_PREV


def read_ipa(symbols: Sequence[str]) -> list[Reading]:
    """One reading per phone symbol, in order."""
    cores = [_core(s) for s in symbols]
    readings: list[Reading] = []
    for i, symbol in enumerate(symbols):
        marks = _role_of_marks(symbol)
        if marks is not None:
            readings.append(marks)
            continue
        core = cores[i]
        nxt = cores[i + 1] if i + 1 < len(cores) else ""
        # Piper emits the affricates tʃ and dʒ as two phones; their stop part is already the
        # CH shape (lips pushed forward), not a DD tap.
        if (core, nxt[:1]) in (("t", "ʃ"), ("d", "ʒ")):
            readings.append(Reading(Role.SOUND, ("CH",)))
            continue
        shapes = _shapes(core)
        readings.append(Reading(Role.SOUND, shapes) if shapes else UNKNOWN)
    return readings


def unknown_ipa(symbols: Sequence[str]) -> set[str]:
    """Symbols this table cannot read (so a caller can log what a new voice emits)."""
    return {s for s, r in zip(symbols, read_ipa(symbols)) if r.role is Role.UNKNOWN}
