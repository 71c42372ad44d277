"""`kb eval` with clarifying questions, on stand-in indexes (no model): the dialogue format's
`clarify` and `option` turns, their verdicts and figures, and single questions counted as
clarified beside answered, right, wrong and handed off."""

from __future__ import annotations

import pytest

from assistant.dialogues import (NO_OPTIONS, Dialogue, DialogueTurn, TurnOutcome, dialogue_figures,
                                 evaluate_dialogues, parse_dialogues)
from assistant.responder import Responder
from knowledge.evaluate import EvalFileError, EvalQuery, evaluate, figures
from tests.assistant.test_clarify import AMBIGUOUS, BUY, HOURS, QUOTA, SELL, StubIndex, ranked


@pytest.fixture
def responder():
    index = StubIndex([BUY, SELL, QUOTA, HOURS], {
        AMBIGUOUS: ranked((BUY, 0.915), (SELL, 0.911), (HOURS, 0.880), (QUOTA, 0.870)),
        "What are your opening hours": ranked((HOURS, 0.98), (BUY, 0.88), (SELL, 0.87)),
        "How do I buy US dollars": ranked((BUY, 0.99), (SELL, 0.90), (QUOTA, 0.88)),
    })
    return Responder(index, handoff_threshold=0.6)


def test_the_dialogue_format_takes_clarify_and_option_turns():
    text = ('{"id": "a", "turns": [{"text": "Can I change dollars here?", "clarify": ["fx-buy", "fx-sell"]},'
            ' {"text": "the second one", "option": 2}, {"text": "the last", "option": -1}]}\n')
    (dialogue,) = parse_dialogues(text)
    assert dialogue.turns == (DialogueTurn("Can I change dollars here?", None, clarify=("fx-buy", "fx-sell")),
                              DialogueTurn("the second one", None, option=2), DialogueTurn("the last", None, option=-1))
    bad = ('{"id": "b", "turns": [{"text": "x", "clarify": "fx-buy"}]}\n'
           '{"id": "c", "turns": [{"text": "x", "option": 4}]}\n'
           '{"id": "d", "turns": [{"text": "x", "option": true}]}\n'
           '{"id": "e", "turns": [{"text": "x", "expect": "fx-buy", "option": 1}]}\n'
           '{"id": "f", "turns": [{"text": "x", "clarify": ["Bad Id"]}]}\n')
    with pytest.raises(EvalFileError) as err:
        parse_dialogues(bad)
    assert [(p.line, p.field) for p in err.value.problems] == [
        (1, "turns[0].clarify"), (2, "turns[0].option"), (3, "turns[0].option"), (4, "turns[0].option"),
        (5, "turns[0].clarify")]


def test_a_clarification_and_a_choice_are_scored(responder):
    dialogue = Dialogue(1, "d", (DialogueTurn(AMBIGUOUS, None, clarify=("fx-sell", "fx-buy")),
                                 DialogueTurn("the second one", None, option=2)))
    asked, chosen = evaluate_dialogues(responder, [dialogue])
    assert asked.verdict == "right" and asked.offered == ("fx-buy", "fx-sell")
    assert (chosen.expected, chosen.answered, chosen.verdict, chosen.after_clarifying) == ("fx-sell", "fx-sell", "right", True)
    result = dialogue_figures([asked, chosen])
    assert (result.clarify_turns, result.clarify_right, result.choices, result.choices_right) == (1, 1.0, 1, 1.0)
    assert (result.right, result.clarified, result.first_turns_right) == (1.0, 0.0, 1.0)
    # Without the conversation's context the choice cannot be understood: handed off.
    asked, chosen = evaluate_dialogues(responder, [dialogue], context=False)
    assert asked.verdict == "right" and chosen.verdict == "handed off"
    with pytest.raises(EvalFileError, match="no entry 'fx-nope'"):
        evaluate_dialogues(responder, [Dialogue(3, "x", (DialogueTurn(AMBIGUOUS, None, clarify=("fx-nope",)),))])


