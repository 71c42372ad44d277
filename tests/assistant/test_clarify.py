"""Clarifying questions (assistant/clarify.py): when to ask, how it is worded, and how the next turn
picks an option. Candidates are stand-ins scored with the index's real calibrated logistic, so the
rule is tested on the confidence it runs on, with no model loaded."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from assistant.clarify import (ClarifyRule, Option, Pending, choose, english, options_for, ordinal,
                               question_text)
from assistant.conversation import Conversation
from assistant.responder import Responder
from knowledge.scoring import DEFAULT_PARAMS

CONFIDENCE = DEFAULT_PARAMS.confidence


@dataclass(frozen=True)
class E:
    id: str
    tags: tuple[str, ...] = ("fx",)
    questions: dict = field(default_factory=dict)
    answer: dict = field(default_factory=dict)
    disclosure: dict = field(default_factory=dict)

    @staticmethod
    def of(entry_id: str, zh: str, en: str, tags=("fx",)) -> "E":
        return E(entry_id, tags, {"zh": [zh], "en": [en]}, {"zh": f"{entry_id} 的答案", "en": f"{entry_id} answer"})


@dataclass(frozen=True)
class C:
    entry: E
    score: float
    confidence: float = 0.0


BUY = E.of("fx-buy", "怎么换美元", "How do I buy US dollars")
SELL = E.of("fx-sell", "外币怎么换成人民币", "How do I convert foreign currency into yuan")
CASH = E.of("fx-cash-order", "外币现钞要预约吗", "Do I need to order foreign cash in advance")
QUOTA = E.of("fx-quota", "每年能换多少外汇", "How much foreign currency can I buy per year")
HOURS = E.of("opening-hours", "你们几点开门", "What are your opening hours", tags=("branches",))
HELLO = E.of("greeting", "你好", "Hello", tags=("chitchat", "greeting"))


def ranked(*pairs: tuple[E, float], is_english: bool = True) -> list[C]:
    """Candidates as the index ranks them: each confidence from its margin over the best other."""
    out = []
    for i, (entry, score) in enumerate(pairs):
        other = pairs[1][1] if i == 0 else pairs[0][1]
        out.append(C(entry, score, CONFIDENCE(score, score - other, is_english)))
    return out


RULE = ClarifyRule(threshold=0.6)   # the defaults of the settings (chosen on dev data)


def offered(candidates, rule=RULE, is_english=True):
    found, group = rule.options(candidates, CONFIDENCE, is_english)
    return [c.entry.id for c in found], group


# ------------------------------------------------------------------ when to ask


def test_an_unsure_top_entry_with_a_sure_pair_asks_between_the_two():
    cands = ranked((BUY, 0.915), (SELL, 0.911), (HOURS, 0.880), (QUOTA, 0.870))
    assert cands[0].confidence < 0.6                      # alone: a hand-off
    ids, group = offered(cands)
    assert ids == ["fx-buy", "fx-sell"] and group >= RULE.group_threshold
    assert group == pytest.approx(CONFIDENCE(0.915, 0.911 - 0.880, True))   # the pair's margin over the next
    assert offered(cands, ClarifyRule(threshold=0.6, group_threshold=0.8)) == ([], 0.0)


def test_a_confident_clear_answer_is_not_questioned():
    cands = ranked((BUY, 0.96), (SELL, 0.92), (HOURS, 0.90))
    assert cands[0].confidence >= 0.6
    assert offered(cands) == ([], 0.0)


def test_a_confident_top_entry_tied_with_its_runner_up_asks():
    cands = ranked((BUY, 0.956), (SELL, 0.955), (QUOTA, 0.924))
    assert cands[0].confidence >= 0.6
    assert offered(cands)[0] == ["fx-buy", "fx-sell"]
    assert offered(cands, ClarifyRule(threshold=0.6, tie_margin=0.0)) == ([], 0.0)   # no tie rule: answered


def test_three_tied_entries_are_offered_together():
    cands = ranked((BUY, 0.934), (CASH, 0.933), (SELL, 0.932), (QUOTA, 0.90))
    assert offered(cands)[0] == ["fx-buy", "fx-cash-order", "fx-sell"]
    assert offered(cands, ClarifyRule(threshold=0.6, max_options=2))[0] == ["fx-buy", "fx-cash-order"]


def test_no_question_when_even_the_group_is_unsure():
    cands = ranked((BUY, 0.88), (SELL, 0.879), (QUOTA, 0.878), (HOURS, 0.877))
    assert offered(cands) == ([], 0.0)


def test_small_talk_is_never_offered_and_one_option_is_no_question():
    cands = ranked((HELLO, 0.915), (BUY, 0.911), (HOURS, 0.870))
    assert offered(cands) == ([], 0.0)
    cands = ranked((BUY, 0.915), (HELLO, 0.912), (SELL, 0.911), (HOURS, 0.86))
    assert offered(cands)[0] == ["fx-buy", "fx-sell"]


def test_disabled_or_without_a_calibrated_confidence_never_asks():
    cands = ranked((BUY, 0.915), (SELL, 0.911), (HOURS, 0.880))
    assert offered(cands)[0] == ["fx-buy", "fx-sell"]
    assert ClarifyRule(threshold=0.6, enabled=False).options(cands, CONFIDENCE, True) == ((), 0.0)
    assert RULE.options(cands, None, True) == ((), 0.0)
    assert RULE.options(cands[:2], CONFIDENCE, True) == ((), 0.0)   # nothing after the group to measure it by


def test_english_is_decided_as_the_index_decides_it():
    assert english("Can I change dollars") and not english("美元怎么换") and not english("USD 怎么换")


# ------------------------------------------------------------------ the question


def test_the_question_names_the_entries_own_questions_only():
    zh = options_for([C(BUY, 0.9), C(SELL, 0.9)], "zh")
    assert zh == (Option("fx-buy", "怎么换美元"), Option("fx-sell", "外币怎么换成人民币"))
    assert question_text(zh, "zh") == "您是想问：①怎么换美元，还是②外币怎么换成人民币？"
    en = options_for([C(BUY, 0.9), C(SELL, 0.9), C(CASH, 0.9)], "en")
    assert question_text(en, "en") == ("Do you mean: 1) How do I buy US dollars, or 2) How do I convert foreign "
                                       "currency into yuan, or 3) Do I need to order foreign cash in advance?")
    only_zh = E("zh-only", ("fx",), {"zh": ["只有中文"]}, {"zh": "答"})
    assert options_for([C(only_zh, 0.9)], "en") == (Option("zh-only", "只有中文"),)   # falls back, as answers do


# ------------------------------------------------------------------ the next turn: ordinals


@pytest.mark.parametrize("text,count,index", [
    ("第一个", 2, 0), ("第二个", 2, 1), ("第三个", 3, 2), ("第2个", 3, 1), ("２", 2, 1), ("1", 3, 0),
    ("前一个", 2, 0), ("后一个", 2, 1), ("后面那个", 3, 2), ("最后一个", 3, 2), ("我要第二个吧", 2, 1),
    ("嗯，第一个。", 2, 0), ("选第三个", 3, 2),
    ("the first one", 2, 0), ("The second one.", 3, 1), ("first", 2, 0), ("the last one", 3, 2), ("2", 2, 1),
    ("number 1", 2, 0), ("option two", 3, 1), ("I'd like the second one please", 2, 1), ("the latter", 2, 1),
    ("um, the third one", 3, 2), ("It's the 2nd", 2, 1),
])
def test_ordinals_in_both_languages(text, count, index):
    assert ordinal(text, count) == index


@pytest.mark.parametrize("text,count", [
    ("第三个", 2), ("the third one", 2), ("一年最多能换多少", 2), ("换成人民币", 2), ("第一次用卡", 2),
    ("the first time I used my card", 2), ("one more question", 2), ("I want to buy one", 2), ("", 2),
])
def test_a_question_is_not_an_ordinal(text, count):
    assert ordinal(text, count) is None


# ------------------------------------------------------------------ the next turn: phrases


class FakeSearch:
    """A search that returns scripted candidates: the whole index's reading of a text, and (with
    `exclude`) the options' reading."""

    def __init__(self, whole: dict[str, list[C]], among: dict[str, list[C]]):
        self.whole, self.among, self.calls = whole, among, []

    def __call__(self, text, k, exclude=()):
        self.calls.append((text, k, tuple(exclude)))
        return (self.among if exclude else self.whole).get(text, [])[:k]


