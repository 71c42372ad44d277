"""Chinese script helpers for ASR output: Traditional → Simplified, CJK detection.

Whisper base writes Mandarin in Traditional characters unless it is prompted in Simplified, and
even a prompted transcript can slip back, so every Chinese transcript goes through ``to_simplified``.
"""

from __future__ import annotations

import re
import threading
from typing import Protocol

__all__ = ["contains_cjk", "to_simplified"]


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


_lock = threading.Lock()
_converter: _Converter | None = None

# OpenCC's t2s table maps 帳 to 帐, which mainland usage keeps for tents and curtains; money
# matters are written 账, and the knowledge base is written that way, so fix the banking words.
_ACCOUNT_WORDS = re.compile(
    r"帐(?=[户号单目本款务期面])|(?<=[转对记到入查结算还赊欠赖付销报])帐"
)

# CJK Unified Ideographs with extension A and the compatibility block: enough to tell that a
# transcript is Chinese text rather than Latin letters or punctuation.
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _get_converter() -> _Converter:
    # Loading the dictionaries takes ~10 ms; do it once per process, on first use.
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                from opencc import OpenCC

                _converter = OpenCC("t2s")
    return _converter


def to_simplified(text: str) -> str:
    """Return ``text`` in Simplified Chinese (mainland banking usage); other scripts pass through."""
    if not text or not _CJK.search(text):
        return text
    return _ACCOUNT_WORDS.sub("账", _get_converter().convert(text))


def contains_cjk(text: str) -> bool:
    """Whether ``text`` holds at least one Chinese character."""
    return _CJK.search(text) is not None
