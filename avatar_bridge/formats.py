"""A track rendered for the renderer at hand: TalkingHead/Oculus arrays, Azure IDs, Polly marks,
Rhubarb cues.

Every format takes `(track, text="")`; `text` is the segment's text, which only formats that
point into it (Polly's byte offsets) read. Times stay on the track's clock (ms from the
response's audio start), converted to each format's unit.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from .track import LipSync, Word


def _ms(t: float) -> int:
    # Half up, not Python's half-to-even, so equal boundaries always round alike.
    return math.floor(t + 0.5)


def to_talkinghead(track: LipSync, text: str = "") -> dict[str, list]:
    """TalkingHead `speakAudio`/`streamAudio` arrays, integer ms, Oculus viseme names.

    Boundaries are rounded, not durations, so a viseme ends exactly where the next begins and the
    durations sum to the rounded span; a viseme that rounds to nothing is dropped.
    """
    visemes, vtimes, vdurations = [], [], []
    for v in track.visemes:
        start, end = _ms(v.start_ms), _ms(v.end_ms)
        if end > start:
            visemes.append(v.name)
            vtimes.append(start)
            vdurations.append(end - start)
    words = [w.text for w in track.words]
    wtimes = [_ms(w.start_ms) for w in track.words]
    wdurations = [_ms(w.end_ms) - _ms(w.start_ms) for w in track.words]
    return {
        "visemes": visemes, "vtimes": vtimes, "vdurations": vdurations,
        "words": words, "wtimes": wtimes, "wdurations": wdurations,
    }


# Oculus → Azure viseme ID: for each Oculus shape, the Azure ID whose IPA group is that shape,
# so that Azure → Oculus (reference table, as TalkingHead maps it) gives back the same name.
# Where several Azure IDs map to one Oculus shape, the one whose sounds define it:
#   aa → 2 (ɑ, the open jaw; 1 is the schwa group),  O → 8 (o; 3 is ɔ, 9/10 diphthongs),
#   I → 6 (i ɪ j; 11 is the aɪ diphthong),  RR → 13 (ɹ; 5 is the ɝ vowel),
#   kk → 20 (k g ŋ; 12 is h),  TH → 17 (ð, Azure's only interdental group; 19 lumps θ with t d n).
AZURE_IDS: dict[str, int] = {
    "sil": 0, "PP": 21, "FF": 18, "TH": 17, "DD": 19, "kk": 20, "CH": 16, "SS": 15,
    "nn": 14, "RR": 13, "aa": 2, "E": 4, "I": 6, "O": 8, "U": 7,
}

_TICKS_PER_MS = 10_000   # Azure audio offsets are in 100 ns ticks


def to_azure(track: LipSync, text: str = "") -> list[dict[str, int]]:
    """Azure `VisemeReceived` events: one per viseme, at its start."""
    return [
        {"visemeId": AZURE_IDS[v.name], "audioOffset": math.floor(v.start_ms * _TICKS_PER_MS + 0.5)}
        for v in track.visemes
    ]


# Oculus → Polly en-US viseme, through the IPA both tables list for the shape.
# aa → a (æ ɑ; Polly's @ is schwa only), E → E (ɛ ʌ ɝ; e is the eɪ diphthong),
# O → o (oʊ, as Azure O → 8 above), nn → t (Polly groups l with d n t).
POLLY_VISEMES: dict[str, str] = {
    "sil": "sil", "PP": "p", "FF": "f", "TH": "T", "DD": "t", "kk": "k", "CH": "S", "SS": "s",
    "nn": "t", "RR": "r", "aa": "a", "E": "E", "I": "i", "O": "o", "U": "u",
}


def _word_spans(words: tuple[Word, ...], text: str) -> list[tuple[int, int]]:
    """UTF-8 byte (start, end) of each word in `text`, searching forward from the previous word.

    A word the TTS spoke but the text spells differently (numbers read out, normalised
    punctuation) gets an empty span at the current position rather than a wrong one.
    """
    spans: list[tuple[int, int]] = []
    folded = text.casefold() if len(text.casefold()) == len(text) else None
    pos = 0
    for w in words:
        at = text.find(w.text, pos) if w.text else -1
        if at < 0 and folded is not None and w.text:
            at = folded.find(w.text.casefold(), pos)
        if at < 0:
            byte = len(text[:pos].encode("utf-8"))
            spans.append((byte, byte))
            continue
        start = len(text[:at].encode("utf-8"))
        spans.append((start, start + len(text[at:at + len(w.text)].encode("utf-8"))))
        pos = at + len(w.text)
    return spans


def to_polly(track: LipSync, text: str = "") -> list[dict[str, Any]]:
    """Amazon Polly speech marks (word and viseme), in time order, word marks first on ties.

    `text` is the text the words were spoken from; word marks point into it in UTF-8 bytes.
    """
    marks: list[tuple[int, int, dict[str, Any]]] = []
    for w, (start, end) in zip(track.words, _word_spans(track.words, text)):
        t = _ms(w.start_ms)
        marks.append((t, 0, {"time": t, "type": "word", "start": start, "end": end, "value": w.text}))
    for v in track.visemes:
        t = _ms(v.start_ms)
        marks.append((t, 1, {"time": t, "type": "viseme", "value": POLLY_VISEMES[v.name]}))
    marks.sort(key=lambda m: (m[0], m[1]))   # stable: visemes keep their order within a ms
    return [m[2] for m in marks]


# Oculus → Rhubarb mouth shape. A closed (p b m), B slightly open (most consonants and EE),
# C open (EH), D wide open (AA), E rounded (AO, ER), F puckered (UW OW W), G f/v, H l, X rest.
RHUBARB_SHAPES: dict[str, str] = {
    "sil": "X", "PP": "A", "FF": "G", "TH": "B", "DD": "B", "kk": "B", "CH": "B", "SS": "B",
    "nn": "H", "RR": "E", "aa": "D", "E": "C", "I": "B", "O": "E", "U": "F",
}


def to_rhubarb(track: LipSync, text: str = "") -> dict[str, list[dict[str, Any]]]:
    """Rhubarb Lip Sync JSON: cues in seconds at Rhubarb's own centisecond precision.

    Several Oculus shapes share a Rhubarb shape, so neighbours that become equal are one cue.
    """
    cues: list[dict[str, Any]] = []
    for v in track.visemes:
        start = math.floor(v.start_ms / 10 + 0.5)   # centiseconds, boundaries rounded
        end = math.floor(v.end_ms / 10 + 0.5)
        if end <= start:
            continue
        shape = RHUBARB_SHAPES[v.name]
        if cues and cues[-1]["value"] == shape and cues[-1]["_end"] == start:
            cues[-1]["_end"] = end
        else:
            cues.append({"_start": start, "_end": end, "value": shape})
    return {"mouthCues": [{"start": c["_start"] / 100, "end": c["_end"] / 100, "value": c["value"]} for c in cues]}


FORMATS: dict[str, Callable[[LipSync, str], Any]] = {
    "oculus": to_talkinghead,
    "talkinghead": to_talkinghead,
    "azure": to_azure,
    "polly": to_polly,
    "rhubarb": to_rhubarb,
}
# The one list of format names every surface accepts (protocol, /v1/tts, the CLI); "talkinghead"
# is another name for "oculus" (TalkingHead's arrays use the Oculus viseme names).
VISEME_FORMATS: tuple[str, ...] = tuple(FORMATS)


def render(track: LipSync, fmt: str, text: str = "") -> Any:
    """The track in format `fmt` (a key of FORMATS)."""
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown lip-sync format {fmt!r}; valid formats: {', '.join(sorted(FORMATS))}") from None
    return renderer(track, text)
