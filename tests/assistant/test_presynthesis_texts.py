"""What the server pre-synthesises after start-up: every line the teller may speak."""

from __future__ import annotations

from assistant.loading import approved_texts
from assistant.responder import SYSTEM_LINES


def test_answers_disclosures_and_the_tellers_own_lines(services):
    texts = approved_texts(services.index)
    entries = list(services.index.entries())
    wealth = next(e for e in entries if e.disclosure)
    for lang in ("zh", "en"):
        assert SYSTEM_LINES["handoff"][lang] in texts[lang]
        assert SYSTEM_LINES["not_understood"][lang] in texts[lang]
        assert wealth.answer[lang] in texts[lang] and wealth.disclosure[lang] in texts[lang]
    assert len(texts["en"]) >= sum("en" in e.answer for e in entries) + len(SYSTEM_LINES)
