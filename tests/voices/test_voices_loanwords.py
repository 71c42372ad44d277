"""English brand words inside Chinese answers: said as Chinese speakers say them."""

from __future__ import annotations

import pytest

from voices.normalize_zh import normalize, spoken_units
from voices.zh_frontend import LETTER_SYLLABLES

READ_AS_CHINESE = [
    # (text, written word kept for subtitles, what is said)
    ("请使用Visa卡支付。", "Visa", "维萨"),
    ("VISA卡", "VISA", "维萨"),
    ("Mastercard信用卡", "Mastercard", "万事达"),
    ("MasterCard", "MasterCard", "万事达"),
    ("Master Card", "Master Card", "万事达"),
    ("UnionPay", "UnionPay", "银联"),
    ("American Express", "American Express", "美国运通"),
    ("可以用WeChat付款", "WeChat", "微信"),
    ("WeChat Pay", "WeChat Pay", "微信支付"),
    ("WeChatPay", "WeChatPay", "微信支付"),
    ("Alipay", "Alipay", "支付宝"),
    ("绑定Apple Pay后", "Apple Pay", "苹果支付"),
    ("Apple-Pay", "Apple-Pay", "苹果支付"),
    ("Huawei Pay", "Huawei Pay", "华为支付"),
    ("PayPal", "PayPal", "贝宝"),
    ("Android手机", "Android", "安卓"),
    ("请勿泄露PIN码", "PIN", "拼"),
    ("连接Wi-Fi", "Wi-Fi", "歪飞"),
    ("WiFi", "WiFi", "歪飞"),
]

SPELLED = [
    # Abbreviations stay letter by letter; so do words not in the table, and
    # words that only contain a table word.
    ("ATM机", "ATM"),
    ("手机银行APP", "APP"),
    ("ETC卡", "ETC"),
    ("VIP客户", "VIP"),
    ("POS机", "POS"),
    ("PINE", "PINE"),
    ("pinyin", "pinyin"),
    ("Visas", "Visas"),
    ("Applepie", "Applepie"),
]


@pytest.mark.parametrize("text,written,said", READ_AS_CHINESE)
def test_brand_words_are_read_as_chinese(text, written, said):
    (unit,) = [u for u in spoken_units(text) if u.written == written]
    assert unit.kind == "word" and unit.spoken == said
    assert said in normalize(text) and written not in normalize(text)


@pytest.mark.parametrize("text,written", SPELLED)
def test_abbreviations_and_other_words_are_spelled(text, written):
    (unit,) = [u for u in spoken_units(text) if u.written == written]
    assert unit.kind == "latin" and unit.spoken == written


def test_longest_phrase_wins_and_neighbours_are_kept():
    units = [(u.written, u.spoken, u.kind) for u in spoken_units("WeChat Pay和WeChat、ATM都行")]
    assert ("WeChat Pay", "微信支付", "word") in units
    assert ("WeChat", "微信", "word") in units
    assert ("ATM", "ATM", "latin") in units


def test_front_end_reads_the_brand_and_keeps_the_written_word(zh_engine):
    analysis = zh_engine._frontend.analyse("请用Mastercard或ATM。")
    assert "Mastercard" in analysis.words and "ATM" in analysis.words
    names = [s.name for s in analysis.symbols]
    brand = analysis.words.index("Mastercard")
    said = [s.name for s in analysis.symbols if s.word == brand]
    assert said == ["^", "uan4", "sh", "iii4", "d", "a2"]  # wàn shì dá, not M-A-S-T-E-R-C-A-R-D
    atm = [s.name for s in analysis.symbols if s.word == analysis.words.index("ATM")]
    letters = [syl for ch in "ATM" for syl in LETTER_SYLLABLES[ch]]
    assert len(atm) == 2 * len(letters) and "eos" in names


def test_mixed_sentence_timings_show_the_written_brand(zh_engine):
    (seg,) = zh_engine.synthesize("您可以使用Visa卡或Apple Pay付款。")
    texts = [w.text for w in seg.words]
    assert "Visa" in texts and "Apple Pay" in texts
    by_text = {w.text: w for w in seg.words}
    # Two syllables (维萨) and four (苹果支付): longer than one character, far shorter
    # than spelling four and eight letters (~0.3 s each).
    assert by_text["Visa"].duration_ms < 1000 and by_text["Apple Pay"].duration_ms < 1600
    assert abs(sum(p.duration_ms for p in seg.phones) - seg.duration_ms) < 1


# Spelled letter by letter these could never come back as these syllables.
ROUND_TRIP = [
    ("请使用Mastercard付款。", "Mastercard", "万事达"),
    ("我们支持Alipay付款。", "Alipay", "支付宝"),
    ("请打开WeChat Pay扫码。", "WeChat Pay", "微信支付"),
]


def _syllables(text: str) -> list[str]:
    from pypinyin import lazy_pinyin

    return lazy_pinyin(text)


def _heard_as(expected: str, heard: str) -> bool:
    """Whisper writes homophones (万事达 → 外式达, 事 → 式): compare toneless syllables,
    allowing one wrong syllable in three."""
    want, got = _syllables(expected), _syllables(heard)
    allowed = len(want) // 3
    return any(
        sum(a != b for a, b in zip(want, got[i : i + len(want)])) <= allowed
        for i in range(len(got) - len(want) + 1)
    )


@pytest.mark.parametrize("text,brand,expected", ROUND_TRIP)
def test_whisper_hears_the_brand(text, brand, expected, zh_engine, whisper_model):
    from tests.voices.test_voices_roundtrip import ZH_PROMPT, normalise_zh, to_16k

    (seg,) = zh_engine.synthesize(text)
    parts, _ = whisper_model.transcribe(
        to_16k(seg.audio, seg.sample_rate), language="zh", beam_size=1, vad_filter=False,
        condition_on_previous_text=False, initial_prompt=ZH_PROMPT,
    )
    heard = normalise_zh("".join(p.text for p in parts))
    print(f"{text!r} heard as {heard!r}")
    assert _heard_as(expected, heard), f"{text!r} ({brand}) heard as {heard!r}"


def test_the_round_trip_check_rejects_spelled_letters():
    # What Whisper writes for the letter names is nothing like the brand's syllables.
    spelled = "".join(normalize(ch) for ch in "请使用") + "诶姆诶艾斯踢伊阿尔西诶阿尔迪"
    assert not _heard_as("万事达", spelled)
    assert _heard_as("万事达", "请使用外式达付款")
