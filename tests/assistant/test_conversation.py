"""Conversation context on a scripted search: when the context is used, what is searched, what is
left out, and how long a conversation lives. (On the demo KB with the real embedder, the held-out
dialogues are in tests/knowledge/test_dialogues.py.)"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from assistant.conversation import MAX_EXCHANGES, Conversation, Conversations, refers_back


@dataclass(frozen=True)
class FakeEntry:
    id: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    entry: FakeEntry
    confidence: float


class ScriptedSearch:
    """query → hits; records every call (with what it was told to leave out)."""

    def __init__(self, script: dict[str, list[tuple[str, float]]], tags: dict[str, tuple[str, ...]] | None = None):
        self.script = script
        self.tags = tags or {}
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def __call__(self, text, k, exclude=()):
        self.calls.append((text, tuple(exclude)))
        return [Hit(FakeEntry(i, self.tags.get(i, ())), c) for i, c in self.script.get(text, []) if i not in exclude][:k]


@pytest.mark.parametrize("text,language", [
    ("what documents do I need for that", "en"), ("and how long does it take", "en"), ("what about a child", "en"),
    ("is there a fee", "en"), ("那外国人呢", "zh"), ("这个要收费吗", "zh"), ("那如果逾期了", "zh")])
def test_questions_that_refer_back(text, language):
    assert refers_back(text, language)


@pytest.mark.parametrize("text,language", [
    ("How do I apply for a credit card", "en"), ("Where is the nearest branch", "en"), ("What are your deposit rates", "en"),
    ("信用卡怎么申请", "zh"), ("怎么调高", "zh"), ("离我最近的网点在哪", "zh")])
def test_questions_that_do_not(text, language):
    assert not refers_back(text, language)


def test_without_an_answered_turn_the_question_stands_alone():
    search = ScriptedSearch({"what documents do I need for that": [("business-loan-documents", 0.67)]})
    found = Conversation().resolve("what documents do I need for that", "en", search, k=3, threshold=0.6)
    assert [h.entry.id for h in found.candidates] == ["business-loan-documents"] and not found.followed_up
    assert len(search.calls) == 1


def test_an_elliptical_follow_up_is_searched_with_the_topic_and_without_the_last_answer():
    c = Conversation()
    c.remember("I want to open an account", "en", "open-account", "I want to open a bank account")
    search = ScriptedSearch({
        "what documents do I need for that": [("business-loan-documents", 0.67)],
        "I want to open a bank account what documents do I need for that": [("open-account", 0.9),
                                                                            ("account-documents", 0.8)]})
    found = c.resolve("what documents do I need for that", "en", search, k=3, threshold=0.6)
    assert found.followed_up and found.candidates[0].entry.id == "account-documents"
    assert search.calls[1] == ("I want to open a bank account what documents do I need for that", ("open-account",))


def test_mandarin_topics_are_joined_without_a_space():
    c = Conversation()
    c.remember("我想开个户", "zh", "open-account", "我想开个银行账户")
    search = ScriptedSearch({"我想开个银行账户那外国人呢": [("foreigner-account", 0.9)]})
    found = c.resolve("那外国人呢", "zh", search, k=3, threshold=0.6)
    assert found.query == "我想开个银行账户那外国人呢" and found.candidates[0].entry.id == "foreigner-account"


def test_a_confident_self_contained_question_is_not_pulled_to_the_old_topic():
    c = Conversation()
    c.remember("How do I apply for a credit card", "en", "credit-card-apply", "How do I apply for a credit card")
    search = ScriptedSearch({"Where is the nearest branch": [("find-branch", 0.95)]})
    found = c.resolve("Where is the nearest branch", "en", search, k=3, threshold=0.6)
    assert found.candidates[0].entry.id == "find-branch" and not found.followed_up


def test_an_unsure_self_contained_question_may_only_pick_among_its_own_best_guesses():
    c = Conversation()
    c.remember("How do I transfer to another bank", "en", "cross-bank-transfer", "How do I transfer money to another bank")
    q = "Can the daily maximum be changed"
    ctx = "How do I transfer money to another bank " + q
    own = [("transfer-limit", 0.4), ("transfer-limit-change", 0.35), ("credit-limit-increase", 0.3)]
    agrees = ScriptedSearch({q: own, ctx: [("transfer-limit-change", 0.8)]})
    found = c.resolve(q, "en", agrees, k=3, threshold=0.6)
    assert found.candidates[0].entry.id == "transfer-limit-change" and found.followed_up
    pulled = ScriptedSearch({q: own, ctx: [("credit-limit-increase", 0.9)]})   # third guess: too far
    assert not c.resolve(q, "en", pulled, k=3, threshold=0.6).followed_up
    unsure = ScriptedSearch({q: own, ctx: [("transfer-limit-change", 0.5)]})
    found = c.resolve(q, "en", unsure, k=3, threshold=0.6)
    assert found.candidates[0].entry.id == "transfer-limit" and not found.followed_up   # → hand-off, not a guess


def test_a_confident_new_question_off_the_subject_stands_alone():
    c = Conversation()
    c.remember("怎么申请信用卡", "zh", "credit-card-apply", "怎么申请信用卡", ["cards"])
    search = ScriptedSearch({"我要投诉": [("complaint", 0.95)], "怎么申请信用卡我要投诉": [("complaint", 0.7)]},
                            tags={"complaint": ("branches",)})
    found = c.resolve("我要投诉", "zh", search, k=3, threshold=0.6)
    assert found.candidates[0].confidence == 0.95 and not found.followed_up


def test_the_subject_decides_between_two_confident_readings():
    c = Conversation()
    c.remember("能分期吗", "zh", "credit-card-instalment", "信用卡能分期吗", ["loans", "cards"])
    tags = {"transfer-fees": ("transfers",), "instalment-fees": ("loans", "cards")}
    search = ScriptedSearch({"手续费怎么收": [("transfer-fees", 0.74), ("instalment-fees", 0.24)],
                             "信用卡能分期吗手续费怎么收": [("instalment-fees", 0.8)]}, tags=tags)
    found = c.resolve("手续费怎么收", "zh", search, k=3, threshold=0.6)
    assert found.candidates[0].entry.id == "instalment-fees" and found.followed_up


def test_a_confident_new_question_is_not_overruled_by_a_less_sure_context():
    c = Conversation()
    c.remember("How do I send money abroad?", "en", "international-wire", "How do I send money abroad", ["transfers", "fx"])
    q = "What are your opening hours?"
    search = ScriptedSearch({q: [("opening-hours", 0.99)], "How do I send money abroad " + q: [("receive-international", 0.7)]},
                            tags={"opening-hours": ("branches",), "receive-international": ("transfers", "fx")})
    found = c.resolve(q, "en", search, k=3, threshold=0.6)
    assert found.candidates[0].entry.id == "opening-hours" and not found.followed_up


def test_a_question_that_refers_back_is_never_answered_off_the_subject_on_its_own():
    c = Conversation()
    c.remember("I want to open an account", "en", "open-account", "I want to open a bank account", ["accounts"])
    q = "and how long does it take"
    search = ScriptedSearch({q: [("transfer-arrival-time", 0.70)],
                             "I want to open a bank account " + q: [("account-documents", 0.3)]},
                            tags={"transfer-arrival-time": ("transfers",), "account-documents": ("accounts",)})
    found = c.resolve(q, "en", search, k=3, threshold=0.6)
    assert found.followed_up and found.candidates[0].confidence < 0.6     # → a hand-off, not a wrong answer


def test_a_hand_off_is_no_topic_and_the_context_reaches_two_turns_back():
    c = Conversation()
    c.remember("I want to open an account", "en", "open-account", "I want to open a bank account")
    c.remember("what's the weather", "en", None, None)
    assert c.anchor().entry_id == "open-account"
    c.remember("hmm", "en", None, None)
    assert c.anchor() is None


def test_the_state_is_bounded():
    c = Conversation()
    for i in range(10):
        c.remember(f"q{i}", "en", f"e{i}", f"topic {i}")
    assert len(c.exchanges) == MAX_EXCHANGES and c.exchanges[-1].entry_id == "e9"


def test_conversations_expire_and_are_bounded_and_ids_are_unguessable():
    now = [0.0]
    table = Conversations(max_open=2, ttl_s=60, clock=lambda: now[0])
    a_id, a = table.get(None)
    assert a_id.startswith("conv_") and len(a_id) > 30
    assert table.get(a_id)[1] is a
    assert table.get("conv_made_up")[0] != "conv_made_up"    # an unknown id starts a new one
    now[0] = 61
    b_id, b = table.get(a_id)
    assert b is not a and b_id != a_id                       # expired
    table.get(None)
    table.get(None)
    assert len(table) == 2                                   # the least recently used went first
