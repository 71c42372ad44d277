"""Personal data is masked before anything is stored: the mask itself, and the audit log, the
gaps report and feedback on SQLite and PostgreSQL (conftest's `stores`)."""

from __future__ import annotations

import json

import pytest

from knowledge.gaps import GapsReport
from knowledge.privacy import mask_personal


@pytest.mark.parametrize("said,kept", [
    ("my card 6222 0212 3456 7890 was swallowed", "my card [CARD] was swallowed"),
    ("卡号 6222-0212-3456-7890-123 被吞了", "卡号 [CARD] 被吞了"),
    ("Visa 4111111111111111", "Visa [CARD]"),
    ("身份证号370202199001011234", "身份证号[ID]"),
    ("身份证37020219900101123x过期了", "身份证[ID]过期了"),
    ("old id 370202900101123", "old id [ID]"),
    ("call me on 13812345678", "call me on [PHONE]"),
    ("我的手机是+86 138 1234 5678", "我的手机是[PHONE]"),
    ("电话0532-88886666", "电话[PHONE]"),
    ("我的卡号是六二二二零二一二三四五六七八九零", "我的卡号是[CARD]"),
    ("我的密码是幺二三四五六", "我的密码是[NUMBER]"),
    ("pin 123456", "pin [NUMBER]"),
    ("passport E12345678 expired", "passport [NUMBER] expired"),
    ("account 12345678", "account [NUMBER]"),
])
def test_personal_numbers_are_masked(said, kept):
    assert mask_personal(said) == kept


@pytest.mark.parametrize("text", ["transfer 5000 yuan", "两年定期利率多少", "一个月还多少", "I want 3 months",
                                  "2026年12月3日", "wifi5g", "怎么查余额", "What is the daily transfer limit"])
def test_ordinary_questions_are_untouched(text):
    assert mask_personal(text) == text


def test_nothing_personal_reaches_the_audit_the_gaps_report_or_feedback(stores):
    store = stores.new()
    said = "my card 6222021234567890 was swallowed, call 13812345678"
    rid = store.audit.record_served(question=said, channel="web", language="en", kind="handoff",
                                    handoff=True, confidence=0.1)
    gaps = GapsReport(store.db, store.audit)
    gaps.add_feedback(helpful=False, question="身份证370202199001011234过期了")
    gaps.add_feedback(helpful=False, response_id=rid)
    stored = json.dumps([r.to_dict() for r in store.audit.query(limit=100)], ensure_ascii=False)
    report = json.dumps(gaps.report(), ensure_ascii=False)
    with store.db.read() as con:
        feedback = json.dumps([list(r) for r in con.execute("SELECT question FROM kb_feedback").fetchall()],
                              ensure_ascii=False)
    for where in (stored, report, feedback):
        for secret in ("6222021234567890", "13812345678", "370202199001011234"):
            assert secret not in where
    assert "[CARD]" in stored and "[PHONE]" in report and "[ID]" in feedback
    assert store.audit.verify().ok
