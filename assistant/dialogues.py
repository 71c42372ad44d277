"""Evaluating conversations: follow-up questions and clarifying questions scored like single questions.

Dialogue file (JSONL, UTF-8), one conversation a line:

    {"id": "en-open-account", "turns": [{"text": "I'd like to open an account", "expect": "open-account"},
                                        {"text": "which documents should I bring for it", "expect": "account-documents"}]}
    {"id": "en-dollars", "turns": [{"text": "Can I exchange US dollars here?", "clarify": ["fx-buy", "fx-sell"]},
                                   {"text": "the second one", "option": 2}]}

Each turn has one of:

- `expect`: the entry that should answer the turn, or null when the teller should hand off;
- `clarify`: the entries the teller should ask the customer to choose between (all of them must
  be offered; the teller may offer one more);
- `option`: the customer picks an option of the clarifying question just asked, by its number
  (1-3, or -1 for the last); the right answer is that option's entry. With no clarifying question
  before it, nothing can be right: the turn can only be handed off or answered wrongly.

Each dialogue runs in a fresh `Conversation` through the same `Responder` the server uses, and every
turn is remembered as the server remembers a served answer, so a wrong answer early in a dialogue
costs what it costs a customer. `digital-teller kb eval FILE.jsonl` prints the figures; the first
turn of a dialogue and its follow-ups are counted apart, and so are the turns that expect a
clarifying question and the turns that answer one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from knowledge.evaluate import EvalFileError, FileProblem

from .conversation import Conversation
from .responder import Responder, detect_language

_ID_RE = re.compile(r"[a-z0-9-]{1,64}")


@dataclass(frozen=True)
class DialogueTurn:
    text: str
    expect: str | None      # None: the teller should hand off
    clarify: tuple[str, ...] = ()   # the teller should ask which of these is meant
    option: int | None = None       # the customer picks this option (1-based; -1: the last)


@dataclass(frozen=True)
class Dialogue:
    line: int
    id: str
    turns: tuple[DialogueTurn, ...]


@dataclass(frozen=True)
class TurnOutcome:
    dialogue: str
    position: int           # 0 for the dialogue's first turn
    text: str
    expected: str | None
    answered: str | None    # the entry that answered; None for a hand-off
    confidence: float
    followed_up: bool       # the context chose the entry
    offered: tuple[str, ...] = ()   # the teller asked which of these entries was meant
    clarify: tuple[str, ...] = ()   # the turn expected a clarifying question offering these
    after_clarifying: bool = False  # the turn before it was a clarifying question

    @property
    def verdict(self) -> str:
        """right | wrong | handed off | answered, should hand off | guessed (an ambiguous
        question answered with one of its entries without asking) | clarified (asked, the
        expected entry among the options) | clarified without the expected entry | clarified,
        should hand off | clarified, options missed (asked, but not about every expected entry)."""
        if self.offered:
            if self.clarify:
                return "right" if set(self.clarify) <= set(self.offered) else "clarified, options missed"
            if self.expected is None:
                return "clarified, should hand off"
            return "clarified" if self.expected in self.offered else "clarified without the expected entry"
        if self.clarify:
            if self.answered is None:
                return "handed off"
            return "guessed" if self.answered in self.clarify else "wrong"
        if self.expected is None:
            return "right" if self.answered is None else "answered, should hand off"
        if self.answered is None:
            return "handed off"
        return "right" if self.answered == self.expected else "wrong"


@dataclass(frozen=True)
class DialogueFigures:
    """Rates over follow-up turns (every turn after a dialogue's first) unless named `first_`."""

    dialogues: int
    followups: int
    right: float | None
    wrong: float | None              # answered with another entry, or answered when it should hand off
    handed_off: float | None
    first_turns_right: float | None
    clarified: float | None = None   # follow-ups the teller answered with a clarifying question
    clarify_turns: int = 0           # turns (first or not) that expect a clarifying question
    clarify_right: float | None = None     # of those, asked about every expected entry
    clarify_guessed: float | None = None   # answered with one of the expected entries, without asking
    clarify_wrong: float | None = None     # answered with another entry
    clarify_handed_off: float | None = None
    choices: int = 0                 # turns right after a clarifying question the teller asked
    choices_right: float | None = None

    def to_json(self) -> dict[str, float | int | None]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def parse_dialogues(text: str) -> list[Dialogue]:
    """Validated dialogues, or EvalFileError naming every bad line."""
    problems: list[FileProblem] = []
    dialogues: list[Dialogue] = []
    for line_no, raw in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            problems.append(FileProblem(line_no, "line", "not a JSON object"))
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(obj.get("turns"), list):
            problems.append(FileProblem(line_no, "line", 'expected {"id": str, "turns": [...]}'))
            continue
        turns = []
        for i, turn in enumerate(obj["turns"]):
            parsed, problem = _turn(turn)
            if problem is not None:
                problems.append(FileProblem(line_no, f"turns[{i}].{problem[0]}", problem[1]))
            else:
                turns.append(parsed)
        if not obj["turns"]:
            problems.append(FileProblem(line_no, "turns", "a dialogue needs at least one turn"))
        dialogues.append(Dialogue(line_no, obj["id"], tuple(turns)))
    if problems:
        raise EvalFileError(problems)
    if not dialogues:
        raise EvalFileError([FileProblem(1, "line", "no dialogues in the file")])
    return dialogues


def _turn(turn: object) -> tuple[DialogueTurn | None, tuple[str, str] | None]:
    """One turn of a dialogue line, or (field, reason) of what is wrong with it."""
    if not (isinstance(turn, dict) and isinstance(turn.get("text"), str) and turn["text"].strip()):
        return None, ("text", "a non-empty string is required")
    wanted = [key for key in ("expect", "clarify", "option") if key in turn]
    if len(wanted) > 1:
        return None, (wanted[1], f"give one of expect, clarify, option (got {', '.join(wanted)})")
    text = turn["text"].strip()
    if "clarify" in turn:
        ids = turn["clarify"]
        if not (isinstance(ids, list) and 1 <= len(ids) <= 3
                and all(isinstance(i, str) and _ID_RE.fullmatch(i) for i in ids)):
            return None, ("clarify", "a list of 1 to 3 entry ids")
        return DialogueTurn(text, None, clarify=tuple(ids)), None
    if "option" in turn:
        number = turn["option"]
        if isinstance(number, bool) or number not in (1, 2, 3, -1):
            return None, ("option", "1, 2, 3 or -1 (the last)")
        return DialogueTurn(text, None, option=number), None
    expect = turn.get("expect")
    if expect is not None and not (isinstance(expect, str) and _ID_RE.fullmatch(expect)):
        return None, ("expect", "an entry id or null")
    return DialogueTurn(text, expect), None


# An ordinal with nothing to choose from: no entry is right, so answering is wrong.
NO_OPTIONS = "(no options offered)"


def evaluate_dialogues(responder: Responder, dialogues: Sequence[Dialogue], *,
                       context: bool = True) -> list[TurnOutcome]:
    """Every turn of every dialogue, answered in order (without context when `context` is False,
    to measure what the context changes)."""
    known = {e.id for e in responder.index.entries()}
    unknown = [FileProblem(d.line, "expect", f"no entry {i!r} in the index")
               for d in dialogues for t in d.turns for i in (t.expect, *t.clarify) if i is not None and i not in known]
    if unknown:
        raise EvalFileError(unknown)
    outcomes = []
    for dialogue in dialogues:
        conversation = Conversation() if context else None
        asked: tuple[str, ...] = ()   # the options of the clarifying question the last turn asked
        for position, turn in enumerate(dialogue.turns):
            language = detect_language(turn.text)
            answer = responder.reply(turn.text, language, conversation)
            answered = None if answer.handoff or answer.kind == "clarify" else answer.entry_id
            if conversation is not None:
                conversation.remember(turn.text, answer.language, answered, answer.topic, answer.topic_tags,
                                      pending=answer.pending())
            expected = turn.expect
            if turn.option is not None:
                picks = asked and len(asked) >= turn.option
                expected = asked[turn.option - 1 if turn.option > 0 else -1] if picks else NO_OPTIONS
            offered = tuple(entry_id for entry_id, _ in answer.options)
            outcomes.append(TurnOutcome(dialogue.id, position, turn.text, expected, answered, answer.confidence,
                                        answer.followed_up, offered, turn.clarify, bool(asked)))
            asked = offered
    return outcomes


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def dialogue_figures(outcomes: Sequence[TurnOutcome]) -> DialogueFigures:
    follow = [o for o in outcomes if o.position > 0]
    first = [o for o in outcomes if o.position == 0]
    count = lambda verdicts: sum(o.verdict in verdicts for o in follow)  # noqa: E731
    ambiguous = [o for o in outcomes if o.clarify]
    among = lambda verdict: _rate(sum(o.verdict == verdict for o in ambiguous), len(ambiguous))  # noqa: E731
    choices = [o for o in outcomes if o.after_clarifying]
    return DialogueFigures(
        dialogues=len(first), followups=len(follow),
        right=_rate(count({"right"}), len(follow)),
        wrong=_rate(count({"wrong", "answered, should hand off"}), len(follow)),
        handed_off=_rate(count({"handed off"}), len(follow)),
        first_turns_right=_rate(sum(o.verdict == "right" for o in first), len(first)),
        clarified=_rate(sum(bool(o.offered) for o in follow), len(follow)),
        clarify_turns=len(ambiguous), clarify_right=among("right"), clarify_guessed=among("guessed"),
        clarify_wrong=among("wrong"), clarify_handed_off=among("handed off"),
        choices=len(choices), choices_right=_rate(sum(o.verdict == "right" for o in choices), len(choices)),
    )
