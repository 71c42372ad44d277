"""What every TTS engine hands to the rest of the system.

A `SpeechSegment` is one sentence (or clause) of synthesised speech together with
the timing the avatar needs for lip-sync and subtitles. Engines stream segments
so that the first sentence can be played while the next is still being made.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from avatar_bridge import Phone, Word

Language = Literal["en", "zh"]
Alphabet = Literal["ipa", "pinyin"]


@dataclass(eq=False)
class SpeechSegment:
    """One synthesised sentence.

    Invariants every engine keeps (the avatar relies on them to stay in sync):
    - `audio` is mono int16 at `sample_rate`;
    - `phones` are contiguous, start at 0 ms and their durations sum to
      `duration_ms` (to 1 ms), so a viseme track built from them spans the audio;
    - `words` are in text order, do not overlap and lie inside the audio.
    Times are ms relative to the start of this segment's audio.
    """

    text: str
    language: Language
    audio: np.ndarray
    sample_rate: int
    phones: list[Phone] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    alphabet: Alphabet = "ipa"

    def __post_init__(self) -> None:
        # Catch engine bugs at the boundary rather than as garbled audio downstream.
        if self.audio.dtype != np.int16 or self.audio.ndim != 1:
            raise ValueError(
                f"audio must be 1-D int16, got {self.audio.dtype} {self.audio.shape}"
            )
        if self.sample_rate <= 0:
            raise ValueError("sample_rate must be positive")

    @property
    def duration_ms(self) -> float:
        return len(self.audio) * 1000.0 / self.sample_rate

    @property
    def num_samples(self) -> int:
        return len(self.audio)


@runtime_checkable
class TTSEngine(Protocol):
    """A loaded voice. Engines are shared by all sessions, so `synthesize` must be
    safe to call from several threads at once."""

    language: Language
    sample_rate: int

    def synthesize(self, text: str) -> Iterator[SpeechSegment]:
        """Yield one segment per sentence of `text`, each as soon as it is ready."""
        ...


class SentenceStreaming(ABC):
    """Mixin: `synthesize` streams `synthesize_sentence` over the text's sentences, so each
    engine only says how to speak one sentence (and may return None for one with nothing to say)."""

    language: Language

    @abstractmethod
    def synthesize_sentence(self, sentence: str) -> SpeechSegment | None:
        """One segment for `sentence`, or None when there is nothing to say."""

    def synthesize(self, text: str) -> Iterator[SpeechSegment]:
        from voices.sentences import split_sentences  # voices.sentences is pure; avoid an import cycle

        for sentence in split_sentences(text, self.language):
            segment = self.synthesize_sentence(sentence)
            if segment is not None:
                yield segment

    def stream(self, text: str) -> Iterator[SpeechSegment]:
        """Segments for live playback, sooner where the engine can: one that can
        speak a sentence in pieces (the Mandarin voice) overrides this; the pieces
        of a sentence join into exactly its `synthesize` segment. Callers holding
        any `TTSEngine` should fall back to `synthesize` when it has no `stream`."""
        return self.synthesize(text)

