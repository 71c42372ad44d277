"""English text normalisation for speech: say amounts, rates, dates, times and
identifiers the way a teller would, and never read a customer's card number aloud.

espeak-ng (Piper's phonemiser) reads "$1,200.50" and "3.5%" well enough, but not
"¥12,500.00" (it drops the yen sign), "400-000-0000" (as a subtraction), a card
number (in full), "9:00" or "ETC". Rules run in the order of `_TOKEN` so that the
more specific shape wins (a card before a phone number before a plain number).
`spoken(text)` returns the spoken text together with the written word each spoken
stretch came from, for word timings.
"""

from __future__ import annotations

import re

from voices import english_numbers as num
from voices.spoken_text import SpokenText

_MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]
_MONTH_RE = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_PREFIX_CURRENCY = r"US\$|HK\$|\$|¥|￥|€|£|RMB|CNY|USD|EUR|GBP|HKD"
_SUFFIX_CURRENCY = r"RMB|CNY|USD|EUR|GBP|HKD|yuan"
# (unit singular, plural, minor unit singular, plural)
_CURRENCIES: dict[str, tuple[str, str, str, str]] = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "US$": ("US dollar", "US dollars", "cent", "cents"),
    "USD": ("US dollar", "US dollars", "cent", "cents"),
    "HK$": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "HKD": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "¥": ("yuan", "yuan", "fen", "fen"),
    "￥": ("yuan", "yuan", "fen", "fen"),
    "RMB": ("yuan", "yuan", "fen", "fen"),
    "CNY": ("yuan", "yuan", "fen", "fen"),
    "yuan": ("yuan", "yuan", "fen", "fen"),
    "€": ("euro", "euros", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "GBP": ("pound", "pounds", "penny", "pence"),
}
# Said as a word, spelled (dotted without the final dot, which espeak spells
# letter by letter without ending the sentence), or expanded.
ABBREVIATIONS: dict[str, str] = {
    "APP": "app", "PIN": "pin", "ETC": "E.T.C", "VIP": "V.I.P", "OTP": "O.T.P", "ID": "I.D",
    "ATM": "A.T.M", "SMS": "S.M.S", "QR": "Q.R", "RMB": "R.M.B", "CNY": "C.N.Y", "USD": "U.S.D",
    "IC": "I.C", "POS": "P.O.S", "UK": "U.K", "US": "U.S", "OK": "okay",
    "etc.": "et cetera", "e.g.": "for example", "i.e.": "that is", "p.a.": "per year", "approx.": "approximately",
}
# After these, a number is an identifier and is read digit by digit.
_ID_CONTEXT = re.compile(
    r"(?:ending in|ends in|ending with|number|no\.|code|pin|extension|ext\.|account|tail|last four digits(?: are)?)\s*:?\s*$",
    re.IGNORECASE,
)
_YEAR_CONTEXT = re.compile(r"(?:\bin|\bsince|\byear|\bby|\bfrom|\buntil|\bbefore|\bafter)\s*$", re.IGNORECASE)
_DASHES = {"-", "–", "—", "~", "to"}

_TOKEN = re.compile(
    rf"""
    (?P<card>(?<![\d-])(?:\d{{4}}[ -]){{3}}\d{{4}}(?:[ -]?\d{{1,3}})?(?![\d-])|(?<!\d)\d{{16,19}}(?!\d))
  | (?P<iso>(?<![\d.])(?:19|20)\d\d(?P<sep>[-/.])\d{{1,2}}(?P=sep)\d{{1,2}}(?![\d.]))
  | (?P<md>\b{_MONTH_RE}\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+(?:19|20)\d\d\b)?)
  | (?P<dm>\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_RE}(?:,?\s+(?:19|20)\d\d\b)?)
  | (?P<time>(?<![\d:.])(?:[01]?\d|2[0-3]):[0-5]\d(?:\s?[ap]\.?m\b\.?)?(?![\d:]))
  | (?P<hour>(?<![\d:.])(?:1[0-2]|0?\d)\s?[ap]\.?m\b\.?)
  | (?P<phone>(?<![\d-])(?:\+86[ -]?)?\d{{3,4}}(?:[ -]\d{{3,4}}){{1,3}}(?![\d-])|(?<!\d)1[3-9]\d{{9}}(?!\d)|(?<![\d.])95\d{{3}}(?![\d.]))
  | (?P<money>(?:{_PREFIX_CURRENCY})\s?(?:{_AMOUNT})(?:\s?(?:thousand|million|billion)\b)?|(?:{_AMOUNT})\s?(?:{_SUFFIX_CURRENCY})\b)
  | (?P<percent>(?:{_AMOUNT})\s?%)
  | (?P<ordinal>\b\d+(?:st|nd|rd|th)\b)
  | (?P<number>(?<![\w.])(?:{_AMOUNT})(?![\w]))
  | (?P<abbr>\b(?:etc|e\.g|i\.e|p\.a|approx)\.|\b[A-Z]{{2,5}}\b)
    """,
    re.VERBOSE,
)


def normalize(text: str) -> str:
    """The text as it should be spoken."""
    return spoken(text).text


