"""Text as the voice says it, with each spoken stretch tied to what the customer reads.

Normalisers rewrite "$1,200.50" as "one thousand two hundred dollars and fifty cents";
the engine is given the spoken text, but subtitles and word marks must still show
"$1,200.50". A `SpokenText` keeps, for every written word, where its spoken form
sits in the engine's input, so timing events (espeak word events, Piper's aligned
phones) can be mapped back to the written word.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_EDGE_PUNCT = "\"'“”‘’()[]{}<>,.;:!?…—–-«»"


@dataclass(frozen=True)
class SpokenWord:
    written: str  # as displayed (a card number is shown masked)
    spoken: str  # what the voice says for it: one word or several


@dataclass
class SpokenText:
    text: str = ""  # the engine's input, punctuation kept for prosody
    words: list[SpokenWord] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)  # start of each word's spoken form in `text`

    def add_raw(self, chunk: str) -> None:
        """Text that is not a word (spaces, punctuation), or words said as written."""
        for m in re.finditer(r"\S+", chunk):
            token = m.group()
            word = token.strip(_EDGE_PUNCT)
            if token.endswith(".") and "." in word:
                word += "."  # "e.g." keeps its final period
            if word:
                self.offsets.append(len(self.text) + m.start() + token.find(word[0]))
                self.words.append(SpokenWord(word, word))
        self.text += chunk

    def add_gap(self, chunk: str) -> None:
        """Spoken text that belongs to no word (punctuation kept for pauses)."""
        self.text += chunk

    def add_word(self, written: str, spoken: str) -> None:
        self.offsets.append(len(self.text))
        self.words.append(SpokenWord(written, spoken))
        self.text += spoken

    def word_at(self, offset: int) -> int | None:
        """Index of the written word whose spoken form covers character `offset`."""
        i = bisect.bisect_right(self.offsets, offset) - 1
        if i < 0:
            return None
        end = self.offsets[i] + len(self.words[i].spoken)
        return i if offset < end else None
