"""The bundled demo knowledge base is complete, bilingual and never states figures."""

from __future__ import annotations

import re
from collections import Counter

from knowledge import demo_kb_path, load_jsonl

WEALTH_ZH = "理财非存款，产品有风险，投资须谨慎"
WEALTH_EN = "Wealth management products are not deposits; they carry risk; invest with caution."
TOPICS = {"accounts", "cards", "transfers", "mobile", "remote-counter", "branches", "loans",
          "wealth", "deposits", "fx", "chitchat"}


def test_demo_kb_is_package_data_and_loads():
    path = demo_kb_path()
    assert path.is_file() and path.parent.name == "knowledge"
    entries = load_jsonl(path)
    assert len(entries) >= 80
    assert len({e.id for e in entries}) == len(entries)


def test_every_entry_is_bilingual_demo_content(demo_entries):
    for e in demo_entries:
        assert set(e.answer) == {"zh", "en"}, e.id
        for lang in ("zh", "en"):
            assert 3 <= len(e.questions[lang]) <= 6, (e.id, lang)
        assert e.tags[0] == "demo", e.id
    tags = Counter(t for e in demo_entries for t in e.tags)
    assert TOPICS <= set(tags)


def test_wealth_entries_carry_the_risk_disclosure(demo_entries):
    wealth = [e for e in demo_entries if "wealth" in e.tags]
    assert len(wealth) >= 5
    for e in wealth:
        assert WEALTH_ZH in e.disclosure["zh"], e.id
        assert e.disclosure["en"] == WEALTH_EN, e.id


def test_answers_state_no_rates_or_amounts(demo_entries):
    figure = re.compile(r"\d+(\.\d+)?\s*(%|％|厘|元|块|万|yuan|rmb|usd|dollars?)", re.IGNORECASE)
    phone = re.compile(r"\d{3}-\d{3}-\d{4}")
    for e in demo_entries:
        for lang, text in e.answer.items():
            assert not figure.search(text), (e.id, lang, text)
            for number in phone.findall(text):
                assert number == "400-000-0000", (e.id, number)  # the fictional demo number
            assert len(text) <= 400, e.id  # short enough to be spoken


def test_bank_name_and_demo_note():
    text = demo_kb_path().read_text(encoding="utf-8")
    assert "青岛城市银行" in text and "Qingdao City Bank" in text
    readme = demo_kb_path().with_name("README-demo.md")
    assert readme.is_file() and "demo" in readme.read_text(encoding="utf-8").lower()
