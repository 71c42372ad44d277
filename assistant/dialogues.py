"""Evaluating conversations: follow-up questions scored like single questions.

Dialogue file (JSONL, UTF-8), one conversation a line:

    {"id": "en-open-account", "turns": [{"text": "I'd like to open an account", "expect": "open-account"},
                                        {"text": "which documents should I bring for it", "expect": "account-documents"}]}

`expect` is the entry that should answer the turn, or null when the teller should hand off. Each
dialogue runs in a fresh `Conversation` through the same `Responder` the server uses, and every
turn is remembered as the server remembers a served answer, so a wrong answer early in a dialogue
costs what it costs a customer. `digital-teller kb eval FILE.jsonl` prints the figures; the first
turn of a dialogue and its follow-ups are counted apart.
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

    @property
    def verdict(self) -> str:
        """right | wrong | handed off | answered, should hand off."""
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
            text_ok = isinstance(turn, dict) and isinstance(turn.get("text"), str) and turn["text"].strip()
            expect = turn.get("expect") if isinstance(turn, dict) else None
            if not text_ok:
                problems.append(FileProblem(line_no, f"turns[{i}].text", "a non-empty string is required"))
            elif expect is not None and not (isinstance(expect, str) and _ID_RE.fullmatch(expect)):
                problems.append(FileProblem(line_no, f"turns[{i}].expect", "an entry id or null"))
            else:
                turns.append(DialogueTurn(turn["text"].strip(), expect))
        if not obj["turns"]:
            problems.append(FileProblem(line_no, "turns", "a dialogue needs at least one turn"))
        dialogues.append(Dialogue(line_no, obj["id"], tuple(turns)))
    if problems:
        raise EvalFileError(problems)
    if not dialogues:
        raise EvalFileError([FileProblem(1, "line", "no dialogues in the file")])
    return dialogues


def evaluate_dialogues(responder: Responder, dialogues: Sequence[Dialogue], *,
                       context: bool = True) -> list[TurnOutcome]:
    """Every turn of every dialogue, answered in order (without context when `context` is False,
    to measure what the context changes)."""
    known = {e.id for e in responder.index.entries()}
    unknown = [FileProblem(d.line, "expect", f"no entry {t.expect!r} in the index")
               for d in dialogues for t in d.turns if t.expect is not None and t.expect not in known]
    if unknown:
        raise EvalFileError(unknown)
    outcomes = []
    for dialogue in dialogues:
        conversation = Conversation() if context else None
        for position, turn in enumerate(dialogue.turns):
            language = detect_language(turn.text)
            candidates, seconds, followed = responder.retrieve(turn.text, language, conversation)
            answer = responder.answer(turn.text, language, candidates, seconds, followed_up=followed)
            answered = None if answer.handoff else answer.entry_id
            if conversation is not None:
                conversation.remember(turn.text, answer.language, answered, answer.topic, answer.topic_tags)
            outcomes.append(TurnOutcome(dialogue.id, position, turn.text, turn.expect, answered,
                                        answer.confidence, followed))
    return outcomes


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def dialogue_figures(outcomes: Sequence[TurnOutcome]) -> DialogueFigures:
    follow = [o for o in outcomes if o.position > 0]
    first = [o for o in outcomes if o.position == 0]
    count = lambda verdicts: sum(o.verdict in verdicts for o in follow)  # noqa: E731
    return DialogueFigures(
        dialogues=len(first), followups=len(follow),
        right=_rate(count({"right"}), len(follow)),
        wrong=_rate(count({"wrong", "answered, should hand off"}), len(follow)),
        handed_off=_rate(count({"handed off"}), len(follow)),
        first_turns_right=_rate(sum(o.verdict == "right" for o in first), len(first)),
    )
