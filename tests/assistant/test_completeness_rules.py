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
    ("I want to change some dollars.", "en", False),   # a request customers go on from
    ("I'd like to open an account", "en", False),
    ("My card is about to expire.", "en", False),      # "is", but not asked
    ("Is my card locked now", "en", True),
    ("Where is the nearest branch", "en", True),
    ("", "en", False),
    ("银行卡丢了怎么办？", "zh", True),
    ("怎么挂失", "zh", True),
    ("我想查询余额", "zh", False),    # a request: "我想查询余额，要带卡吗？" goes on
    ("我想换美元", "zh", False),
    ("密码输错了好几次", "zh", False),       # 好几: "several", not "how many"
    ("要等几天", "zh", True),
    ("你们周六上班吗", "zh", True),
    ("现在美元汇率是多少", "zh", True),
    ("我的银行卡丢了，", "zh", False),
    ("我的银行卡丢了。", "zh", False),
    ("如果我想转账的话", "zh", False),
    ("请问", "zh", False),
    # Interrogatives beyond the first list (session 8): how long, why, who, and A-not-A verbs.
    ("跨行转账要多久到账", "zh", True),
    ("贷款最长能贷多长时间", "zh", True),
    ("为什么我的卡被冻结了", "zh", True),
    ("谁可以帮我办理", "zh", True),
    ("收不收手续费", "zh", True),
    ("需不需要预约", "zh", True),
    ("信用卡额度能不能提高", "zh", True),
    ("不不不", "zh", False),          # a repeated 不 is no A-not-A question
    ("我不知道", "zh", False),
    ("一不小心转错了", "zh", False),
    ("Isn't there a fee for that", "en", True),
    ("Don't you open on Sundays", "en", True),
    ("Am I eligible for a loan", "en", True),
    ("I don't know", "en", False),
]


@pytest.mark.parametrize("text,lang,expected", CASES)
def test_looks_complete(text, lang, expected):
    assert looks_complete(text, lang) is expected
