"""Timed units of speech and the lip-sync track built from them.

Times are milliseconds relative to the start of the audio they describe. A track for one
sentence starts at 0; once shifted by the sentence's offset it is relative to the start of the
whole response's audio, which is the clock renderers schedule against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

# Order is the OpenXR / OVR LipSync index order; renderers that take indices rely on it.
OCULUS_VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U",
)

# Meta/OpenXR and Ready Player Me spell some names differently; accepted only at the boundary.
_NAME_ALIASES = {"IH": "I", "OH": "O", "OU": "U"}

# Boundaries closer than this are the same instant: it absorbs float noise from shifting and
# splitting without ever merging visemes a renderer could tell apart (far below 1 ms).
TIME_EPS_MS = 1e-6


def normalize_viseme_name(name: str) -> str:
    """Oculus name for `name`, accepting `viseme_` prefixes and the IH/OH/OU spellings."""
    bare = name[len("viseme_"):] if name.startswith("viseme_") else name
    bare = _NAME_ALIASES.get(bare, bare)
    if bare not in OCULUS_VISEMES:
        raise ValueError(f"unknown viseme {name!r}; expected one of {', '.join(OCULUS_VISEMES)}")
    return bare


def _check_times(kind: str, start_ms: float, duration_ms: float) -> None:
    if not (math.isfinite(start_ms) and math.isfinite(duration_ms)):
        raise ValueError(f"{kind} times must be finite, got start={start_ms} duration={duration_ms}")
    if duration_ms < 0:
        raise ValueError(f"{kind} duration must not be negative, got {duration_ms}")


@dataclass(frozen=True)
class Phone:
    """One phoneme of synthesised speech (IPA, a pinyin initial/final, or a pause symbol)."""

    symbol: str
    start_ms: float
    duration_ms: float

    def __post_init__(self) -> None:
        _check_times("Phone", self.start_ms, self.duration_ms)

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms


@dataclass(frozen=True)
class Word:
    text: str
    start_ms: float
    duration_ms: float

    def __post_init__(self) -> None:
        _check_times("Word", self.start_ms, self.duration_ms)

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms

    def shifted(self, offset_ms: float) -> Word:
        return Word(self.text, self.start_ms + offset_ms, self.duration_ms)


@dataclass(frozen=True)
class Viseme:
    """One mouth shape held from `start_ms` for `duration_ms`, named with the Oculus-15 set."""

    name: str
    start_ms: float
    duration_ms: float

    def __post_init__(self) -> None:
        # A typo'd name would silently leave the avatar's mouth frozen; fail where it is made.
        if self.name not in OCULUS_VISEMES:
            raise ValueError(f"unknown viseme {self.name!r}; expected one of {', '.join(OCULUS_VISEMES)}")
        _check_times("Viseme", self.start_ms, self.duration_ms)

    @property
    def end_ms(self) -> float:
        return self.start_ms + self.duration_ms

    def shifted(self, offset_ms: float) -> Viseme:
        return Viseme(self.name, self.start_ms + offset_ms, self.duration_ms)


@dataclass(frozen=True)
class LipSync:
    """A viseme track with the word timings of the same audio."""

    visemes: tuple[Viseme, ...] = ()
    words: tuple[Word, ...] = ()

    def __post_init__(self) -> None:
        # Callers (and the contract) hand in lists; keep the frozen track truly immutable.
        object.__setattr__(self, "visemes", tuple(self.visemes))
        object.__setattr__(self, "words", tuple(self.words))

    @property
    def duration_ms(self) -> float:
        """End of the last viseme: a track's clock starts at 0, the start of its audio."""
        return self.visemes[-1].end_ms if self.visemes else 0.0

    def shifted(self, offset_ms: float) -> LipSync:
        return LipSync(
            tuple(v.shifted(offset_ms) for v in self.visemes),
            tuple(w.shifted(offset_ms) for w in self.words),
        )

    def window(self, start_ms: float, end_ms: float) -> LipSync:
        """The part of the track inside [start_ms, end_ms), in the same (absolute) times.

        Visemes are clipped at the edges so consecutive windows tile the track; a word goes with
        the window its start falls in, so a client receiving every chunk sees each word once.
        """
        visemes = []
        for v in self.visemes:
            lo = max(v.start_ms, start_ms)
            hi = min(v.end_ms, end_ms)
            if hi > lo:
                visemes.append(v if (lo, hi) == (v.start_ms, v.end_ms) else Viseme(v.name, lo, hi - lo))
        words = tuple(w for w in self.words if start_ms <= w.start_ms < end_ms)
        return LipSync(tuple(visemes), words)

    def concat(self, other: LipSync, offset_ms: float) -> LipSync:
        """This track followed by `other` placed at `offset_ms` on this track's clock."""
        return join([(self, 0.0), (other, offset_ms)])


def join(tracks_with_offsets: Iterable[tuple[LipSync, float]]) -> LipSync:
    """Concatenate tracks, each shifted by its offset, in the order given.

    Where one track ends with the viseme the next starts with, at the same instant, the two are
    one mouth shape (typically a viseme that a window cut in two) and become one viseme again.
    """
    visemes: list[Viseme] = []
    words: list[Word] = []
    for track, offset_ms in tracks_with_offsets:
        for v in track.visemes:
            v = v.shifted(offset_ms) if offset_ms else v
            if visemes and visemes[-1].name == v.name and abs(visemes[-1].end_ms - v.start_ms) <= TIME_EPS_MS:
                prev = visemes[-1]
                visemes[-1] = Viseme(prev.name, prev.start_ms, v.end_ms - prev.start_ms)
            else:
                visemes.append(v)
        words.extend(w.shifted(offset_ms) if offset_ms else w for w in track.words)
    return LipSync(tuple(visemes), tuple(words))
