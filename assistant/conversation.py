"""Conversation context: which entry a follow-up question means.

"What documents do I need for that", "那外国人呢", "怎么调高": on their own these match the wrong
entry or none. A `Conversation` remembers the last few answered entries of one conversation (a
WebSocket session, or a `conversation_id` of `POST /v1/ask`) and resolves a question against them:

- a question that reads as **elliptical** (a pronoun or "what about …", "那…呢", or too short to
  name its own topic) is searched again as "topic question + this question", where the topic
  question is the last answered entry's own first example question; the entry just answered is
  left out of that search (a customer who asks a follow-up wants something next to it, not the
  same answer again), and its confidence is computed among the rest;
  when the question alone is more confident than that (a short new question), it stands alone;
- a **self-contained** question keeps its own result when that is confident; when it is not, the
  context may only choose between the question's own two best guesses, never pull it elsewhere.

Context only ever changes *which approved entry* answers (or whether the teller hands off), never
the text. The state is small (the last `MAX_EXCHANGES` answered entries and their questions),
bounded, and ends with the conversation; it holds nothing a turn's audit does not.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_EXCHANGES = 3
# A follow-up refers to the last answer; two turns on, the topic has usually moved.
CONTEXT_REACH = 2
AGREE_WITHIN = 2    # a self-contained question's own best guesses the context may choose among

_EN_MARKERS = re.compile(
    r"^\s*(and|also|so|then|what about|how about|what if)\b"
    r"|\b(it|its|that|this|those|these|them|they|one|there)\b", re.I)
_EN_WORD = re.compile(r"[A-Za-z']+")
_EN_FUNCTION = {
    "a", "an", "the", "i", "me", "my", "you", "your", "we", "do", "does", "did", "is", "are", "was", "can",
    "could", "will", "would", "should", "how", "what", "when", "where", "which", "who", "why", "to", "for",
    "of", "in", "on", "at", "with", "and", "or", "if", "get", "need", "much", "many", "long", "any", "there",
    "it", "that", "this", "be", "have", "has", "about", "so", "then", "also", "much", "more", "most", "up",
}
_ZH_MARKERS = re.compile(r"^(那|那么|那如果|还有|另外|如果)|呢[？?。!！]*$|(它|这个|那个|这样|那样|这些|那些|这种|那种)")
_HAN = re.compile(r"[\u3400-\u9fff]")
_ZH_FUNCTION = re.compile(r"(怎么|什么|多少|哪里|哪儿|可以|能不能|需要|要|吗|呢|吧|啊|我|你|的|了|是|有|能|会|可|在|去|请问)")
EN_CONTENT_WORDS = 1   # at most this many content words: too few to name a topic of its own
ZH_CONTENT_CHARS = 3   # at most this many Han characters once question words are removed


def is_elliptical(text: str, language: str) -> bool:
    """Does the question lean on what came before (a pronoun, "what about", "那…呢", or too few
    words of its own to name a topic)?"""
    text = text.strip()
    if language == "zh" or _HAN.search(text):
        if _ZH_MARKERS.search(text):
            return True
        return len(_HAN.findall(_ZH_FUNCTION.sub("", text))) <= ZH_CONTENT_CHARS
    if _EN_MARKERS.search(text):
        return True
    content = [w for w in _EN_WORD.findall(text.lower()) if w not in _EN_FUNCTION]
    return len(content) <= EN_CONTENT_WORDS


@dataclass(frozen=True)
class Exchange:
    """One answered turn, as the context keeps it."""

    question: str
    language: str
    entry_id: str | None      # None: handed off or not understood
    topic: str | None         # the entry's own first example question in `language`


Search = Callable[..., Sequence[Any]]   # KnowledgeIndex.search(text, k, exclude=...)


@dataclass(frozen=True)
class Resolution:
    candidates: list[Any]     # best first, as the index returns them
    followed_up: bool         # the context decided the answer
    query: str                # what was searched for the chosen candidates


class Conversation:
    """The context of one conversation. Thread-safe: `resolve` runs on a worker thread."""

    def __init__(self) -> None:
        self._exchanges: deque[Exchange] = deque(maxlen=MAX_EXCHANGES)
        self._lock = threading.Lock()
        self.last_used = 0.0   # set by `Conversations` (the clock of the id table)

    @property
    def exchanges(self) -> tuple[Exchange, ...]:
        with self._lock:
            return tuple(self._exchanges)

    def anchor(self) -> Exchange | None:
        """The answered exchange a follow-up would refer to, if it is recent enough."""
        with self._lock:
            recent = list(self._exchanges)[-CONTEXT_REACH:]
        return next((x for x in reversed(recent) if x.entry_id is not None and x.topic), None)

    def resolve(self, text: str, language: str, search: Search, *, k: int, threshold: float) -> Resolution:
        """The candidates for `text` in this conversation (see the module's docstring); `threshold`
        is the confidence below which the teller would hand off."""
        alone = list(search(text, k))
        anchor = self.anchor()
        if anchor is None or not text.strip():
            return Resolution(alone, False, text)
        elliptical = is_elliptical(text, language)
        if not elliptical and alone and alone[0].confidence >= threshold:
            return Resolution(alone, False, text)
        joiner = "" if language == "zh" and _HAN.search(anchor.topic or "") else " "
        query = f"{anchor.topic}{joiner}{text.strip()}"
        in_context = list(search(query, k, exclude=(anchor.entry_id,)))
        if not in_context:
            return Resolution(alone, False, text)
        best = in_context[0]
        if elliptical:
            # The question leans on the last answer, but a new question can be short too: the
            # reading that is more sure of itself wins (the context on a tie).
            if alone and alone[0].confidence > best.confidence:
                return Resolution(alone, False, text)
            return Resolution(in_context, True, query)
        # A question of its own that its words alone cannot settle: the context may only pick one
        # of the question's own two best guesses, never pull it to another entry.
        own = {c.entry.id for c in alone[:AGREE_WITHIN]}
        if best.confidence >= threshold and best.entry.id in own:
            return Resolution(in_context, True, query)
        return Resolution(alone, False, text)

    def remember(self, question: str, language: str, entry_id: str | None, topic: str | None) -> None:
        """Keep a served turn (`entry_id` None for a hand-off or "say again"; `topic` the entry's
        own first example question)."""
        with self._lock:
            self._exchanges.append(Exchange(question, language, entry_id, topic))


class Conversations:
    """Conversations of `POST /v1/ask` by id: at most `max_open`, each forgotten `ttl_s` after its
    last question (the least recently used goes first when full)."""

    def __init__(self, *, max_open: int = 10_000, ttl_s: float = 30 * 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.max_open = max_open
        self.ttl_s = ttl_s
        self._clock = clock
        self._open: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conversation_id: str | None) -> tuple[str, Conversation]:
        """The conversation with this id, or a new one (with a new, unguessable id) when the id is
        None, unknown or expired."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            found = self._open.get(conversation_id) if conversation_id else None
            if found is None:
                conversation_id = f"conv_{uuid.uuid4().hex}"
                found = self._open[conversation_id] = Conversation()
                while len(self._open) > self.max_open:
                    self._open.popitem(last=False)
            self._open.move_to_end(conversation_id)
            found.last_used = now
            return conversation_id, found

    def _expire(self, now: float) -> None:
        while self._open:
            oldest_id, oldest = next(iter(self._open.items()))
            if now - oldest.last_used <= self.ttl_s:
                return
            del self._open[oldest_id]

    def __len__(self) -> int:
        return len(self._open)
