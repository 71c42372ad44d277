"""Suggested follow-up questions: other served entries close to the one just answered.

Only entries the index holds are suggested (the index follows the store's approved versions), each
as its first example question in the answer's language, so a suggestion is always a question the
teller answers word for word. Two sources, in this order: the retriever's other candidates for the
customer's question that share a topical tag with the cited entry (close in meaning *and* in
subject: "lost card" also retrieves "social security card", which is not a follow-up), then other
entries sharing that tag. A tag carried by most of the KB (a "demo" label) says nothing about the
subject and is ignored; small talk is never suggested.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import is_
from typing import Any

MAX_RELATED = 3
SMALL_TALK = frozenset({"chitchat", "greeting"})


def first_question(entry: Any, language: str) -> str | None:
    """The entry's own first example question in `language` (how it is suggested, and the topic a
    follow-up question refers to)."""
    questions = entry.questions.get(language) or ()
    return questions[0] if questions else None


def small_talk(entry: Any) -> bool:
    return bool(SMALL_TALK & set(entry.tags))


class TagIndex:
    """Which served entries wear each tag, built once per version of the KB (not per answer: at
    10,000 entries a scan costs milliseconds, and answers are chosen on the event loop)."""

    def __init__(self, entries: Sequence[Any]):
        # Kept: `current` compares by identity, and while they are held no object's id is reused.
        self.entries = list(entries)
        self.size = len(self.entries)
        self.by_tag: dict[str, list[Any]] = {}
        for entry in self.entries:
            for tag in dict.fromkeys(entry.tags):
                self.by_tag.setdefault(tag, []).append(entry)

    def current(self, entries: Sequence[Any]) -> bool:
        """True when `entries` are the very objects this was built from (entries are immutable; a
        new version is a new object), so an unchanged KB costs one identity pass, no rebuild."""
        return len(entries) == self.size and all(map(is_, entries, self.entries))

    def topical(self, entry: Any) -> list[str]:
        """The entry's tags that narrow the subject: not small talk, not worn by half the KB or more."""
        return [tag for tag in dict.fromkeys(entry.tags)
                if tag not in SMALL_TALK and len(self.by_tag.get(tag, ())) <= self.size / 2]


def _pick(pool: Iterable[Any], language: str, exclude: set[str], limit: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for entry in pool:
        if len(out) >= limit:
            break
        if entry.id in exclude or small_talk(entry):
            continue
        question = first_question(entry, language)
        if question:
            out.append((entry.id, question))
            exclude.add(entry.id)
    return out


def related_to_answer(cited: Any, candidates: Sequence[Any], tags: TagIndex, language: str,
                      limit: int = MAX_RELATED) -> tuple[tuple[str, str], ...]:
    """Up to `limit` (entry id, question) pairs related to the cited entry; never the cited entry."""
    if small_talk(cited):
        return ()
    topical = tags.topical(cited)
    if not topical:
        return ()
    wanted = set(topical)
    close = [c.entry for c in candidates if wanted & set(c.entry.tags)]
    picked = _pick(close, language, {cited.id}, limit)
    for tag in topical:
        picked += _pick(tags.by_tag[tag], language, {cited.id, *(i for i, _ in picked)}, limit - len(picked))
    return tuple(picked)


def did_you_mean(candidates: Sequence[Any], language: str, floor: float,
                 limit: int = MAX_RELATED) -> tuple[tuple[str, str], ...]:
    """On a low-confidence hand-off: the candidates that were nearly good enough, if any."""
    near = [c.entry for c in candidates if float(c.confidence) >= floor]
    return tuple(_pick(near, language, set(), limit))
