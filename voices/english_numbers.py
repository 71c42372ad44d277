"""English number words: cardinals, ordinals, decimals, years, digit strings.

Kept apart from the token rules in `normalize_en` so both stay short; plain
integers only, since every caller has already parsed the written form.
"""

from __future__ import annotations

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}
DIGIT_WORDS = _ONES[:10]


def _below_thousand(n: int) -> str:
    parts: list[str] = []
    if n >= 100:
        parts.append(f"{_ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        parts.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not parts:
        parts.append(_ONES[n])
    return " ".join(parts)


def cardinal(n: int) -> str:
    """1200 → 'one thousand two hundred' (no 'and': US style, as Piper's voice is US)."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n >= 10**15:
        return digits(str(n))
    parts: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            parts.append(f"{_below_thousand(n // value)} {name}")
            n %= value
    if n or not parts:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def ordinal(n: int) -> str:
    """28 → 'twenty-eighth'."""
    words = cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def decimal(token: str) -> str:
    """'3.05' → 'three point zero five'; commas are thousands separators."""
    whole, _, frac = token.replace(",", "").partition(".")
    out = cardinal(int(whole or "0"))
    if frac:
        out += " point " + digits(frac)
    return out


def digits(text: str) -> str:
    """'400' → 'four zero zero': identifiers are read one digit at a time."""
    return " ".join(DIGIT_WORDS[int(d)] for d in text if d.isdigit())


def year(n: int) -> str:
    """2026 → 'twenty twenty-six', 2005 → 'two thousand five', 1990 → 'nineteen ninety'."""
    if 2000 <= n < 2010 or n % 1000 == 0 or not 1100 <= n < 2100:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    return f"{cardinal(high)} {'oh ' if low < 10 else ''}{cardinal(low)}"
