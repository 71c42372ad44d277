"""Mandarin text normalisation: write out digits, symbols and Latin letters as speech.

The acoustic model only knows pinyin syllables, so every digit must become
characters first, and how a number is read depends on what it is: an amount
("1,200" → 一千二百), a rate ("3.5%" → 百分之三点五), a time ("9:30" → 九点三十分)
or an identifier such as a phone number, read digit by digit with 1 as 幺.

`spoken_units` keeps each written token beside its reading so that word timings
can show the customer "95588", not 九五五八八.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from voices.zh_loanwords import PATTERN as LOANWORDS
from voices.zh_loanwords import reading as loanword_reading

# "word": a Latin word said as a Chinese word (voices.zh_loanwords), e.g. Visa → 维萨.
UnitKind = Literal["han", "number", "latin", "word", "symbol", "punct", "other"]

_DIGITS = "零一二三四五六七八九"
_SMALL_UNITS = ["", "十", "百", "千"]
_BIG_UNITS = ["", "万", "亿", "万亿"]

# Full-width forms typed by Chinese IMEs; NFKC would also rewrite "，" to ",",
# which the sentence splitter and pause marks rely on, so only these are mapped.
_FULLWIDTH = {c: chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)}
_FULLWIDTH.update({c: chr(c - 0xFEE0) for c in range(0xFF21, 0xFF3B)})
_FULLWIDTH.update({c: chr(c - 0xFEE0) for c in range(0xFF41, 0xFF5B)})
_FULLWIDTH.update({0xFF05: "%", 0xFF0E: ".", 0xFF1A: ":", 0xFF0D: "-", 0xFFE5: "¥"})

# Words after which a digit string is an identifier, read digit by digit.
_ID_CONTEXT = re.compile(r"(电话|热线|号码|手机|卡号|账号|帐号|尾号|编号|客服|拨打|致电|验证码|密码|工号|邮编)[是为：:\s]*$")
# A bare 2 before these is read 两 (两万, 两个), not 二.
_LIANG_BEFORE = set("百千万亿个位次张种天年周份条笔项名家台户人小")

_RANGE_DASHES = {"-", "~", "～", "—", "–"}
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PUNCT = set("，。！？；：、,.!?;:…—–-~～·“”‘’\"'（）()《》〈〉【】「」『』")

_TOKEN = re.compile(
    r"""
    (?P<card>(?<![\d-])(?:\d{4}[ -]){3}\d{4}(?:[ -]?\d{1,3})?(?![\d-])|(?<!\d)\d{16,19}(?!\d))
  | (?P<date>(?<![\d.])(?:19|20)\d\d(?P<sep>[-/.])\d{1,2}(?P=sep)\d{1,2}(?![\d.]))
  | (?P<time>(?<!\d)(?:[01]?\d|2[0-3])[:：][0-5]\d(?!\d))
  | (?P<percent>\d+(?:\.\d+)?\s*%)
  | (?P<money>[¥￥$]\s*\d[\d,]*(?:\.\d+)?)
  | (?P<grouped>\d+(?:[-\s]\d+)+)
  | (?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)
  | (?P<loanword>(?i:"""
    + LOANWORDS.pattern
    + r"""))
  | (?P<latin>[A-Za-z]+)
  """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class SpokenUnit:
    written: str  # as it appears in the text
    spoken: str  # what to say: Chinese characters, Latin letters, or "" for pauses
    kind: UnitKind


def normalize(text: str) -> str:
    """Return the text with every number written out in Chinese characters."""
    return "".join(u.spoken if u.kind != "punct" else u.written for u in spoken_units(text))


def spoken_units(text: str) -> list[SpokenUnit]:
    """Tokenise into Chinese characters, numbers, Latin runs and punctuation."""
    text = text.translate(_FULLWIDTH)
    units: list[SpokenUnit] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        _plain_units(text[pos : m.start()], units)
        kind = m.lastgroup
        token = m.group()
        after = text[m.end() : m.end() + 1]
        if kind == "latin":
            units.append(SpokenUnit(token, token, "latin"))
        elif kind == "loanword":
            units.append(SpokenUnit(token, loanword_reading(token) or token, "word"))
        elif kind == "card":
            # Never read a customer's card number aloud; show it masked too.
            last4 = re.sub(r"\D", "", token)[-4:]
            units.append(SpokenUnit(f"****{last4}", "尾号" + digit_by_digit(last4), "number"))
        else:
            units.append(SpokenUnit(token, _read_number(kind or "number", token, text[: m.start()], after), "number"))
        pos = m.end()
    _plain_units(text[pos:], units)
    return _read_ranges(units)


def _read_ranges(units: list[SpokenUnit]) -> list[SpokenUnit]:
    # "9:00-17:00", "3~5": a dash between two numbers is said 至 ("to").
    out = list(units)
    for i in range(1, len(out) - 1):
        if out[i].written in _RANGE_DASHES and out[i - 1].kind == "number" and out[i + 1].kind == "number":
            out[i] = SpokenUnit(out[i].written, "至", "symbol")
    return out


def _plain_units(chunk: str, units: list[SpokenUnit]) -> None:
    for ch in chunk:
        if _HAN.match(ch):
            units.append(SpokenUnit(ch, ch, "han"))
        elif ch in _PUNCT:
            units.append(SpokenUnit(ch, "", "punct"))
        elif ch.isspace():
            continue
        else:
            # Symbols we cannot say (#, *, emoji…) are kept as written but silent.
            units.append(SpokenUnit(ch, "", "other"))


def _read_number(kind: str, token: str, before: str, after: str) -> str:
    if kind == "time":
        hours, minutes = re.split(r"[:：]", token)
        spoken = cardinal(int(hours)) + "点"
        if int(minutes):
            spoken += ("零" if int(minutes) < 10 else "") + cardinal(int(minutes)) + "分"
        return spoken
    if kind == "date":
        year, month, day = (int(p) for p in re.split(r"[-/.]", token))
        return digit_by_digit(str(year), phone=False) + "年" + cardinal(month) + "月" + cardinal(day) + "日"
    if kind == "percent":
        return "百分之" + decimal(token.rstrip("% ").strip())
    if kind == "money":
        amount = re.sub(r"[¥￥$\s,]", "", token)
        if token.startswith("$"):
            return decimal(_trim_zeros(amount)) + "美元"
        return yuan(amount)
    if kind == "grouped":
        digits = re.sub(r"[-\s]", "", token)
        if len(digits) >= 7:
            return digit_by_digit(digits, phone=True)
        # Short hyphenated pairs are ranges: 3-5 → 三至五.
        parts = re.split(r"[-\s]+", token)
        return "至".join(cardinal(int(p)) for p in parts)
    plain = token.replace(",", "")
    if after == "元" and "." in plain:
        plain = _trim_zeros(plain)  # 12,500.00元 → 一万两千五百元
    if "." not in plain and _is_identifier(plain, before, after):
        return digit_by_digit(plain, phone=not after.startswith("年"))
    if plain == "2" and after in _LIANG_BEFORE:
        return "两"
    return decimal(plain)


def _trim_zeros(amount: str) -> str:
    return amount.rstrip("0").rstrip(".") if "." in amount else amount


def yuan(amount: str) -> str:
    """'12500.00' → 一万两千五百元, '12.05' → 十二元零五分: 元, 角 and 分 as tellers say them."""
    whole, _, frac = amount.partition(".")
    frac = (frac + "00")[:2]
    value, jiao, fen = int(whole or "0"), int(frac[0]), int(frac[1])
    out = cardinal(value) + "元" if value or not (jiao or fen) else ""
    if jiao:
        out += _DIGITS[jiao] + "角"
    if fen:
        out += ("零" if out and not jiao else "") + _DIGITS[fen] + "分"
    return out


def _is_identifier(digits: str, before: str, after: str) -> bool:
    if after.startswith("年") and len(digits) == 4:
        return True  # years: 二零二四年
    if len(digits) >= 7 or (len(digits) >= 2 and digits.startswith("0")):
        return True
    if len(digits) == 5 and digits.startswith("95"):
        return True  # bank hotlines (95588, 95533…) are said digit by digit
    return len(digits) >= 3 and bool(_ID_CONTEXT.search(before[-8:]))


def digit_by_digit(digits: str, *, phone: bool = True) -> str:
    """'95588' → 九五五八八; in phone numbers 1 is said 幺 so it is not heard as 七."""
    table = "零幺二三四五六七八九" if phone else _DIGITS
    return "".join(table[int(d)] for d in digits if d.isdigit())


def decimal(token: str) -> str:
    """'3.05' → 三点零五; the integer part is read as an amount."""
    if "." in token:
        whole, frac = token.split(".", 1)
        return cardinal(int(whole or "0")) + "点" + "".join(_DIGITS[int(d)] for d in frac)
    return cardinal(int(token))


def cardinal(n: int) -> str:
    """Read a non-negative integer as an amount: 10005 → 一万零五, 200 → 两百."""
    if n == 0:
        return "零"
    if n >= 10**16:
        return digit_by_digit(str(n), phone=False)
    groups: list[int] = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out = ""
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or group < 1000):
            out += "零"
        out += _four_digits(group) + _BIG_UNITS[index]
        zero_pending = False
    if out.startswith("一十"):
        out = out[1:]  # 十五, not 一十五
    if out.startswith("二") and len(out) > 1 and out[1] in "百千万亿":
        out = "两" + out[1:]
    return out


def _four_digits(group: int) -> str:
    out = ""
    zero_pending = False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            zero_pending = bool(out)
            continue
        if zero_pending:
            out += "零"
            zero_pending = False
        # 两千 is how amounts are said (一万两千五百); 二百 stays, as in 一千二百.
        out += ("两" if digit == 2 and position == 3 else _DIGITS[digit]) + _SMALL_UNITS[position]
    return out
