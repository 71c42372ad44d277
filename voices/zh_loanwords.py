"""English words in Chinese answers that Chinese speakers say as Chinese words.

The Mandarin voices have no English phones: any Latin word is spelled with
Chinese letter names, which suits abbreviations (ATM, APP, ETC, VIP, POS, ID) but
turns "Mastercard" into ten letters. Brand and product names a bank's answers
use are said here the way a Chinese teller says them: the brand's established
Chinese name (Visa → 维萨, WeChat Pay → 微信支付) or, for a word borrowed by sound,
the nearest Mandarin syllable (PIN → pīn, as in "PIN码"). Words are matched
case-insensitively, whole words only; longer phrases win ("WeChat Pay" before
"WeChat"). The written form stays in the word timings and subtitles.
"""

from __future__ import annotations

import re

# Lower-case phrase → what to say. A space in a phrase matches any run of spaces
# or hyphens, or none ("wechat pay": WeChat Pay, WeChatPay, WeChat-Pay). Readings
# are Chinese characters, so both Mandarin voices (Baker, espeak cmn) read them.
READINGS: dict[str, str] = {
    "visa": "维萨",
    "master card": "万事达",
    "union pay": "银联",
    "american express": "美国运通",
    "amex": "运通",
    "wechat": "微信",
    "wechat pay": "微信支付",
    "weixin": "微信",
    "alipay": "支付宝",
    "apple pay": "苹果支付",
    "huawei pay": "华为支付",
    "samsung pay": "三星支付",
    "google pay": "谷歌支付",
    "paypal": "贝宝",
    "android": "安卓",
    "pin": "拼",  # pīn: "PIN码" is said as one syllable, not P-I-N
    "wi fi": "歪飞",  # wāi fēi, as it is said in China
}

_BY_LETTERS = {re.sub(r"[^a-z]", "", phrase): said for phrase, said in READINGS.items()}
PATTERN = re.compile(
    r"(?<![A-Za-z])(?:"
    + "|".join(
        r"[\s-]*".join(re.escape(part) for part in phrase.split(" "))
        for phrase in sorted(READINGS, key=len, reverse=True)
    )
    + r")(?![A-Za-z])",
    re.IGNORECASE,
)


def reading(written: str) -> str | None:
    """The Chinese reading of `written` (a PATTERN match), None if it has none."""
    return _BY_LETTERS.get(re.sub(r"[^a-z]", "", written.lower()))