def spoken(text: str) -> SpokenText:
    out = SpokenText()
    pos = 0
    last_kind: str | None = None
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "number"
        token = m.group()
        if kind == "abbr" and token not in ABBREVIATIONS and token.rstrip(".") not in ABBREVIATIONS:
            continue  # an all-caps word we have no rule for: espeak reads it
        gap = text[pos : m.start()]
        if gap.strip() in _DASHES and last_kind in _RANGED and kind in _RANGED and pos > 0:
            gap = gap.replace(gap.strip(), "to") if gap.strip() != "to" else gap
            gap = f" {gap.strip()} "
        out.add_raw(gap)
        written, said = _read(kind, token, text[: m.start()])
        out.add_word(written, said)
        if token.endswith(".") and not text[m.end() :].strip():
            out.add_raw(".")  # "etc." ending the text also ends the sentence
        last_kind, pos = kind, m.end()
    out.add_raw(text[pos:])
    return out


_RANGED = {"number", "money", "percent", "time", "hour", "ordinal"}


def _read(kind: str, token: str, before: str) -> tuple[str, str]:
    """(written form to display, spoken form)."""
    if kind == "card":
        digits = re.sub(r"\D", "", token)
        # Never read a card number aloud: a kiosk may be in a public branch.
        return f"****{digits[-4:]}", f"ending in {num.digits(digits[-4:])}"
    if kind == "iso":
        y, mo, d = (int(p) for p in re.split(r"[-/.]", token))
        if 1 <= mo <= 12 and 1 <= d <= 31:
            return token, f"{_MONTHS[mo - 1].capitalize()} {num.ordinal(d)}, {num.year(y)}"
        return token, num.digits(token)
    if kind in ("md", "dm"):
        return token, _month_day(token)
    if kind in ("time", "hour"):
        return token, _time(token)
    if kind == "phone":
        groups = re.findall(r"\d+", token.replace("+86", ""))
        prefix = "plus eight six, " if token.startswith("+86") else ""
        return token, prefix + ", ".join(num.digits(g) for g in groups)
    if kind == "money":
        return token, _money(token)
    if kind == "percent":
        return token, num.decimal(token.rstrip("% ")) + " percent"
    if kind == "ordinal":
        return token, num.ordinal(int(token[:-2]))
    if kind == "abbr":
        return token, ABBREVIATIONS.get(token, ABBREVIATIONS.get(token.rstrip("."), token))
    return token, _number(token, before)


def _number(token: str, before: str) -> str:
    plain = token.replace(",", "")
    if "." not in plain:
        if _ID_CONTEXT.search(before[-24:]) or (len(plain) > 1 and plain.startswith("0")):
            return num.digits(plain)
        if len(plain) == 4 and "," not in token and plain[:2] in ("19", "20") and _YEAR_CONTEXT.search(before[-8:]):
            return num.year(int(plain))
    return num.decimal(plain)


def _money(token: str) -> str:
    m = re.match(rf"\s*({_PREFIX_CURRENCY})?\s?({_AMOUNT})\s?(thousand|million|billion)?\s?({_SUFFIX_CURRENCY})?", token)
    assert m is not None  # the token matched the same pattern
    code = m.group(1) or m.group(4) or "$"
    unit, units, minor, minors = _CURRENCIES[code]
    amount, scale = m.group(2).replace(",", ""), m.group(3)
    if scale:  # "$1.5 million" → one point five million dollars
        return f"{num.decimal(amount)} {scale} {units}"
    whole, _, frac = amount.partition(".")
    value = int(whole or "0")
    spoken = f"{num.cardinal(value)} {unit if value == 1 else units}"
    if frac and len(frac) <= 2:
        cents = int(frac.ljust(2, "0"))
        minor_words = f"{num.cardinal(cents)} {minor if cents == 1 else minors}"
        if cents and value == 0:
            spoken = minor_words  # "$0.50" is fifty cents, not zero dollars and…
        elif cents:
            spoken += f" and {minor_words}"
    elif frac:
        spoken = f"{num.decimal(amount)} {units}"
    return spoken


def _month_day(token: str) -> str:
    words = re.findall(r"[A-Za-z]+|\d+", token)
    month = next(w for w in words if w[:3].lower() in {m[:3] for m in _MONTHS})
    name = next(m for m in _MONTHS if m[:3] == month[:3].lower()).capitalize()
    numbers = [int(w) for w in words if w.isdigit()]
    spoken = f"{name} {num.ordinal(numbers[0])}"
    if len(numbers) > 1:
        spoken += f", {num.year(numbers[1])}"
    return spoken


def _time(token: str) -> str:
    m = re.match(r"(\d{1,2})(?::(\d\d))?\s?(?:([ap])\.?m\b\.?)?", token)
    assert m is not None
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if half is None:
        # Opening hours are written on a 24-hour clock here; say them on a 12-hour one.
        half = "a" if hour < 12 else "p"
        hour = hour - 12 if hour > 12 else hour
    hour = 12 if hour == 0 else hour
    minutes = "" if minute == 0 else f" {'oh ' if minute < 10 else ''}{num.cardinal(minute)}"
    return f"{num.cardinal(hour)}{minutes} {half}.m."
