"""Mandarin pinyin (initials, finals or whole syllables, tones optional) to Oculus visemes.

Built from Azure's zh-CN pinyin table composed with the Azure → Oculus map (reference/visemes.md).
A final's entry repeats a shape to give it a larger share of the phone's time, as Azure's
per-final ID lists do. Spellings of the bundled Chinese front end are accepted as well: `v*` for
ü finals, `ii`/`iii` for the apical vowels of zi/zhi, `iou`/`uei`/`uen`/`ueng` unabbreviated,
`^` for a syllable without an initial, `#0`-`#4` prosody marks, and erhua as `er5` or `anr3`.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

from .phone_roles import ATTACH_NEXT, ATTACH_PREV, COMMON_PAUSES, PAUSE, UNKNOWN, Reading, Role

INITIALS: dict[str, tuple[str, ...]] = {
    "b": ("PP",), "p": ("PP",), "m": ("PP",),
    "f": ("FF",),
    "d": ("DD",), "t": ("DD",), "n": ("DD",),
    "l": ("nn",),
    "g": ("kk",), "k": ("kk",), "h": ("kk",),
    "j": ("CH",), "q": ("CH",), "x": ("CH",),
    "zh": ("DD", "SS"), "ch": ("DD", "SS"),
    "sh": ("SS",), "r": ("SS",), "z": ("SS",), "c": ("SS",), "s": ("SS",),
    "y": ("I",),
    "w": ("U",),
}

FINALS: dict[str, tuple[str, ...]] = {
    "a": ("aa", "aa"),
    "o": ("U", "O", "O"),
    # Azure gives final e [ɤ] the wide-open aa; [ɤ] is a mid, unrounded vowel, so the half-open
    # spread E is closer to it and keeps 的/和/个 from looking like "ah" (tuned by eye, as the
    # reference suggests).
    "e": ("E", "E"),
    "i": ("I", "I", "I"),
    # The apical vowels of zi/ci/si and zhi/chi/shi/ri: Azure's whole syllables end in 6 6.
    "ii": ("I", "I"), "iii": ("I", "I"),
    "u": ("U", "U", "U"),
    "v": ("U", "E", "E"),
    "ai": ("aa", "E"),
    "ei": ("E", "I"),
    "ui": ("U", "E", "I"), "uei": ("U", "E", "I"),
    "ao": ("aa", "O"),
    "ou": ("O", "U"),
    "iu": ("I", "O", "U"), "iou": ("I", "O", "U"),
    "ie": ("I", "E", "E"),
    "ve": ("U", "E", "E"), "ue": ("U", "E", "E"),
    "er": ("DD", "aa", "aa"),
    "an": ("aa", "DD"), "en": ("aa", "DD"),
    "in": ("I", "I", "DD"),
    "un": ("U", "aa", "DD"), "uen": ("U", "aa", "DD"),
    # Not in Azure's list; ün is ü followed by n, as in is i followed by n.
    "vn": ("U", "E", "DD"),
    "ang": ("aa", "kk"), "eng": ("aa", "kk"),
    "ing": ("I", "aa", "kk"),
    "ong": ("U", "U", "kk"),
    "ia": ("I", "aa", "aa"), "ian": ("I", "aa", "DD"), "iang": ("I", "aa", "kk"), "iao": ("I", "aa", "O"),
    "io": ("I", "O", "O"),
    "iong": ("U", "U", "kk"),
    "ua": ("U", "aa", "aa"), "uai": ("U", "aa", "E"), "uan": ("U", "aa", "DD"),
    "uang": ("U", "aa", "kk"), "uo": ("U", "O", "O"),
    # Not in Azure's list: üan and weng shaped like their u-glide siblings uan and ueng ~ u+eng.
    "van": ("U", "aa", "DD"),
    "ueng": ("U", "aa", "kk"),
    # Syllabic nasal 嗯 (ng): the velar nasal alone.
    "ng": ("kk",),
}

WHOLE_SYLLABLES: dict[str, tuple[str, ...]] = {
    "zhi": ("DD", "SS", "I", "I"), "chi": ("DD", "SS", "I", "I"),
    "shi": ("SS", "I", "I"), "ri": ("SS", "I", "I"),
    "zi": ("SS", "I", "I"), "ci": ("SS", "I", "I"), "si": ("SS", "I", "I"),
    "yu": ("U", "E", "E"), "yue": ("U", "E", "E"),
    "yin": ("I", "I", "DD"), "ying": ("I", "aa", "kk"),
}

# The erhua curl of the tongue: the r-coloured shape.
_ERHUA = ("RR",)
_U_IS_UMLAUT_AFTER = frozenset({"j", "q", "x", "y"})
_INITIALS_LONGEST_FIRST = sorted(INITIALS, key=len, reverse=True)
_TONES = "012345"
# Prosody marks of the bundled front end: #0-#2 join words and phrases inside a breath group,
# #3/#4 end a phrase or sentence, where the synthesiser pauses.
_PROSODY_JOINS = frozenset({"#", "#0", "#1", "#2"})
_PROSODY_PAUSES = frozenset({"#3", "#4"})
_JOINS = frozenset({"'", "-", "/"})


def _core(symbol: str) -> str:
    """Lower case, ü spelled v, tone marks and tone digits dropped."""
    s = unicodedata.normalize("NFD", symbol.strip().lower())
    s = s.replace("u\u0308", "v").replace("u:", "v")
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return s.rstrip(_TONES)


def _respell(initial: str, rest: str) -> str:
    """The final a y-/w- spelling stands for: y and w are written glides, not extra sounds."""
    if initial == "y":
        if rest.startswith("u"):
            return "v" + rest[1:]
        return rest if rest.startswith("i") else "i" + rest
    return rest if rest == "u" else "u" + rest


def _syllable(core: str, after: str) -> tuple[str, ...] | None:
    if core in WHOLE_SYLLABLES:
        return WHOLE_SYLLABLES[core]
    if after in _U_IS_UMLAUT_AFTER and core.startswith("u"):
        core = "v" + core[1:]   # j/q/x/y + u is ü (ju, que, yuan)
    if core in FINALS:
        return FINALS[core]
    if core in INITIALS:
        return INITIALS[core]
    for initial in _INITIALS_LONGEST_FIRST:
        if core.startswith(initial) and len(core) > len(initial):
            rest = core[len(initial):]
            if initial in ("y", "w"):
                return FINALS.get(_respell(initial, rest))
            if initial in _U_IS_UMLAUT_AFTER and rest.startswith("u"):
                rest = "v" + rest[1:]
            final = FINALS.get(rest)
            return INITIALS[initial] + final if final is not None else None
    return None


def pinyin_shapes(core: str, after: str = "") -> tuple[str, ...] | None:
    """Visemes of one toneless pinyin unit; `after` is the initial just before it, if any."""
    shapes = _syllable(core, after)
    if shapes is None and len(core) > 1 and core.endswith("r"):
        base = _syllable(core[:-1], after)
        if base is not None:
            shapes = base + _ERHUA
    return shapes


def _read_marks(symbol: str) -> Reading | None:
    if symbol in COMMON_PAUSES or symbol in _PROSODY_PAUSES:
        return PAUSE
    bare = symbol.strip()
    if bare == "^":
        return ATTACH_NEXT
    if not bare or bare in _PROSODY_JOINS or bare in _JOINS or all(ch in _TONES for ch in bare):
        return ATTACH_PREV
    return None


def read_pinyin(symbols: Sequence[str]) -> list[Reading]:
    """One reading per phone symbol, in order."""
    readings: list[Reading] = []
    previous = ""
    for symbol in symbols:
        marks = _read_marks(symbol)
        if marks is not None:
            readings.append(marks)
            previous = ""
            continue
        core = _core(symbol)
        if core == "r" and symbol.strip()[-1:] in _TONES:
            shapes: tuple[str, ...] | None = _ERHUA   # initials carry no tone: a toned r is erhua
        else:
            shapes = pinyin_shapes(core, previous)
        readings.append(Reading(Role.SOUND, shapes) if shapes else UNKNOWN)
        previous = core if core in INITIALS else ""
    return readings


def unknown_pinyin(symbols: Sequence[str]) -> set[str]:
    """Symbols this table cannot read (so a caller can log what a new voice emits)."""
    return {s for s, r in zip(symbols, read_pinyin(symbols)) if r.role is Role.UNKNOWN}
