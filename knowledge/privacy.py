"""Personal data out of customer text before it is stored or logged.

Customers say their card number, ID number or phone number to a teller ("my card 6222 0212 3456
7890 was swallowed", "身份证号370202199001011234"); none of that may reach the audit log, the gaps
report, feedback or a log line. `mask_personal` replaces each with a typed placeholder, so a
question still reads (and groups in the gaps report) as what was asked:

| what | recognised as | becomes |
|---|---|---|
| mainland resident ID | 18 characters: 17 digits and a digit or X (15 digits: the old format) | `[ID]` |
| bank card | 12–19 digits, optionally in groups split by spaces or dashes | `[CARD]` |
| phone | a mainland mobile (1[3-9] + 9 digits, optionally +86/0086), or a landline with area code | `[PHONE]` |
| other long numbers | any other run of 6 or more digits (an account, a contract, a PIN said aloud), or 1–2 letters and 7–10 digits (a passport) | `[NUMBER]` |

Digits spoken in Chinese numerals (幺三九…, as a transcript may read them) count as digits when
there are 6 or more in a row (一个, 两年 are words). Shorter numbers are kept: an amount, a
term, a date reads the same after masking, and none identifies a person alone.

A question whose retention period has ended (knowledge/retention.py) reads as `PURGED`, a
placeholder like the ones above, wherever it was kept.
"""

from __future__ import annotations

import re

PURGED = "[purged]"

_ZH_DIGITS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")
_DIGITISH = re.compile(r"[0-9零〇一幺二两三四五六七八九]")
# A run of digits in groups, separated by at most one space or dash (how numbers are read out).
_RUN = re.compile(r"(?<![0-9零〇一幺二两三四五六七八九A-Za-z])"
                  r"(?:\+?86[ -]?|0086[ -]?)?"
                  r"[0-9零〇一幺二两三四五六七八九](?:[ -]?[0-9零〇一幺二两三四五六七八九])*[xX]?"
                  r"(?![0-9零〇一幺二两三四五六七八九A-Za-z])")
_MOBILE = re.compile(r"(?:\+?86|0086)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")
_ID = re.compile(r"\d{17}[\dX]|\d{15}")
_PASSPORT = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,2}\d{7,10}(?![A-Za-z0-9])")


def _classify(raw: str) -> str | None:
    digits = re.sub(r"[ -]", "", raw).translate(_ZH_DIGITS).upper()
    core = digits.lstrip("+")
    if _ID.fullmatch(core):
        return "[ID]"
    if _MOBILE.fullmatch(core) or _LANDLINE.fullmatch(core):
        return "[PHONE]"
    plain = core.rstrip("X")
    if 12 <= len(plain) <= 19 and plain.isdigit():
        return "[CARD]"
    if len(plain) >= 6 and plain.isdigit():
        return "[NUMBER]"
    return None


def mask_personal(text: str) -> str:
    """`text` with card, ID and phone numbers (and any other long number) replaced by placeholders."""
    if not _DIGITISH.search(text):
        return text

    def replace(match: re.Match[str]) -> str:
        raw = match.group(0)
        # Chinese numerals are also ordinary words (一个, 两年): only a run of 6+ is a number.
        if not any(c.isdigit() for c in raw) and len(raw) < 6:
            return raw
        return _classify(raw) or raw

    return _PASSPORT.sub("[NUMBER]", _RUN.sub(replace, text))