PENDING = Pending((Option("fx-buy", "怎么换美元"), Option("fx-sell", "外币怎么换成人民币")), "zh", 0.7)


def pick(text, search, **kw):
    args = dict(threshold=0.6, choice_margin=0.005, choice_reach=0.02, k=6, others=lambda: ["opening-hours"])
    found = choose(text, PENDING, search=search, **{**args, **kw})
    return (found.option.entry_id, found.how) if found else None


def test_the_options_own_question_and_an_ordinal_pick_without_searching():
    search = FakeSearch({}, {})
    assert pick("外币怎么换成人民币", search) == ("fx-sell", "phrase")
    assert pick("第二个", search) == ("fx-sell", "ordinal")
    assert search.calls == []


def test_a_phrase_that_leads_the_other_option_picks_it():
    search = FakeSearch({"换成人民币": ranked((QUOTA, 0.93), (SELL, 0.925), (BUY, 0.90))},
                        {"换成人民币": ranked((SELL, 0.925), (BUY, 0.90))})
    assert pick("换成人民币", search) == ("fx-sell", "phrase")
    assert search.calls[-1] == ("换成人民币", 2, ("opening-hours",))   # searched among the options alone
    assert pick("换成人民币", search, choice_margin=0.03) is None       # not a clear enough lead


