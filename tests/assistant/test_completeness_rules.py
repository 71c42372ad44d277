import pytest

from assistant.completeness import looks_complete

CASES = [
    ("How do I report a lost card?", "en", True),
    ("What are your opening hours", "en", True),
    ("Can I open an account with my passport", "en", True),
    ("I lost my card yesterday,", "en", False),
    ("I lost my card yesterday.", "en", False),   # a statement: wait for the rest or the max silence
    ("How do I report a lost card and", "en", False),
    ("I want to", "en", False),
    ("", "en", False),
    ("银行卡丢了怎么办？", "zh", True),
    ("怎么挂失", "zh", True),
    ("我想查询余额", "zh", True),
    ("我的银行卡丢了，", "zh", False),
    ("我的银行卡丢了。", "zh", False),
    ("如果我想转账的话", "zh", False),
    ("请问", "zh", False),
]


@pytest.mark.parametrize("text,lang,expected", CASES)
def test_looks_complete(text, lang, expected):
    assert looks_complete(text, lang) is expected
