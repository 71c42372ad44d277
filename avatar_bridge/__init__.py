"""Phonemes to lip-sync: viseme tracks, word timings and the formats avatar renderers read.

Pure: no I/O and no models, standard library only.
"""

from .formats import FORMATS, VISEME_FORMATS, render, to_azure, to_polly, to_rhubarb, to_talkinghead
from .mood import Mood, mood_for
from .track import OCULUS_VISEMES, LipSync, Phone, Viseme, Word, join, normalize_viseme_name
from .viseme_track import lipsync, unknown_symbols, visemes_from_phones

__all__ = [
    "FORMATS",
    "VISEME_FORMATS",
    "OCULUS_VISEMES",
    "LipSync",
    "Mood",
    "Phone",
    "Viseme",
    "Word",
    "join",
    "lipsync",
    "mood_for",
    "normalize_viseme_name",
    "render",
    "to_azure",
    "to_polly",
    "to_rhubarb",
    "to_talkinghead",
    "unknown_symbols",
    "visemes_from_phones",
]
