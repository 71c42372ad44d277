"""Follow-up questions on the demo KB with the real embedder, scored by `assistant.dialogues`.

`data/dialogues_heldout.jsonl` (20 dialogues, 45 follow-up turns, Mandarin and English) was written
before the context rules it measures were last changed, and is never used to choose them;
`dialogues_dev.jsonl` and `dialogues_dev2.jsonl` are the sets they were designed on (dev2 was the
first held-out set: it was measured once, 82.1 % right and 5.4 % wrong, before it was used for
design). Figures and history: docs/knowledge.md, "Conversations".

Clarifying questions: `clarify_heldout.jsonl` (24 ambiguous questions, each followed by a choice or
a new question) was written before the rule existed and never used to choose its settings, which
were chosen on `clarify_dev.jsonl`, the two dialogue design sets and the single-question cases of
`kb_cases.py` (docs/knowledge.md, "Clarifying questions").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialogues import (Dialogue, DialogueTurn, dialogue_figures, evaluate_dialogues,
                                 parse_dialogues)
from assistant.clarify import ClarifyRule
from assistant.responder import Responder
from knowledge.evaluate import EvalFileError

DATA = Path(__file__).parent / "data"
THRESHOLD = 0.6


@pytest.fixture(scope="module")
def responder(demo_index):
    return Responder(demo_index, handoff_threshold=THRESHOLD)


@pytest.fixture(scope="module")
def never_asks(demo_index):
    """The teller before clarifying questions existed (answer or hand off)."""
    return Responder(demo_index, handoff_threshold=THRESHOLD, clarify=ClarifyRule(threshold=THRESHOLD, enabled=False))


def figures(responder, name: str, **kw):
    return dialogue_figures(evaluate_dialogues(responder, parse_dialogues((DATA / name).read_text("utf-8")), **kw))


def test_held_out_follow_ups_are_answered_right_and_never_wrongly(responder):
    with_context = figures(responder, "dialogues_heldout.jsonl")
    alone = figures(responder, "dialogues_heldout.jsonl", context=False)
    assert with_context.followups == 45
    # The issue's bar: >= 85 % right, <= 3 % wrong (measured: 86.7 % and 0 %; alone 77.8 % and 2.2 %).
    assert with_context.right >= 0.85, with_context
    assert with_context.wrong <= 0.03, with_context
    assert with_context.right > alone.right and with_context.wrong <= alone.wrong
    assert with_context.first_turns_right == alone.first_turns_right   # a first turn has no context


def test_clarifying_never_costs_a_held_out_follow_up(responder, never_asks):
    # Measured once the rule was chosen (docs/knowledge.md, "Clarifying questions"): 86.7 % right,
    # 0 % wrong, 13.3 % handed off without it; 88.9 %, 0 %, 8.9 % with it (2.2 % clarified).
    after, before = figures(responder, "dialogues_heldout.jsonl"), figures(never_asks, "dialogues_heldout.jsonl")
    assert (before.right, before.wrong) == (pytest.approx(39 / 45), 0.0), before
    assert after.right >= before.right and after.wrong <= before.wrong, (after, before)


def test_held_out_ambiguous_questions_are_asked_about_and_the_choice_answered(responder, never_asks):
    # data/clarify_heldout.jsonl: 24 ambiguous questions, each followed by a choice (an ordinal
    # or a phrase) or a new question, written before the rule existed and never used to choose it.
    # Measured: see docs/knowledge.md, "Clarifying questions".
    after, before = figures(responder, "clarify_heldout.jsonl"), figures(never_asks, "clarify_heldout.jsonl")
    assert after.clarify_turns == before.clarify_turns == 24
    assert before.clarify_right == 0.0 and after.clarify_right >= 3 / 24, after
    assert after.clarify_wrong <= before.clarify_wrong and after.wrong <= before.wrong, (after, before)
    assert after.right > before.right and after.choices_right >= 0.8, after


@pytest.mark.parametrize("name", ["dialogues_dev.jsonl", "dialogues_dev2.jsonl"])
def test_design_sets_hold(responder, name):
    result = figures(responder, name)
    assert result.wrong == 0.0 and result.right >= 0.85, result


def test_the_clarify_design_set_holds(responder, never_asks):
    after, before = figures(responder, "clarify_dev.jsonl"), figures(never_asks, "clarify_dev.jsonl")
    assert after.right > before.right and after.wrong < before.wrong and after.clarify_handed_off < before.clarify_handed_off


def test_the_issue_examples_in_one_session(responder):
    dialogues = [Dialogue(1, "issue-en", (DialogueTurn("I want to open an account", "open-account"),
                                          DialogueTurn("what documents do I need for that", "account-documents"))),
                 Dialogue(2, "issue-zh", (DialogueTurn("我想开个账户", "open-account"),
                                          DialogueTurn("要带什么证件", "account-documents"),
                                          DialogueTurn("那外国人呢", "foreigner-account")))]
    verdicts = [o.verdict for o in evaluate_dialogues(responder, dialogues)]
    assert verdicts == ["right"] * 5, verdicts


def test_a_self_contained_question_is_not_pulled_to_the_old_topic(responder):
    dialogue = Dialogue(1, "switch", (DialogueTurn("How do I apply for a credit card", "credit-card-apply"),
                                      DialogueTurn("What are your opening hours", "opening-hours"),
                                      DialogueTurn("社保卡在哪里办", "social-security-card"),
                                      DialogueTurn("How do I send money abroad?", "international-wire"),
                                      DialogueTurn("What are your opening hours?", "opening-hours")))
    outcomes = evaluate_dialogues(responder, [dialogue])
    assert [o.verdict for o in outcomes] == ["right"] * 5
    assert not any(o.followed_up for o in outcomes)


def test_bad_dialogue_files_name_every_bad_line(responder):
    text = '{"id": "a", "turns": [{"text": "hi", "expect": "greeting"}]}\nnot json\n' \
           '{"id": "b", "turns": [{"text": "", "expect": "x"}]}\n{"id": "c", "turns": [{"text": "q", "expect": "Bad Id"}]}\n'
    with pytest.raises(EvalFileError) as err:
        parse_dialogues(text)
    assert [p.line for p in err.value.problems] == [2, 3, 4]
    with pytest.raises(EvalFileError, match="no entry 'no-such-entry'"):
        evaluate_dialogues(responder, [Dialogue(1, "x", (DialogueTurn("hello", "no-such-entry"),))])
