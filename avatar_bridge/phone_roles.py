"""What a phone symbol means for the mouth, as each alphabet's table reads it.

The alphabets differ in spelling but agree on the roles a symbol can play, so the timing code
lays out any alphabet's phones with one set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    SOUND = "sound"            # one or more visemes, sharing the phone's time
    PAUSE = "pause"            # silence: the mouth rests (sil)
    ATTACH_NEXT = "next"       # a mark that belongs to what follows (stress, zero initial)
    ATTACH_PREV = "prev"       # a mark that belongs to what precedes (length, tone, boundaries)
    UNKNOWN = "unknown"        # not in the table: hold the previous shape rather than guess


@dataclass(frozen=True)
class Reading:
    role: Role
    shapes: tuple[str, ...] = ()


PAUSE = Reading(Role.PAUSE, ("sil",))
ATTACH_NEXT = Reading(Role.ATTACH_NEXT)
ATTACH_PREV = Reading(Role.ATTACH_PREV)
UNKNOWN = Reading(Role.UNKNOWN)

# Symbols that mean a pause in every alphabet: aligner/TTS silence labels and punctuation that
# TTS front ends pass through with the pause's duration.
COMMON_PAUSES = frozenset({
    "", "sil", "sp", "spn", "pau", "eos", "sos", "bos",
    ".", ",", "!", "?", ";", ":", "…", "—", "–", "(", ")", "|", "||",
    "。", "，", "！", "？", "；", "：", "、", "…", "（", "）",
})

# Open-mouth shapes: when a phone spans a vowel and consonants, the vowel holds the mouth longer,
# so it gets more of the phone's time.
_VOWEL_SHAPES = frozenset({"aa", "E", "I", "O", "U"})


def shape_weight(shape: str) -> float:
    return 2.0 if shape in _VOWEL_SHAPES else 1.0
