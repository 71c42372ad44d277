import pytest

from voices.sentences import split_sentences

CASES = [
    ("Your card has been blocked. Please visit any branch.",
     ["Your card has been blocked.", "Please visit any branch."]),
    ("Rates start at 3.5% a year. Ask us.", ["Rates start at 3.5% a year.", "Ask us."]),
    ("Bring ID, e.g. a passport. Then queue.", ["Bring ID, e.g. a passport.", "Then queue."]),
    ("Call Mr. Smith at 9 a.m. Thanks!", ["Call Mr. Smith at 9 a.m.", "Thanks!"]),
    ("It opens at 9 a.m. and closes at 5 p.m.", ["It opens at 9 a.m. and closes at 5 p.m."]),
    ("Is it open? Yes! Come in; we wait.", ["Is it open?", "Yes!", "Come in;", "we wait."]),
    ("See www.bank.com. Then log in.", ["See www.bank.com.", "Then log in."]),
    ("A loan of $1,200, due in 3 months", ["A loan of $1,200, due in 3 months"]),
    ("您好，请问有什么可以帮您？我们的营业时间是早上九点。",
     ["您好，请问有什么可以帮您？", "我们的营业时间是早上九点。"]),
    ("他说：“好。”然后走了", ["他说：“好。”", "然后走了"]),
    ("真的吗？！是的；没问题", ["真的吗？！", "是的；", "没问题"]),
    ("第一条。\n第二条", ["第一条。", "第二条"]),
    ("利率是3.5%。", ["利率是3.5%。"]),
    ("", []),
    ("。。", []),
    ("Hello", ["Hello"]),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_split_table(text, expected):
    assert split_sentences(text) == expected


def test_long_chinese_sentence_is_cut_at_commas_so_audio_starts_early():
    text = ("请携带身份证、银行卡、手机到任意网点办理，如果您无法到网点，也可以通过手机银行申请挂失，"
            "挂失后二十四小时内生效，请注意保管好您的密码。")
    pieces = split_sentences(text, "zh", max_chars=20)
    assert len(pieces) > 2
    assert all(len(p) <= 20 for p in pieces)
    assert "".join(pieces) == text  # nothing lost, order kept
    assert pieces[0].endswith(("，", "、"))


def test_long_english_sentence_is_cut_at_commas_then_spaces():
    text = ("If you have lost your card, please call us at once, and we will block it, "
            "then you can order a new one from the app or at any branch near you.")
    pieces = split_sentences(text, "en", max_chars=40)
    assert all(len(p) <= 40 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert pieces[0] == "If you have lost your card,"


def test_numbers_with_thousands_separators_are_not_cut():
    pieces = split_sentences("Transfers above $10,000, or 1,000,000 yuan, need a form.", "en", max_chars=20)
    assert any("$10,000," in p for p in pieces)
    assert any("1,000,000" in p for p in pieces)
