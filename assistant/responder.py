"""Turns a customer question into an answer taken word for word from an approved entry, or a hand-off.

Nothing here generates text about money: an answer is an entry's own answer (plus its mandatory
disclosure), or one of the fixed system lines below (hand-off, "please say that again").
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

from .clarify import Choice, ClarifyRule, Option, Pending, choose, english, options_for, question_text
from .conversation import Conversation
from .related import TagIndex, did_you_mean, first_question, related_to_answer, small_talk

CJK = re.compile(r"[\u4e00-\u9fff]")
# The retriever is asked for more entries than are reported as candidates: the extra ones only
# feed the suggested follow-up questions (`Answer.related`).
RETRIEVE_K = 6
REPORTED_CANDIDATES = 3

SYSTEM_LINES = {
    "handoff": {
        "zh": "这个问题我为您转接人工柜员，请稍候。",
        "en": "Let me connect you to a colleague who can help with that. Please hold on.",
    },
    "handoff_requested": {
        "zh": "好的，正在为您转接人工柜员，请稍候。",
        "en": "Of course. I'm connecting you to a colleague now. Please hold on.",
    },
    "not_understood": {
        "zh": "抱歉，我没有听清楚，请您再说一遍。",
        "en": "Sorry, I didn't catch that. Could you say it again?",
    },
    # Spoken while a busy server prepares the answer (`scheduling.hold_after_s`); the answer follows.
    "hold": {
        "zh": "请稍等，马上为您解答。",
        "en": "One moment, please.",
    },
}

_HUMAN_ZH = re.compile(r"(转人工|人工服务|人工客服|人工柜员|找人工|要人工|接人工|真人|客服经理|找工作人员)")
_HUMAN_EN = re.compile(
    r"\b(human|real person|a person|someone real|an agent|representative|operator|staff member)\b", re.I
)


class _Index(Protocol):
    def search(self, text: str, k: int = 5) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Answer:
    text: str
    language: str
    kind: str                      # answer | greeting | handoff | not_understood | clarify | hold
    handoff: bool
    confidence: float
    entry_id: str | None = None
    entry_version: int | None = None
    disclosure: str | None = None
    candidates: tuple[tuple[str, float], ...] = field(default_factory=tuple)
    retrieval_s: float = 0.0
    related: tuple[tuple[str, str], ...] = ()   # (entry id, question in `language`) follow-ups
    topic: str | None = None       # the cited entry's own first question in `language` (what a follow-up refers to)
    topic_tags: tuple[str, ...] = ()   # the cited entry's topical tags (the conversation's subject)
    followed_up: bool = False      # the conversation's context chose this entry
    # kind "clarify": the entries offered, (entry id, its question in `language`), best first;
    # `confidence` is then the group confidence that the right entry is among them.
    options: tuple[tuple[str, str], ...] = ()
    choice: str | None = None      # this answer is the option a customer picked: tap | ordinal | phrase

    def pending(self) -> Pending | None:
        """The clarifying question this answer leaves the conversation waiting on, if any."""
        if self.kind != "clarify":
            return None
        return Pending(tuple(Option(i, q) for i, q in self.options), self.language, self.confidence)


def detect_language(text: str, default: str = "en") -> str:
    """Typed text: any Han character means Mandarin; otherwise the default."""
    if CJK.search(text):
        return "zh"
    return "en" if re.search(r"[A-Za-z]", text) else default


def asks_for_human(text: str) -> bool:
    return bool(_HUMAN_ZH.search(text) or _HUMAN_EN.search(text))


class Responder:
    """Retrieval → answer | hand-off, with a threshold chosen on data (see docs/knowledge.md)."""

    def __init__(self, index: _Index, *, handoff_threshold: float, clarify: ClarifyRule | None = None):
        self.index = index
        self.handoff_threshold = handoff_threshold
        # Clarifying questions are on unless a rule says otherwise (`clarify.enabled`).
        self.clarify = clarify or ClarifyRule(threshold=handoff_threshold)
        self._tags: TagIndex | None = None   # rebuilt only when the served entries change

    def reply(self, text: str, language: str, conversation: Conversation | None = None, *,
              tapped: str | None = None) -> Answer:
        """The whole turn: a pending clarifying question resolved by this turn (a tap on option
        `tapped`, an ordinal, a phrase), else retrieval in the conversation's context and an
        answer, a clarifying question or a hand-off. Reads the conversation, never changes it."""
        pending = conversation.pending if conversation is not None else None
        if pending is not None and not asks_for_human(text):
            start = time.perf_counter()
            picked = self._choice(text, pending, tapped)
            if picked is not None:
                found = self._chosen(picked, pending, language, time.perf_counter() - start)
                if found is not None:
                    return found
        candidates, retrieval_s, followed = self.retrieve(text, language, conversation)
        return self.answer(text, language, candidates, retrieval_s, followed_up=followed)

    def _choice(self, text: str, pending: Pending, tapped: str | None) -> Choice | None:
        if tapped is not None:
            option = pending.option(tapped)
            return Choice(option, "tap") if option is not None else None
        rule, ids = self.clarify, {o.entry_id for o in pending.options}
        return choose(text, pending, search=self.index.search, threshold=self.handoff_threshold,
                      choice_margin=rule.choice_margin, choice_reach=rule.choice_reach, k=RETRIEVE_K,
                      others=lambda: [e.id for e in self._served() if e.id not in ids])

    def _chosen(self, picked: Choice, pending: Pending, language: str, retrieval_s: float) -> Answer | None:
        """The picked option's entry answered (None if it left the index since it was offered)."""
        entry = next((e for e in self._served() if e.id == picked.option.entry_id), None)
        if entry is None:
            return None
        answer = self._entry_answer(entry, language or pending.language, pending.confidence, (), (), retrieval_s)
        return dataclasses.replace(answer, choice=picked.how)

    def retrieve(self, text: str, language: str = "en", conversation: Conversation | None = None
                 ) -> tuple[list[Any], float, bool]:
        """Candidates for `text`, resolved against the conversation's context when there is one;
        returns (candidates, seconds, whether the context chose them)."""
        start = time.perf_counter()
        if not text.strip():
            return [], time.perf_counter() - start, False
        if conversation is None:
            candidates, followed = list(self.index.search(text, k=RETRIEVE_K)), False
        else:
            found = conversation.resolve(text, language, self.index.search, k=RETRIEVE_K,
                                         threshold=self.handoff_threshold)
            candidates, followed = found.candidates, found.followed_up
        return candidates, time.perf_counter() - start, followed

    def answer(self, text: str, language: str, candidates: list[Any] | None = None,
               retrieval_s: float = 0.0, *, followed_up: bool = False) -> Answer:
        text = text.strip()
        if not text:
            return self._system("not_understood", language, handoff=False)
        if asks_for_human(text):
            return self._system("handoff_requested", language, handoff=True)
        if candidates is None:
            candidates, retrieval_s, followed_up = self.retrieve(text, language)
        ranked = tuple((c.entry.id, round(float(c.confidence), 4)) for c in candidates[:REPORTED_CANDIDATES])
        best = candidates[0] if candidates else None
        offered, group = self.offered(text, candidates)
        if offered:
            lang = language if language in ("zh", "en") else "en"
            options = options_for(offered, lang)
            return Answer(text=question_text(options, lang), language=lang, kind="clarify", handoff=False,
                          confidence=group, candidates=ranked, retrieval_s=retrieval_s, followed_up=followed_up,
                          options=tuple((o.entry_id, o.question) for o in options))
        if best is None or best.confidence < self.handoff_threshold:
            confidence = float(best.confidence) if best else 0.0
            lang = language if language in ("zh", "en") else "en"
            # Half the threshold: close enough that "did you mean" helps, far from a guess.
            near = did_you_mean(candidates, lang, floor=self.handoff_threshold / 2)
            return self._system("handoff", language, handoff=True, confidence=confidence, ranked=ranked,
                                retrieval_s=retrieval_s, related=near)
        return self._entry_answer(best.entry, language, float(best.confidence), candidates, ranked, retrieval_s,
                                  followed_up=followed_up)

    def _entry_answer(self, entry: Any, language: str, confidence: float, candidates: Sequence[Any],
                      ranked: tuple, retrieval_s: float, *, followed_up: bool = False) -> Answer:
        tags = self._tag_index()
        lang = language if language in entry.answer else next(iter(entry.answer))
        return Answer(
            text=entry.answer[lang],
            language=lang,
            kind="greeting" if "greeting" in entry.tags else "answer",
            handoff=False,
            confidence=confidence,
            entry_id=entry.id,
            entry_version=getattr(entry, "version", None),
            disclosure=(entry.disclosure or {}).get(lang) or None,
            candidates=ranked,
            retrieval_s=retrieval_s,
            related=related_to_answer(entry, candidates, tags, lang),
            topic=None if small_talk(entry) else first_question(entry, lang),   # small talk is no topic
            topic_tags=tuple(tags.topical(entry)),
            followed_up=followed_up,
        )

    def offered(self, text: str, candidates: Sequence[Any]) -> tuple[tuple[Any, ...], float]:
        """The candidates a clarifying question would offer for `text`, and the confidence that
        the right entry is among them; `((), 0.0)` when the teller answers or hands off."""
        return self.clarify.options(candidates, self._confidence(), english(text))

    def _confidence(self) -> Any:
        """The index's calibrated logistic (None for an index without one: no clarifying)."""
        params = getattr(self.index, "params", None)
        return getattr(params, "confidence", None)

    def _served(self) -> list[Any]:
        entries = getattr(self.index, "entries", None)
        return list(entries()) if callable(entries) else []

    def _tag_index(self) -> TagIndex:
        served = self._served()
        if self._tags is None or not self._tags.current(served):
            self._tags = TagIndex(served)
        return self._tags

    @staticmethod
    def _system(kind: str, language: str, *, handoff: bool, confidence: float = 0.0,
                ranked: tuple = (), retrieval_s: float = 0.0, related: tuple = ()) -> Answer:
        lang = language if language in ("zh", "en") else "en"
        return Answer(text=SYSTEM_LINES[kind][lang], language=lang, kind="handoff" if handoff else kind,
                      handoff=handoff, confidence=confidence, candidates=ranked, retrieval_s=retrieval_s,
                      related=related)

    @classmethod
    def hold(cls, language: str) -> Answer:
        """"One moment, please": not an answer (nothing is cited, nothing is audited); the real
        answer to the same turn follows it."""
        return cls._system("hold", language, handoff=False)

    def to_json(self, answer: Answer) -> dict[str, Any]:
        return {
            "text": answer.text,
            "language": answer.language,
            "kind": answer.kind,
            "handoff": answer.handoff,
            "confidence": round(answer.confidence, 4),
            "entry_id": answer.entry_id,
            "entry_version": answer.entry_version,
            "disclosure": answer.disclosure,
            "candidates": [{"entry_id": e, "confidence": c} for e, c in answer.candidates],
            "related": related_json(answer),
            "clarify": clarify_json(answer),
        }


def related_json(answer: Answer) -> list[dict[str, str]]:
    return [{"id": entry_id, "question": question} for entry_id, question in answer.related]


def clarify_json(answer: Answer) -> list[dict[str, str]]:
    return [{"id": entry_id, "question": question} for entry_id, question in answer.options]
