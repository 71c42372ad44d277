"""The avatar's facial mood while it speaks, from what kind of answer it is giving."""

from __future__ import annotations

from enum import Enum


class Mood(str, Enum):
    NEUTRAL = "neutral"
    HAPPY = "happy"
    APOLOGETIC = "apologetic"
    SERIOUS = "serious"


# Banking answers default to neutral: a smile on a fee or a blocked card reads as mockery, so
# only greetings smile, and anything that delivers bad news or a legal warning does not.
_MOOD_BY_KIND: dict[str, Mood] = {
    "greeting": Mood.HAPPY,
    "farewell": Mood.HAPPY,
    "answer": Mood.NEUTRAL,
    "handoff": Mood.NEUTRAL,
    "handoff-requested": Mood.NEUTRAL,
    "apology": Mood.APOLOGETIC,
    "lost-card": Mood.APOLOGETIC,
    "not-understood": Mood.APOLOGETIC,
    "error": Mood.APOLOGETIC,
    "disclosure": Mood.SERIOUS,
    "warning": Mood.SERIOUS,
}


def mood_for(kind: str) -> str:
    """Mood name for an answer kind; unknown kinds are neutral, the safe face for a bank."""
    key = kind.strip().lower().replace("_", "-").replace(" ", "-")
    return _MOOD_BY_KIND.get(key, Mood.NEUTRAL).value
