"""Timed phones to a gapless viseme track.

The track covers exactly the phones' span, from the first phone's start to the last one's end,
with no gaps or overlaps, so a renderer never has a moment without a mouth shape and a chunked
track re-joins without seams.
"""

from __future__ import annotations

import math
from typing import Callable, Literal, Sequence

from .ipa import read_ipa
from .phone_roles import Reading, Role, shape_weight
from .pinyin import read_pinyin
from .smoothing import enforce_min_duration, merge_repeats
from .track import LipSync, Phone, Viseme, Word

Alphabet = Literal["ipa", "pinyin"]

READERS: dict[str, Callable[[Sequence[str]], list[Reading]]] = {
    "ipa": read_ipa,
    "pinyin": read_pinyin,
}


def _reader(alphabet: str) -> Callable[[Sequence[str]], list[Reading]]:
    try:
        return READERS[alphabet]
    except KeyError:
        raise ValueError(f"unknown alphabet {alphabet!r}; expected one of {', '.join(READERS)}") from None


def _units(phones: Sequence[Phone], readings: list[Reading]) -> list[tuple[float, float, tuple[str, ...]]]:
    """Fold marks into the phones they belong to; returns contiguous (start, end, shapes).

    Phones are taken in order on one clock: a phone starting before the previous one ended is
    clipped to start at that end, and a hole between phones is silence.
    """
    units: list[list] = []
    pending: float | None = None   # start of marks waiting for the next sound
    cursor = phones[0].start_ms
    for phone, reading in zip(phones, readings):
        start = max(phone.start_ms, cursor)
        end = max(phone.end_ms, start)
        if start > cursor and pending is None and units:
            units.append([cursor, start, ("sil",)])
        cursor = end
        role = reading.role
        if pending is not None and role in (Role.ATTACH_PREV, Role.UNKNOWN):
            role = Role.ATTACH_NEXT   # the waiting marks and this one go on together
        if role is Role.ATTACH_PREV and not units:
            role = Role.ATTACH_NEXT   # nothing before it yet: give it to what follows
        if role is Role.ATTACH_NEXT:
            if pending is None:
                pending = units[-1][1] if units else start
            continue
        if role in (Role.ATTACH_PREV, Role.UNKNOWN) and units:
            units[-1][1] = end   # hold the previous shape over it
            continue
        shapes = reading.shapes if role is not Role.UNKNOWN else ("sil",)
        units.append([pending if pending is not None else start, end, shapes])
        pending = None
    if pending is not None:
        if units:
            units[-1][1] = cursor
        else:
            units.append([pending, cursor, ("sil",)])
    return [(u[0], u[1], u[2]) for u in units]


def _layout(units: list[tuple[float, float, tuple[str, ...]]]) -> tuple[list[str], list[float]]:
    """Split each unit's time among its shapes by weight; boundaries are shared, so no seams."""
    names: list[str] = []
    bounds: list[float] = [units[0][0]]
    for start, end, shapes in units:
        weights = [shape_weight(s) for s in shapes]
        total = sum(weights)
        done = 0.0
        for shape, weight in zip(shapes[:-1], weights[:-1]):
            done += weight
            names.append(shape)
            bounds.append(start + (end - start) * done / total)
        names.append(shapes[-1])
        bounds.append(end)
    return names, bounds


def visemes_from_phones(
    phones: Sequence[Phone], alphabet: Alphabet, *, min_ms: float = 40.0
) -> tuple[Viseme, ...]:
    """Oculus visemes for timed phones, covering exactly their span.

    Marks (stress, length, tone digits, word and prosody boundaries) lend their time to the phone
    they belong to; pauses and punctuation become `sil`; symbols the alphabet's table does not
    know hold the previous shape (or `sil` at the start). Visemes shorter than `min_ms` merge into
    a neighbour (lip closures borrow time instead), keeping the total duration.
    """
    if not math.isfinite(min_ms) or min_ms < 0:
        raise ValueError(f"min_ms must be a finite, non-negative number of ms, got {min_ms}")
    read = _reader(alphabet)
    if not phones:
        return ()
    units = _units(phones, read([p.symbol for p in phones]))
    names, bounds = _layout(units)
    merge_repeats(names, bounds)
    enforce_min_duration(names, bounds, min_ms)
    return tuple(
        Viseme(name, float(bounds[i]), float(bounds[i + 1] - bounds[i])) for i, name in enumerate(names)
    )


def lipsync(
    phones: Sequence[Phone], words: Sequence[Word], alphabet: Alphabet, *, min_ms: float = 40.0
) -> LipSync:
    """The track for one synthesised segment: its visemes and its word timings."""
    return LipSync(visemes_from_phones(phones, alphabet, min_ms=min_ms), tuple(words))


def unknown_symbols(phones: Sequence[Phone], alphabet: Alphabet) -> set[str]:
    """Phone symbols the alphabet's table cannot read, for a voice's tests or logs."""
    symbols = [p.symbol for p in phones]
    return {s for s, r in zip(symbols, _reader(alphabet)(symbols)) if r.role is Role.UNKNOWN}
