"""Conversation context: which entry a follow-up question means.

"What documents do I need for that", "那外国人呢", "怎么调高": on their own these match the wrong
entry or none. A `Conversation` remembers the last few answered entries of one conversation (a
WebSocket session, or a `conversation_id` of `POST /v1/ask`) and resolves a question against the
last one (the *anchor*) when it is recent enough:

1. The question is searched alone; unless that reading is confident and on the subject (nothing
   below could overrule it), it is searched again as "anchor's topic question + this question" with
   the anchor itself left out (a customer who asks a follow-up wants something next to the last
   answer, not the same answer again); the second search's confidences are among the rest.
2. The two readings are chosen between by two signals: whether the question **refers back**
   explicitly (a pronoun, "what about …", "那…呢"), and whether a reading stays **on the
   conversation's subject** (shares a topical tag with the anchor; see `related.TagIndex`).
   The context may *overrule* the question's own reading only when that reading leaves the subject
   and the context's reading stays on it, or the question refers back.
   - the question alone is confident and the context agrees, or has no confident reading: alone;
     except a question that refers back whose own reading leaves the subject ("how long does it
     take" after opening an account), which is never trusted on its own;
   - both confident and different: the context's when it may overrule and is the surer of the two
     ("手续费怎么收" after instalments), else the question's own ("What are your opening hours?"
     after sending money abroad);
   - the question alone is unsure: the context's when it is confident and either one of the
     question's own two best guesses or allowed to overrule; else the question's own (so the
     teller hands off rather than guess).

Context only ever changes *which approved entry* answers (or whether the teller hands off), never
the text. The state is small (the last `MAX_EXCHANGES` answered entries and their questions, and
at most one pending clarifying question: its options' entry ids and questions, see clarify.py),
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

from knowledge.privacy import mask_personal

from .clarify import Pending

MAX_EXCHANGES = 3
# A follow-up refers to the last answer; two turns on, the topic has usually moved.
CONTEXT_REACH = 2
AGREE_WITHIN = 2    # an unsure question's own best guesses the context may choose among

_EN_MARKERS = re.compile(
    r"^\s*(and|also|so|then|what about|how about|what if)\b"
    r"|\b(it|its|that|this|those|these|them|they|one|there)\b", re.I)
_ZH_MARKERS = re.compile(r"^(那|那么|那如果|还有|另外|如果)|呢[？?。!！]*$|(它|这个|那个|这样|那样|这些|那些|这种|那种)")
_HAN = re.compile(r"[\u3400-\u9fff]")


def refers_back(text: str, language: str) -> bool:
    """Does the question point at what came before (a pronoun, "what about …", "那…呢")?"""
    text = text.strip()
    if language == "zh" or _HAN.search(text):
        return bool(_ZH_MARKERS.search(text))
    return bool(_EN_MARKERS.search(text))


@dataclass(frozen=True)
class Exchange:
    """One answered turn, as the context keeps it."""

    question: str
    language: str
    entry_id: str | None      # None: handed off or not understood
    topic: str | None         # the entry's own first example question in `language`
    tags: frozenset[str] = frozenset()   # the entry's topical tags (its subject)


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
        # The clarifying question the last served turn asked, if it asked one (see clarify.py):
        # the next served turn answers it or moves on, so at most one is ever kept.
        self._pending: Pending | None = None
        self._lock = threading.Lock()
        self.last_used = 0.0   # set by `Conversations` (the clock of the id table)

    @property
    def exchanges(self) -> tuple[Exchange, ...]:
        with self._lock:
            return tuple(self._exchanges)

    @property
    def pending(self) -> Pending | None:
        with self._lock:
            return self._pending

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

        def on_subject(candidate: Any) -> bool:
            return bool(anchor.tags & set(candidate.entry.tags))

        own = alone[0] if alone else None
        own_ok = own is not None and own.confidence >= threshold
        own_leaves = own is None or not on_subject(own)   # the question's own reading leaves the subject
        if own_ok and not own_leaves:
            return Resolution(alone, False, text)   # confident and on the subject: nothing can overrule it
        joiner = "" if language == "zh" and _HAN.search(anchor.topic or "") else " "
        query = f"{anchor.topic}{joiner}{text.strip()}"
        in_context = list(search(query, k, exclude=(anchor.entry_id,)))
        if not in_context:
            return Resolution(alone, False, text)
        ctx = in_context[0]
        ctx_ok = ctx.confidence >= threshold
        refers = refers_back(text, language)
        # The context may overrule the question's own reading only when that reading leaves the
        # subject, and the context's stays on it or the question points back explicitly.
        overrule = own_leaves and (on_subject(ctx) or refers)
        take_context = Resolution(in_context, True, query)
        if own_ok and (not ctx_ok or own.entry.id == ctx.entry.id):
            # Confident (and off the subject), and the context has nothing better: trust it, unless
            # it points back (then the context's reading, or a hand-off).
            return take_context if refers and own.entry.id != ctx.entry.id else Resolution(alone, False, text)
        if own_ok:   # both confident, and they disagree: the context must also be the surer reading
            surer = ctx.confidence > own.confidence
            return take_context if overrule and surer else Resolution(alone, False, text)
        guesses = {c.entry.id for c in alone[:AGREE_WITHIN]}
        if ctx_ok and (ctx.entry.id in guesses or overrule):
            return take_context
        return Resolution(alone, False, text)

    def remember(self, question: str, language: str, entry_id: str | None, topic: str | None,
                 tags: Sequence[str] = (), *, pending: Pending | None = None) -> None:
        """Keep a served turn (`entry_id` None for a hand-off, "say again" or a clarifying
        question; `topic` the entry's own first example question; `tags` its topical tags);
        `pending` is the clarifying question it asked, which replaces any earlier one."""
        with self._lock:
            self._exchanges.append(Exchange(mask_personal(question), language, entry_id, topic, frozenset(tags)))
            self._pending = pending


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
