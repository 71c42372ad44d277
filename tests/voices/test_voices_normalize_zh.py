import pytest

from voices.normalize_zh import cardinal, normalize, spoken_units

CARDINALS = [
    (0, "零"), (7, "七"), (10, "十"), (15, "十五"), (20, "二十"), (101, "一百零一"),
    (110, "一百一十"), (200, "两百"), (1005, "一千零五"), (1200, "一千二百"),
    (2000, "两千"), (10005, "一万零五"), (100010, "十万零一十"), (20000, "两万"),
    (12345678, "一千二百三十四万五千六百七十八"), (100000001, "一亿零一"),
]

TEXTS = [
    ("利率3.5%", "利率百分之三点五"),
    ("年化收益率50％", "年化收益率百分之五十"),
    ("0.35", "零点三五"),
    ("存款1,200元", "存款一千二百元"),
    ("¥100", "一百元"),
    ("$20", "二十美元"),
    ("请拨打400-820-8888", "请拨打四零零八二零八八八八"),
    ("客服热线95588", "客服热线九五五八八"),
    ("手机号13812345678", "手机号幺三八幺二三四五六七八"),
    ("卡号尾号1234", "卡号尾号幺二三四"),
    ("营业时间9:00-17:00", "营业时间九点至十七点"),
    ("下午2:05", "下午二点零五分"),
    ("2024年3月5日", "二零二四年三月五日"),
    ("2个工作日", "两个工作日"),
    ("3-5个工作日", "三至五个工作日"),
    ("2月", "二月"),
    ("第3条", "第三条"),
    ("最高20万", "最高二十万"),
    ("ATM机和APP", "ATM机和APP"),
]


@pytest.mark.parametrize("n,expected", CARDINALS)
def test_cardinal_table(n, expected):
    assert cardinal(n) == expected


@pytest.mark.parametrize("text,expected", TEXTS)
def test_normalize_table(text, expected):
    assert normalize(text) == expected


def test_units_keep_the_written_form_for_word_timings():
    units = spoken_units("热线95588，ATM。")
    assert [(u.written, u.kind) for u in units] == [
        ("热", "han"), ("线", "han"), ("95588", "number"), ("，", "punct"), ("ATM", "latin"), ("。", "punct"),
    ]
    assert units[2].spoken == "九五五八八"


MORE_TEXTS = [
    ("¥12,500.00", "一万两千五百元"),
    ("¥12.50", "十二元五角"),
    ("¥12.05", "十二元零五分"),
    ("¥0.05", "五分"),
    ("12,500.00元", "一万两千五百元"),
    ("转账2000元", "转账两千元"),
    ("22000", "两万两千"),
    ("利率3.5%", "利率百分之三点五"),
    ("2026-11-28", "二零二六年十一月二十八日"),
    ("2026年11月28日", "二零二六年十一月二十八日"),
    ("9:30", "九点三十分"),
    ("卡号6222 0212 3456 7890已冻结", "卡号尾号七八九零已冻结"),
    ("卡号6222021234567890123", "卡号尾号零幺二三"),
    ("请用手机银行APP查询", "请用手机银行APP查询"),
    ("ETC卡", "ETC卡"),
]


@pytest.mark.parametrize("text,expected", MORE_TEXTS)
def test_normalize_amounts_dates_cards(text, expected):
    assert normalize(text) == expected


def test_card_numbers_are_shown_masked():
    units = spoken_units("卡号6222021234567890123")
    assert units[-1].written == "****0123"