def test_an_ordinal_with_nothing_to_choose_from_cannot_be_right(responder):
    (turn,) = evaluate_dialogues(responder, [Dialogue(1, "d", (DialogueTurn("the second one", None, option=2),))])
    assert turn.expected == NO_OPTIONS and turn.verdict == "handed off"


@pytest.mark.parametrize("outcome,verdict", [
    (dict(expected=None, answered=None, offered=("a", "b"), clarify=("a", "b")), "right"),
    (dict(expected=None, answered=None, offered=("a", "c"), clarify=("a", "b")), "clarified, options missed"),
    (dict(expected=None, answered="a", clarify=("a", "b")), "guessed"),
    (dict(expected=None, answered="z", clarify=("a", "b")), "wrong"),
    (dict(expected=None, answered=None, clarify=("a", "b")), "handed off"),
    (dict(expected="a", answered=None, offered=("a", "b")), "clarified"),
    (dict(expected="z", answered=None, offered=("a", "b")), "clarified without the expected entry"),
    (dict(expected=None, answered=None, offered=("a", "b")), "clarified, should hand off"),
    (dict(expected="a", answered="a"), "right"),
    (dict(expected=NO_OPTIONS, answered="a"), "wrong"),
])
def test_verdicts(outcome, verdict):
    assert TurnOutcome("d", 1, "q", confidence=0.5, followed_up=False, **outcome).verdict == verdict


def test_a_clarified_follow_up_is_neither_right_wrong_nor_handed_off():
    outcomes = [TurnOutcome("d", 0, "q", "a", "a", 0.9, False),
                TurnOutcome("d", 1, "q", "b", None, 0.7, False, offered=("b", "c")),
                TurnOutcome("d", 2, "q", "c", "c", 0.9, False, after_clarifying=True)]
    result = dialogue_figures(outcomes)
    assert (result.right, result.wrong, result.handed_off, result.clarified) == (0.5, 0.0, 0.0, 0.5)
    assert (result.choices, result.choices_right, result.clarify_turns, result.clarify_right) == (1, 1.0, 0, None)


def test_single_questions_count_clarified_beside_answered_and_handed_off(responder):
    index = responder.index
    queries = [EvalQuery(2, AMBIGUOUS, "fx-sell"), EvalQuery(3, AMBIGUOUS, "opening-hours"),
               EvalQuery(4, AMBIGUOUS, None), EvalQuery(5, "What are your opening hours", "opening-hours"),
               EvalQuery(6, "How do I buy US dollars", "fx-sell"), EvalQuery(7, "Is the moon made of cheese", None)]
    clarify = lambda text, candidates: [c.entry.id for c in responder.offered(text, candidates)[0]]  # noqa: E731
    outcomes = evaluate(index, queries, 0.6, clarify=clarify)
    assert [o.offered for o in outcomes[:3]] == [("fx-buy", "fx-sell")] * 3
    assert [o.answered for o in outcomes] == [False, False, False, True, True, False]
    assert [o.mistake for o in outcomes] == [None, "clarified without the expected entry", "clarified, should hand off",
                                             None, "wrong answer", None]
    result = figures(outcomes, 0.6)
    assert result.clarified_rate == pytest.approx(3 / 6) and result.clarified_with_expected == pytest.approx(1 / 2)
    assert result.handoff_rate == pytest.approx(1 / 6)          # only the question nothing matched
    assert result.wrong_answer_rate == pytest.approx(1 / 6) and result.answered_accuracy == 0.5
    assert result.offtopic_handoff_rate == 0.5
    # Without the rule the same questions are answered or handed off, as before clarifying existed.
    before = figures(evaluate(index, queries, 0.6), 0.6)
    assert before.clarified_rate == 0.0 and before.handoff_rate == pytest.approx(4 / 6)
