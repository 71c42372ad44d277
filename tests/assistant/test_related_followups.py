"""Suggested follow-up questions (`related`): chosen from served entries, never the cited one, in the
answer's language; on the wire in `response.created` and in `POST /v1/ask`."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from teller_client import ask_typed

from assistant.related import TagIndex, did_you_mean, related_to_answer
from knowledge import demo_kb_path
from knowledge.entry import Entry, load_jsonl


def entry(id_, tags, zh=None, en=None):
    questions = {k: v for k, v in (("zh", zh), ("en", en)) if v}
    return Entry(id=id_, questions=questions, answer={k: "…" for k in questions}, tags=tuple(tags))


def candidate(e, confidence=0.1):
    return SimpleNamespace(entry=e, confidence=confidence)


CARD = entry("lost", ["kb", "cards"], zh=["卡丢了"], en=["I lost my card"])
KB = [
    CARD,
    entry("replace", ["kb", "cards"], zh=["补卡"], en=["Replace my card"]),
    entry("pin", ["kb", "cards"], en=["Forgot my PIN"]),                      # no Mandarin question
    entry("rates", ["kb", "deposits"], zh=["利率"], en=["Deposit rates"]),
    entry("atm", ["kb", "cards"], zh=["取款机吞卡"], en=["ATM kept my card"]),
    entry("expiry", ["kb", "cards"], zh=["卡过期"], en=["Card expired"]),
    entry("hello", ["kb", "chitchat", "cards"], zh=["你好"], en=["Hello"]),
    *(entry(f"loan-{i}", ["kb", "loans"], zh=[f"贷款{i}"], en=[f"Loan {i}"]) for i in range(5)),
]


def test_candidates_sharing_a_topical_tag_come_first_then_tag_siblings():
    # "rates" was retrieved but shares no subject tag; "kb" is on every entry and does not count.
    cands = [candidate(e) for e in (CARD, KB[3], KB[4], KB[6])]
    tags = TagIndex(KB)
    assert tags.topical(CARD) == ["cards"]
    assert related_to_answer(CARD, cands, tags, "en") == (
        ("atm", "ATM kept my card"), ("replace", "Replace my card"), ("pin", "Forgot my PIN"))
    # In Mandarin an entry without a Mandarin question is skipped rather than shown in English.
    assert related_to_answer(CARD, cands, tags, "zh") == (("atm", "取款机吞卡"), ("replace", "补卡"), ("expiry", "卡过期"))


def test_small_talk_is_neither_suggested_nor_followed_up():
    assert related_to_answer(KB[6], [candidate(e) for e in KB], TagIndex(KB), "en") == ()
    lonely = entry("solo", ["kb"], en=["Something"])
    assert related_to_answer(lonely, [candidate(e) for e in KB], TagIndex(KB + [lonely]), "en") == ()


def test_tag_index_is_rebuilt_only_when_the_served_entries_change():
    tags = TagIndex(KB)
    assert tags.current(list(KB))
    changed = [*KB[:1], entry("replace", ["kb", "loans"], zh=["补卡"], en=["Replace my card"]), *KB[2:]]
    assert not tags.current(changed) and not tags.current(KB[:-1])
    assert [e.id for e in TagIndex(changed).by_tag["cards"]] == ["lost", "pin", "atm", "expiry", "hello"]


def test_did_you_mean_keeps_only_near_misses():
    cands = [candidate(KB[1], 0.45), candidate(KB[6], 0.4), candidate(KB[3], 0.1)]
    assert did_you_mean(cands, "zh", floor=0.3) == (("replace", "补卡"),)
    assert did_you_mean(cands, "zh", floor=0.5) == ()


# ---------------------------------------------------------------- the real server

DEMO = {e.id: e for e in load_jsonl(demo_kb_path())}


def assert_follow_ups(related, cited, language):
    assert 1 <= len(related) <= 3, related
    ids = [r["id"] for r in related]
    assert cited not in ids and len(set(ids)) == len(ids), related
    for r in related:
        assert set(r) == {"id", "question"}
        assert r["question"] == DEMO[r["id"]].questions[language][0], r
        assert set(DEMO[r["id"]].tags) & set(DEMO[cited].tags) - {"demo"}, r


@pytest.mark.parametrize("question,language,cited,expected", [
    ("How do I report a lost card?", "en", "lost-card", "card-replacement"),
    ("银行卡丢了怎么办？", "zh", "lost-card", "card-replacement"),
    ("What documents do I need to open an account?", "en", "account-documents", "open-account"),
    ("开户需要带什么证件", "zh", "account-documents", "foreigner-account"),
])
async def test_ask_and_response_created_carry_the_same_follow_ups(server, question, language, cited, expected):
    body = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": question, "language": language}, timeout=60).json()
    assert body["entry_id"] == cited, body
    assert_follow_ups(body["related"], cited, language)
    assert expected in [r["id"] for r in body["related"]], body["related"]
    ex = await ask_typed(server.ws, question, language=language)
    created = ex.first("response.created")
    assert created["entry_id"] == cited and created["related"] == body["related"]


async def test_no_follow_ups_when_the_customer_asks_for_a_person(server):
    body = httpx.post(f"{server.http}/v1/ask", headers={"Origin": server.http}, json={"text": "转人工"}, timeout=60).json()
    assert body["handoff"] and body["related"] == []
    ex = await ask_typed(server.ws, "转人工")
    assert ex.first("response.created")["related"] == []
