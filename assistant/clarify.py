"""Clarifying questions: when the best entries are too close to choose between, ask which one.

The one place that decides *whether* to clarify (`ClarifyRule.options`), how the question is
worded (`question_text`), and how the customer's next turn picks an option (`choose`). The
`Responder` calls it; the `Conversation` keeps the pending question (`Pending`) until the next
served turn.

**When.** The index's confidence is a calibrated probability that its top entry is right, a
logistic of the fused score and the margin over the runner-up. The same logistic, given the margin
of the top *n* entries over the next one, reads as "the right entry is among the top n". The
teller clarifies when that group confidence reaches `group_threshold` while the top entry alone
is below the hand-off threshold (it would hand off), or when the top entry is confident but its
runner-up is tied with it (a fused-score gap below `tie_margin`: a guess between two entries is not
an answer). The group bar may sit below the hand-off threshold (0.45 against 0.6 on the demo, chosen
on dev data): a question names only approved entries, so a wrong option costs a turn, not a wrong
fact. Small talk is never offered, and fewer than two options is not a question.

**Only approved text.** The question is a fixed template per language around each option's own
first example question: it names entries and states no fact, so nothing about money is said that
an approved entry does not say.

**The next turn.** A tap names the entry; a spoken or typed turn picks an option by ordinal
("第二个", "the last one") or by a phrase that matches one option clearly better than the others
("换成人民币"); anything else is a new question, answered as usual.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .related import first_question, small_talk

_HAN = re.compile(r"[\u3400-\u9fff]")
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
MARKS = "①②③"

TEMPLATES = {
    # One question naming every option, so it is one sentence for the voice and one caption.
    "zh": ("您是想问：{options}？", "，还是", "{mark}{question}"),
    "en": ("Do you mean: {options}?", ", or ", "{number}) {question}"),
}


@dataclass(frozen=True)
class Option:
    """One entry offered in a clarifying question: its id and its first question in the language."""

    entry_id: str
    question: str


@dataclass(frozen=True)
class Pending:
    """The clarifying question a conversation is waiting on (at most one, kept until the next
    served turn). `confidence` is the group confidence that the right entry is among `options`."""

    options: tuple[Option, ...]
    language: str
    confidence: float

    def option(self, entry_id: str) -> Option | None:
        return next((o for o in self.options if o.entry_id == entry_id), None)


@dataclass(frozen=True)
class Choice:
    """What the customer's turn picked, and how (`tap`, `ordinal`, `phrase`)."""

    option: Option
    how: str


def english(text: str) -> bool:
    """As the index decides it for its confidence: no Han character means an English question."""
    return _HAN.search(text) is None


@dataclass(frozen=True)
class ClarifyRule:
    """Whether to ask, and which options (see the module's docstring); settings: `clarify.*`."""

    threshold: float            # the hand-off threshold: confidence needed to answer
    # Defaults chosen on the demo KB's dev data (docs/knowledge.md, "Clarifying questions").
    group_threshold: float | None = 0.45   # group confidence needed to ask (None: `threshold`)
    tie_margin: float = 0.0025    # fused-score gap under which a confident top entry is "tied"
    choice_margin: float = 0.005  # fused-score lead a phrase needs over the other options (`choose`)
    choice_reach: float = 0.02    # how far below the turn's best reading a picked option may score
    max_options: int = 3
    enabled: bool = True

    def options(self, candidates: Sequence[Any], confidence: Callable[[float, float, bool], float] | None,
                is_english: bool) -> tuple[tuple[Any, ...], float]:
        """The candidates to offer (best first) and the group confidence; `((), 0.0)` for none.
        `confidence(fused, margin, english)` is the index's own calibrated logistic."""
        if not self.enabled or confidence is None or len(candidates) < 2:
            return (), 0.0
        best = candidates[0]
        tied = float(best.score) - float(candidates[1].score) < self.tie_margin
        if float(best.confidence) >= self.threshold and not tied:
            return (), 0.0   # confident and not tied: answer
        bar = self.threshold if self.group_threshold is None else self.group_threshold
        for n in range(2, min(self.max_options, len(candidates) - 1) + 1):
            after = float(candidates[n].score)   # the best entry left out of the group
            group = confidence(float(best.score), float(candidates[n - 1].score) - after, is_english)
            # Never cut between two tied entries while a larger group may still be offered.
            cut_in_tie = float(candidates[n - 1].score) - after < self.tie_margin and n < self.max_options
            if group >= bar and not cut_in_tie:
                offered = tuple(c for c in candidates[:n] if not small_talk(c.entry))
                return (offered, group) if len(offered) >= 2 else ((), 0.0)
        return (), 0.0


def options_for(offered: Sequence[Any], language: str) -> tuple[Option, ...]:
    """The offered candidates as options labelled with their first question in `language`
    (falling back to the other language, as an answer does)."""
    out = []
    for candidate in offered:
        entry = candidate.entry
        label = first_question(entry, language) or next(
            (qs[0] for qs in entry.questions.values() if qs), entry.id)
        out.append(Option(entry.id, label))
    return tuple(out)


