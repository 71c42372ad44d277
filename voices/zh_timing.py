"""FastSpeech2 symbol durations (in mel frames) → pinyin Phones and Words.

The model gives a frame count to every input symbol, including the prosody
marks. Listening to where the energy is shows how to read them:
- `#0` between syllables carries the tail of the preceding final (its coda and
  decay), so it is folded into that final;
- `^` (empty initial) is the onset of its final, so it is folded forward;
- a pause (`#3` inside a sentence, `sil` at its end) often starts while the
  previous final is still sounding; those loud frames go back to the final, so
  the avatar's mouth does not close while sound is still coming out.
Every frame stays accounted for: phones always span the whole audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avatar_bridge import Phone, Word

# Mean log-mel (normalised, as the model outputs it) above which a frame is
# audible speech. Measured on this voice: silence sits at -1.7…-3.0, vowels
# at 0…1.5, decays cross -1 within a few frames.
SPEECH_MEL_LEVEL = -0.8
_FOLD_BACK = {"#0", "#1", "#2", "eos"}
_PAUSES = {"sil": "sil", "#3": "sp", "#4": "sil"}


@dataclass
class _Item:
    symbol: str
    frames: int
    word: int | None


def timed_symbols(
    symbols: Sequence[str],
    words: Sequence[int | None],
    durations: Sequence[int] | np.ndarray,
    frame_level: np.ndarray | None = None,
) -> list[tuple[str, int, int | None]]:
    """Fold prosody marks into phones; returns (symbol, frames, word index)."""
    if not (len(symbols) == len(words) == len(durations)):
        raise ValueError("symbols, words and durations must have the same length")
    items: list[_Item] = []
    carry = 0  # frames of "^" waiting for the final it starts
    for symbol, word, frames in zip(symbols, words, durations):
        frames = int(frames)
        if symbol == "^":
            carry += frames
            continue
        if symbol in _FOLD_BACK and items:
            items[-1].frames += frames + carry
            carry = 0
            continue
        name = _PAUSES.get(symbol, symbol)
        if symbol in _FOLD_BACK:  # nothing before it: keep the time as silence
            name = "sil"
        items.append(_Item(name, frames + carry, word))
        carry = 0
    if carry:
        items[-1].frames += carry
    if frame_level is not None:
        _return_sounding_frames(items, frame_level)
    return [(i.symbol, i.frames, i.word) for i in items if i.frames > 0]


def _return_sounding_frames(items: list[_Item], frame_level: np.ndarray) -> None:
    start = 0
    for k, item in enumerate(items):
        if item.symbol in ("sil", "sp") and k > 0 and items[k - 1].symbol not in ("sil", "sp"):
            loud = 0
            while loud < item.frames and start + loud < len(frame_level) and frame_level[start + loud] > SPEECH_MEL_LEVEL:
                loud += 1
            items[k - 1].frames += loud
            item.frames -= loud
            start += loud
        start += item.frames


def phones_and_words(
    timed: Sequence[tuple[str, int, int | None]],
    written_words: Sequence[str],
    frame_ms: float,
) -> tuple[list[Phone], list[Word]]:
    phones: list[Phone] = []
    spans: dict[int, list[float]] = {}
    frame = 0
    for symbol, frames, word in timed:
        start_ms = frame * frame_ms
        duration_ms = frames * frame_ms
        phones.append(Phone(symbol, start_ms, duration_ms))
        if word is not None and symbol not in ("sil", "sp"):
            span = spans.setdefault(word, [start_ms, start_ms + duration_ms])
            span[1] = start_ms + duration_ms
        frame += frames
    out_words = [Word(written_words[w], s, e - s) for w, (s, e) in sorted(spans.items())]
    return phones, out_words


def piece_bounds(
    timed: Sequence[tuple[str, int, int | None]],
    first_frames: int,
    *,
    growth: int = 2,
) -> list[tuple[int, int]]:
    """Where to cut a sentence for streaming: (first item, end item) index ranges of `timed`.

    Cuts fall only between words (a syllable is never split across pieces), and
    every piece speaks at least one word. The
    first piece is the shortest prefix of at least `first_frames`; each later
    piece aims at `growth` times the previous one: few cuts (each costs the vocoder
    its context frames twice), yet the next piece is ready before the previous one
    has played out as long as the vocoder runs faster than about d / (growth·d +
    2·context) of real time (0.25 for a 0.3 s first piece; it runs at ~0.07 on an
    idle 2-core machine). A remainder shorter than the piece before it joins that
    piece rather than going alone."""
    ends: list[int] = []  # item indices after which a cut may fall
    for k in range(len(timed) - 1):
        here, after = timed[k][2], timed[k + 1][2]
        if here is None or after is None or here != after:
            ends.append(k + 1)
    frames = [f for _, f, _ in timed]
    total = sum(frames)
    bounds: list[tuple[int, int]] = []
    start, done, target = 0, 0, max(1, first_frames)
    for end in ends:
        length = sum(frames[start:end])
        if length < target or all(word is None for _, _, word in timed[start:end]):
            continue  # too short, or nothing but silence (a silent first piece is no first audio)
        if total - done - length < length:
            break  # the rest is short: keep it with this piece
        bounds.append((start, end))
        start, done, target = end, done + length, length * growth
    bounds.append((start, len(timed)))
    return bounds