def test_a_phrase_that_confidently_means_an_option_picks_it():
    search = FakeSearch({"我要卖美元": ranked((SELL, 0.97), (BUY, 0.93), (HOURS, 0.90))}, {})
    assert pick("我要卖美元", search) == ("fx-sell", "phrase")


def test_a_new_question_is_not_taken_for_a_choice():
    search = FakeSearch({"你们几点开门": ranked((HOURS, 0.98), (BUY, 0.89))},
                        {"你们几点开门": ranked((BUY, 0.89), (SELL, 0.86))})
    assert pick("你们几点开门", search) is None      # reads far better as another question
    assert pick("你们几点开门", search, choice_reach=0.2) == ("fx-buy", "phrase")
    unclear = FakeSearch({"嗯": ranked((HELLO, 0.88), (BUY, 0.85))}, {"嗯": ranked((BUY, 0.850), (SELL, 0.849))})
    assert pick("嗯", unclear) is None


# ------------------------------------------------------------------ through the Responder


class StubIndex:
    """An index of fixed entries whose search returns scripted candidates."""

    params = DEFAULT_PARAMS

    def __init__(self, entries, results):
        self._entries, self.results = list(entries), results

    def entries(self):
        return self._entries

    def search(self, text, k=5, exclude=()):
        found = [c for c in self.results.get(text, []) if c.entry.id not in set(exclude)]
        return found[:k]


AMBIGUOUS = "Can I change dollars here?"
PERSON = "a real person about buying dollars please"


@pytest.fixture
def responder():
    index = StubIndex([BUY, SELL, QUOTA, HOURS], {
        AMBIGUOUS: ranked((BUY, 0.915), (SELL, 0.911), (HOURS, 0.880), (QUOTA, 0.870)),
        "What are your opening hours": ranked((HOURS, 0.98), (BUY, 0.88), (SELL, 0.87)),
        PERSON: ranked((BUY, 0.97), (SELL, 0.90), (QUOTA, 0.88)),   # reads as an option, but...
    })
    return Responder(index, handoff_threshold=0.6)


def served(conversation, text, answer):
    conversation.remember(text, answer.language, None if answer.handoff else answer.entry_id, answer.topic,
                          answer.topic_tags, pending=answer.pending())


def test_the_responder_asks_and_the_next_turn_is_answered_with_the_choice(responder):
    conversation = Conversation()
    asked = responder.reply(AMBIGUOUS, "en", conversation)
    assert asked.kind == "clarify" and not asked.handoff and asked.entry_id is None
    assert asked.options == (("fx-buy", "How do I buy US dollars"),
                             ("fx-sell", "How do I convert foreign currency into yuan"))
    assert asked.text.startswith("Do you mean: 1) How do I buy US dollars, or 2) ")
    assert conversation.pending is None          # reading is not serving
    served(conversation, AMBIGUOUS, asked)
    assert conversation.pending.options[1] == Option("fx-sell", "How do I convert foreign currency into yuan")
    chosen = responder.reply("the second one", "en", conversation)
    assert (chosen.kind, chosen.entry_id, chosen.choice) == ("answer", "fx-sell", "ordinal")
    assert chosen.text == "fx-sell answer" and chosen.confidence == asked.confidence
    tapped = responder.reply("How do I buy US dollars", "en", conversation, tapped="fx-buy")
    assert (tapped.entry_id, tapped.choice) == ("fx-buy", "tap")
    served(conversation, "the second one", chosen)
    assert conversation.pending is None and conversation.anchor().entry_id == "fx-sell"   # the new subject


def test_a_new_question_after_a_clarification_is_answered_and_clears_it(responder):
    conversation = Conversation()
    served(conversation, AMBIGUOUS, responder.reply(AMBIGUOUS, "en", conversation))
    answer = responder.reply("What are your opening hours", "en", conversation)
    assert (answer.kind, answer.entry_id, answer.choice) == ("answer", "opening-hours", None)
    served(conversation, "What are your opening hours", answer)
    assert conversation.pending is None
    # A tap on an option no longer offered is not a choice: the text is a question like any other.
    again = responder.reply("How do I buy US dollars", "en", conversation, tapped="fx-buy")
    assert again.choice is None


def test_asking_for_a_person_is_never_taken_for_a_choice(responder):
    conversation = Conversation()
    served(conversation, AMBIGUOUS, responder.reply(AMBIGUOUS, "en", conversation))
    assert responder.reply(PERSON, "en", conversation).kind == "handoff"


def test_the_json_reply_lists_the_options(responder):
    body = responder.to_json(responder.reply(AMBIGUOUS, "en"))
    assert body["kind"] == "clarify" and body["clarify"] == [
        {"id": "fx-buy", "question": "How do I buy US dollars"},
        {"id": "fx-sell", "question": "How do I convert foreign currency into yuan"}]
    assert body["related"] == [] and body["entry_id"] is None