def question_text(options: Sequence[Option], language: str) -> str:
    """The clarifying question: a fixed template around the options' own questions."""
    lang = language if language in TEMPLATES else "en"
    whole, joiner, item = TEMPLATES[lang]
    named = [item.format(mark=MARKS[i], number=i + 1, question=o.question.rstrip("?？。.!！ "))
             for i, o in enumerate(options)]
    return whole.format(options=joiner.join(named))


# ------------------------------------------------------------------ the customer's choice

_ZH_ORDINAL = re.compile(
    r"(?:嗯|呃|哦|噢|好|那|那么)*(?:我|我们)?(?:就|还是)?(?:要|想要|选|选择|是|问|想问|说|指)*(?:那个)?"
    r"(?P<ord>第[一二三123]|[一二三123]|头一|前一|后一|前面|后面|上面|下面|最后|前者|后者)"
    r"(?:个|项|条|种|那个|那一个|一个|那条|那项)?(?:吧|的|呀|啊|了|哈|呢)*")
_EN_ORDINAL = re.compile(
    r"(?:(?:um|uh|oh|ok|okay|well|so|yes|yeah|erm)\s+)*"
    r"(?:(?:i(?:d| would)?|i'd|ill|i'll|i will)\s+(?:like|want|mean|meant|choose|pick|take|go with|say)\s+"
    r"|(?:give me|go with|lets go with|let's go with|its|it's|it is|thats|that's|that is|make it)\s+)?"
    r"(?:the\s+)?(?:(?:number|option|choice)\s+)?"
    r"(?P<ord>first|1st|one|1|second|2nd|two|2|third|3rd|three|3|last|latter|former|final)"
    r"(?:\s+(?:one|option|choice))?(?:\s+(?:please|thanks|thank you))?")
_ORDINALS = {"第一": 1, "第1": 1, "一": 1, "1": 1, "头一": 1, "前一": 1, "前面": 1, "上面": 1, "前者": 1,
             "第二": 2, "第2": 2, "二": 2, "2": 2, "第三": 3, "第3": 3, "三": 3, "3": 3,
             "first": 1, "1st": 1, "one": 1, "former": 1, "second": 2, "2nd": 2, "two": 2,
             "third": 3, "3rd": 3, "three": 3}
_LAST = {"后一", "后面", "下面", "最后", "后者", "last", "latter", "final"}


def ordinal(text: str, count: int) -> int | None:
    """The 0-based option a spoken or typed ordinal names ("第二个", "the last one", "1"), or None
    when the turn is not just an ordinal (or names an option beyond `count`)."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    if _HAN.search(folded):
        match = _ZH_ORDINAL.fullmatch(_PUNCT.sub("", folded))
    else:
        match = _EN_ORDINAL.fullmatch(" ".join(_PUNCT.sub(" ", folded.replace("'", "")).split()))
    if match is None:
        return None
    word = match.group("ord")
    number = count if word in _LAST else _ORDINALS[word]
    return number - 1 if 1 <= number <= count else None


def _same(a: str, b: str) -> bool:
    fold = lambda s: _PUNCT.sub("", unicodedata.normalize("NFKC", s).lower())  # noqa: E731
    return fold(a) == fold(b)


Search = Callable[..., Sequence[Any]]   # KnowledgeIndex.search(text, k, exclude=...)


def choose(text: str, pending: Pending, *, search: Search, others: Callable[[], Sequence[str]],
           threshold: float, choice_margin: float, choice_reach: float, k: int) -> Choice | None:
    """The option the customer's turn picks, or None when it is a new question.

    In order: the option's own question (a client that sends the button's text back), an
    ordinal, then a phrase. A phrase picks the option it confidently means; otherwise, searched
    among the options alone (`others()`: every other entry id, left out of that search), the best
    option must lead the others by `choice_margin` of fused score ("换成人民币": one option, not
    the other) and score within `choice_reach` of the turn's best reading in the whole index (a
    turn that reads much better as another question, "周末开门吗", is that question).
    """
    options = pending.options
    for option in options:
        if _same(text, option.question):
            return Choice(option, "phrase")
    picked = ordinal(text, len(options))
    if picked is not None:
        return Choice(options[picked], "ordinal")
    if not text.strip():
        return None
    ids = {o.entry_id for o in options}
    own = list(search(text, k))
    if own and own[0].entry.id in ids and float(own[0].confidence) >= threshold:
        return Choice(pending.option(own[0].entry.id), "phrase")   # type: ignore[arg-type]
    among = list(search(text, len(options), exclude=others()))
    if len(among) < 2 or among[0].entry.id not in ids:
        return None
    best = float(among[0].score)
    if best - float(among[1].score) < choice_margin:
        return None
    if own and float(own[0].score) - best > choice_reach:
        return None
    return Choice(pending.option(among[0].entry.id), "phrase")   # type: ignore[arg-type]
