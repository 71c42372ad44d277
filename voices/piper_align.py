"""Turn Piper's per-phoneme-id sample counts into IPA phones and word timings.

Piper feeds the model `^ _ p1 _ p2 _ ... $` (BOS, PAD after every phoneme, EOS),
where each phoneme is one espeak-ng codepoint: stress marks and length marks
get their own ids and their own samples. We fold those into real phones so that
visemes follow sounds, not typography, while keeping every sample accounted for.

Words: espeak phonemises word by word and separates words with a space, but it
also runs clitics together ("has been" → hɐzbɪn, "of the" → ʌvðə) and expands
numbers ("3.5%" → four words). So we phonemise each written word alone and
align that with the sentence's phones; each phone then belongs to one word.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from avatar_bridge import Phone, Word

BOS, EOS, PAD = "^", "$", "_"
PAUSE_SYMBOLS = {"sil", "sp"}
_STRESS = {"ˈ", "ˌ"}
# Marks that modify the phone before them (length, palatalisation, r-colouring…).
_TRAILING_MODIFIERS = {"ː", "ˑ", "ʲ", "ʰ", "ʷ", "ˤ", "˞"}
_WORD_TOKEN = re.compile(r"\S+")
_EDGE_PUNCT = "\"'“”‘’()[]{}<>,.;:!?…—–-«»"


@dataclass(frozen=True)
class Unit:
    symbol: str  # IPA phone, "sil", "sp" or punctuation
    samples: int
    group: int  # index of the space-separated phoneme group (espeak's "word")

    @property
    def is_speech(self) -> bool:
        return self.symbol not in PAUSE_SYMBOLS and any(ch.isalpha() for ch in self.symbol)


def group_samples(
    phonemes: Sequence[str],
    phoneme_ids: Sequence[int],
    id_samples: Sequence[int] | np.ndarray,
    id_map: Mapping[str, Sequence[int]],
) -> list[tuple[str, int]]:
    """(phoneme, samples) for BOS, each phoneme the voice knows, and EOS.

    Mirrors piper.phoneme_ids.phonemes_to_ids (unknown phonemes are skipped
    there too), so the counts always add up to the whole audio."""
    pad = len(id_map.get(PAD, []))
    out: list[tuple[str, int]] = []
    index = 0

    def take(symbol: str, count: int) -> None:
        nonlocal index
        out.append((symbol, int(sum(id_samples[index : index + count]))))
        index += count

    take(BOS, len(id_map[BOS]) + pad)
    for phoneme in phonemes:
        if phoneme in id_map:
            take(phoneme, len(id_map[phoneme]) + pad)
    take(EOS, len(phoneme_ids) - index)  # EOS plus anything unexpected: nothing is lost
    return out


def fold_units(raw: Sequence[tuple[str, int]]) -> list[Unit]:
    """Fold stress marks into the next phone and length/diacritic marks into the
    previous one; BOS/EOS become "sil" and word spaces "sp"."""
    units: list[list] = []  # [symbol, samples, group]
    group = 0
    carry = 0  # samples of a stress mark waiting for its phone
    for symbol, samples in raw:
        if symbol in _STRESS:
            carry += samples
            continue
        if symbol == " ":
            group += 1
            units.append(["sp", samples + carry, group])
            carry = 0
            continue
        if (symbol in _TRAILING_MODIFIERS or unicodedata.combining(symbol)) and units and units[-1][0] not in PAUSE_SYMBOLS:
            units[-1][0] += symbol
            units[-1][1] += samples + carry
            carry = 0
            continue
        name = "sil" if symbol in (BOS, EOS) else symbol
        units.append([name, samples + carry, group])
        carry = 0
    if carry and units:
        units[-1][1] += carry
    return [Unit(s, n, g) for s, n, g in units]


def phones_from_units(units: Sequence[Unit], sample_rate: int) -> list[Phone]:
    phones: list[Phone] = []
    start = 0
    for unit in units:
        phones.append(Phone(unit.symbol, start * 1000.0 / sample_rate, unit.samples * 1000.0 / sample_rate))
        start += unit.samples
    return phones


def text_words(text: str) -> list[str]:
    """Written words as the customer sees them, punctuation trimmed from the edges."""
    words = []
    for token in _WORD_TOKEN.findall(text):
        stripped = token.strip(_EDGE_PUNCT)
        # Keep "e.g." whole: its trailing period is part of the abbreviation.
        if stripped and token.endswith(".") and "." in stripped:
            stripped += "."
        if stripped:
            words.append(stripped)
    return words


def _letters(symbol: str) -> str:
    return "".join(ch for ch in symbol if ch.isalpha() and ch not in _STRESS)


def assign_words(units: Sequence[Unit], word_phonemes: Sequence[str]) -> list[int | None]:
    """For each unit, the index of the word it belongs to (None for pauses)."""
    a_chars: list[str] = []
    a_unit: list[int] = []
    for i, unit in enumerate(units):
        if unit.is_speech:
            for ch in _letters(unit.symbol):
                a_chars.append(ch)
                a_unit.append(i)
    b_chars: list[str] = []
    b_word: list[int] = []
    for w, phonemes in enumerate(word_phonemes):
        for ch in _letters(phonemes):
            b_chars.append(ch)
            b_word.append(w)

    labels: list[int | None] = [None] * len(units)
    matcher = difflib.SequenceMatcher(None, a_chars, b_chars, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            unit_index = a_unit[block.a + k]
            if labels[unit_index] is None:
                labels[unit_index] = b_word[block.b + k]

    speech = [i for i, u in enumerate(units) if u.is_speech]
    _fill_gaps(speech, units, labels, len(word_phonemes))
    # Words are spoken in order: never let a label go backwards.
    highest = -1
    for i in speech:
        label = labels[i]
        if label is not None and label < highest:
            labels[i] = highest
        elif label is not None:
            highest = label
    return labels


def _fill_gaps(speech: list[int], units: Sequence[Unit], labels: list[int | None], n_words: int) -> None:
    """Give unmatched phones a word: to words that got no phone at all (espeak
    said them differently in context, e.g. "e.g." → "for example"), else to the
    neighbour in the same espeak word group."""
    k = 0
    while k < len(speech):
        if labels[speech[k]] is not None:
            k += 1
            continue
        run_start = k
        while k < len(speech) and labels[speech[k]] is None:
            k += 1
        run = speech[run_start:k]
        before = labels[speech[run_start - 1]] if run_start > 0 else -1
        after = labels[speech[k]] if k < len(speech) else n_words
        assert before is not None and after is not None
        missing = list(range(before + 1, after))
        if missing:
            for j, unit in enumerate(run):
                labels[unit] = missing[min(j * len(missing) // len(run), len(missing) - 1)]
            continue
        before_group = units[speech[run_start - 1]].group if run_start > 0 else None
        for unit in run:
            same_group = units[unit].group == before_group
            target = before if (same_group or after >= n_words) and before >= 0 else after
            labels[unit] = min(max(target, 0), n_words - 1) if n_words else None


def words_from_units(
    units: Sequence[Unit],
    written: Sequence[str],
    phonemize_word: Callable[[str], str],
    sample_rate: int,
    shown: Sequence[str] | None = None,
) -> list[Word]:
    """`written` is what each word was spoken as (aligned against the phones);
    `shown`, when given, is what to display for it ("$5" spoken "five dollars")."""
    if not written:
        return []
    display = shown if shown is not None else written
    labels = assign_words(units, [phonemize_word(w) for w in written])
    starts: list[int] = []
    position = 0
    for unit in units:
        starts.append(position)
        position += unit.samples
    spans: dict[int, tuple[int, int]] = {}
    for i, label in enumerate(labels):
        if label is None or not units[i].is_speech:
            continue
        begin, end = spans.get(label, (starts[i], starts[i]))
        spans[label] = (min(begin, starts[i]), max(end, starts[i] + units[i].samples))
    words = []
    for w in sorted(spans):
        begin, end = spans[w]
        words.append(Word(display[w], begin * 1000.0 / sample_rate, (end - begin) * 1000.0 / sample_rate))
    return words
