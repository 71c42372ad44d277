"""The gaps report shows the questions the teller had to clarify, with the entries it offered (the
entries customers confuse), on SQLite and PostgreSQL (conftest's `stores`)."""

from __future__ import annotations

import json

from knowledge.gaps import GapsReport


def test_clarified_questions_are_reported_with_the_entries_offered(stores):
    store = stores.new()
    audit = store.audit
    for said in ("我的卡号6222021234567890能换美元吗", "我的卡号6222021234567890能换美元吗？"):
        # The group confidence of a clarification is above the threshold: it is reported anyway.
        audit.record_served(question=said, channel="web", language="zh", kind="clarify", handoff=False,
                            confidence=0.71, candidates=[("fx-buy", 0.52), ("fx-sell", 0.47)],
                            offered=["fx-buy", "fx-sell"])
    audit.record_served(question="换成人民币", channel="web", language="zh", kind="answer", handoff=False,
                        confidence=0.71, entry_id="fx-sell", entry_version=1, clarification="phrase")
    audit.record_served(question="I lost my card", channel="web", language="en", kind="answer", handoff=False,
                        confidence=0.93, entry_id="lost-card", entry_version=1)
    report = GapsReport(store.db, audit).report(threshold=0.6)
    assert len(report["questions"]) == 1, report
    gap = report["questions"][0]
    assert (gap["asked"], gap["clarified"], gap["handoffs"], gap["low_confidence"]) == (2, 2, 0, 0)
    assert gap["offered"] == {"fx-buy": 2, "fx-sell": 2}
    assert gap["example"] == "我的卡号[CARD]能换美元吗"          # masked, as every stored question
    assert "6222021234567890" not in json.dumps(report, ensure_ascii=False)
    chosen = audit.query(action="answer.served", subject="entry:fx-sell@1")[0]
    assert chosen.details["clarification"] == "phrase" and "offered" not in chosen.details
    asked = audit.query(action="answer.served", subject="clarify")
    assert [r.details["offered"] for r in asked] == [["fx-buy", "fx-sell"]] * 2
    assert audit.verify().ok
