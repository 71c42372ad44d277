"""Mandarin front end for the Baker FastSpeech2 voice: text → symbol ids.

The model was trained on Baker corpus transcriptions turned into
`sil  initial final+tone  #0  initial final+tone ... sil eos`, where `#0` sits
between syllables, `#1`–`#3` mark prosodic boundaries and `^` is the empty
initial of syllables such as "an". We reproduce that shape from plain text and
keep, for every symbol, which written word it came from, so that the model's
per-symbol durations can be turned into word timings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pypinyin import Style, lazy_pinyin

from voices.normalize_zh import SpokenUnit, spoken_units

# Latin letters are spelled with the Mandarin syllables people use for them
# ("ATM" → 诶 踢 艾姆): the voice has no English phones, and spelling keeps
# acronyms such as ATM / APP / VIP intelligible. Brand words (Visa, Alipay…)
# arrive already read as Chinese (voices.zh_loanwords).
LETTER_SYLLABLES: dict[str, tuple[str, ...]] = {
    "A": ("ei1",), "B": ("bi4",), "C": ("xi1",), "D": ("di4",), "E": ("yi4",),
    "F": ("ai2", "fu5"), "G": ("ji4",), "H": ("ai2", "qu1"), "I": ("ai4",),
    "J": ("jie4",), "K": ("kai4",), "L": ("ai2", "le5"), "M": ("ai2", "mu5"),
    "N": ("en1",), "O": ("ou1",), "P": ("pi1",), "Q": ("qiu1",), "R": ("a4", "er3"),
    "S": ("ai2", "si5"), "T": ("ti4",), "U": ("you1",), "V": ("wei1",),
    "W": ("da2", "bu5", "liu5"), "X": ("ai2", "ke4", "si5"), "Y": ("wai4",), "Z": ("zei4",),
}

# Internal punctuation becomes the corpus's strongest in-sentence boundary, which
# the model renders as a short pause; sentence ends are "sil".
PAUSE_SYMBOL = "#3"
PAUSE_PUNCTUATION = set("，、；：。！？,;:.!?…—–-~～")
SYLLABLE_JOIN = "#0"


@dataclass(frozen=True)
class Symbol:
    name: str  # a Baker symbol: sil, #0, #3, ^, b, a3, eos …
    word: int | None  # index into FrontEndResult.words, None for pauses


@dataclass(frozen=True)
class FrontEndResult:
    symbols: list[Symbol]
    ids: np.ndarray  # int32, shape (len(symbols),)
    words: list[str]  # written form of each spoken word, in order

    @property
    def syllable_count(self) -> int:
        return sum(1 for s in self.symbols if s.name[-1:].isdigit() and not s.name.startswith("#"))


class ZhFrontEnd:
    def __init__(self, mapper_path: Path) -> None:
        mapper = json.loads(Path(mapper_path).read_text(encoding="utf-8"))
        self._symbol_to_id: dict[str, int] = mapper["symbol_to_id"]
        # The syllable → (initial, final) table ships with the voice, so the
        # front end always agrees with the symbol set the model was trained on.
        self._pinyin_dict: dict[str, tuple[str, str]] = {
            k: (v[0], v[1]) for k, v in mapper["pinyin_dict"].items()
        }

    def analyse(self, text: str) -> FrontEndResult:
        units = spoken_units(text)
        words: list[str] = []
        # Each entry: (list of syllables, word index) or None for a pause.
        spoken: list[tuple[list[str], int] | None] = []
        for unit, syllables in zip(units, self._syllables(units)):
            if unit.kind in ("punct", "other"):
                # Quotes and brackets are read through; clause punctuation pauses.
                if unit.kind == "punct" and unit.written in PAUSE_PUNCTUATION:
                    spoken.append(None)
                continue
            if not syllables:
                continue  # e.g. a rare character pypinyin cannot read
            words.append(unit.written)
            spoken.append((syllables, len(words) - 1))

        symbols: list[Symbol] = [Symbol("sil", None)]
        pending_pause = False
        for item in spoken:
            if item is None:
                pending_pause = True
                continue
            syllables, word = item
            for syllable in syllables:
                parts = self._split(syllable)
                if parts is None:
                    continue
                if symbols[-1].name != "sil":
                    symbols.append(Symbol(PAUSE_SYMBOL if pending_pause else SYLLABLE_JOIN, None))
                pending_pause = False
                symbols.extend(Symbol(p, word) for p in parts)
        if symbols[-1].name != "sil":
            symbols.append(Symbol("sil", None))
        symbols.append(Symbol("eos", None))
        ids = np.array([self._symbol_to_id[s.name] for s in symbols], dtype=np.int32)
        return FrontEndResult(symbols=symbols, ids=ids, words=words)

    def _syllables(self, units: list[SpokenUnit]) -> list[list[str]]:
        """Pinyin for each unit; runs of Chinese are read together so that
        pypinyin can choose polyphone readings from context (银行 háng)."""
        out: list[list[str]] = [[] for _ in units]
        run: list[int] = []

        def flush() -> None:
            if not run:
                return
            chars = "".join(units[i].spoken for i in run)
            readings = _pinyin(chars)
            if len(readings) != len(chars):  # pypinyin grouped something: go char by char
                readings = [(_pinyin(c) or [""])[0] for c in chars]
            k = 0
            for i in run:
                n = len(units[i].spoken)
                out[i] = [r for r in readings[k : k + n] if r]
                k += n
            run.clear()

        for i, unit in enumerate(units):
            if unit.kind in ("han", "number", "word", "symbol"):
                run.append(i)
            else:
                flush()
                if unit.kind == "latin":
                    out[i] = [s for ch in unit.spoken.upper() for s in LETTER_SYLLABLES.get(ch, ())]
        flush()
        return out

    def _split(self, syllable: str) -> tuple[str, ...] | None:
        """'hao3' → ('h', 'ao3'); None when the syllable is outside the voice."""
        base, tone = syllable[:-1], syllable[-1]
        if not tone.isdigit():
            base, tone = syllable, "5"
        if base in ("n", "ng", "m", "hm", "hng"):
            base = "en"  # interjections 嗯/呣: closest syllable the voice knows
        parts = self._pinyin_dict.get(base)
        if parts is None:
            return None
        initial, final = parts
        final_symbol = final + tone
        if final_symbol not in self._symbol_to_id:
            return None
        return (initial, final_symbol)


def _pinyin(chars: str) -> list[str]:
    # One reading per character; tone 5 marks the neutral tone as the corpus does,
    # and tone sandhi (你好 → ni2 hao3) matches how Baker transcribed real speech.
    return lazy_pinyin(
        chars,
        style=Style.TONE3,
        neutral_tone_with_five=True,
        tone_sandhi=True,
        errors=_no_reading,
    )


def _no_reading(chars: str) -> Any:
    # One empty reading per unreadable character keeps readings aligned with
    # characters (pypinyin accepts a list here; its stubs only declare str).
    return [""] * len(chars)
