"""Domain vocabulary of a knowledge base, for prompting the speech recogniser.

Whisper is steered by its initial prompt: words in the prompt are more likely to be
transcribed as written there (余额 rather than 鱼鹅), and a Simplified-Chinese prompt
keeps the output in Simplified characters. The useful words are those the knowledge
base uses often *and* general Chinese uses rarely, so common words are weighted down
by their frequency in jieba's general dictionary (a TF-IDF against everyday language).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable

from .entry import Entry
from .lexical import _EN_STOPWORDS

# jieba dictionary frequency above which a word is everyday Chinese (可以 ≈ 71k,
# 需要 ≈ 27k; banking words such as 办理 ≈ 2k, 余额 ≈ 540 stay below), and below
# which an "entry" is segmentation debris rather than a word (能取 = 3, 挂失 = 16).
_ZH_COMMON = 5000
_ZH_RARE = 10
_HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
# Words that are frequent in any set of customer questions but say nothing about banking.
_EN_GENERIC = frozenset("""
how what where when which who why does want need like get got about any some all more
into than then them they their have has had not don't can't isn't one two make made
use using used take back still also very much many way go going come after before
would could should please help tell know there's thing things time
didn't doesn't don't give see work new change available
""".split())


def _zh_words(texts: Iterable[str]) -> set[str]:
    import jieba  # lazy: its dictionary takes about a second to load

    jieba.setLogLevel(logging.WARNING)
    words: set[str] = set()
    for text in texts:
        words.update(w for w in jieba.lcut(text) if _HAN_WORD.fullmatch(w))
    return words


def _zh_rarity() -> tuple[dict[str, int], int]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ, jieba.dt.total


def _en_words(texts: Iterable[str]) -> set[str]:
    words: set[str] = set()
    for text in texts:
        for pos, w in enumerate(_EN_WORD.findall(text)):
            low = w.lower()
            if low in _EN_STOPWORDS or low in _EN_GENERIC:
                continue
            # Capitals after the first word mark names and acronyms (Qingdao,
            # SWIFT, UnionPay), which are exactly what a recogniser misspells.
            words.add(w if pos > 0 and w[0].isupper() else low)
    return words


def prompt_terms(entries: Iterable[Entry], lang: str, max_chars: int = 200) -> str:
    """The most characteristic words of `entries` in `lang`, joined, at most `max_chars`.

    Only example questions are read: the prompt should hold the words customers
    say, not the boilerplate of approved answers ("请以…为准"). A word counts once
    per entry. Chinese words are weighted by rarity in general Chinese and kept only
    if jieba's dictionary knows them and they are not everyday words (frequency
    between `_ZH_RARE` and `_ZH_COMMON`), which drops both 怎么/可以 and
    segmentation debris (哪办, 能取).
    """
    df: Counter[str] = Counter()
    for e in entries:
        texts = e.questions.get(lang, ())
        if texts:
            df.update(_zh_words(texts) if lang == "zh" else _en_words(texts))
    if lang == "zh":
        freq, total = _zh_rarity()
        # Dictionary words only, neither everyday nor debris (see _ZH_COMMON).
        score = {w: math.log1p(n) * math.log(total / (freq[w] + 1))
                 for w, n in df.items() if _ZH_RARE <= freq.get(w, 0) < _ZH_COMMON}
        # An enumeration comma: a prompt full of "，" makes Whisper base emit "，" itself,
        # and its byte-level tokens then slip into stray full-width letters (measured: 丢了Ｇ怎么).
        sep = "、"
    else:
        score = {w: float(n) for w, n in df.items() if n >= 2}
        sep = ", "
    ranked = sorted(score, key=lambda w: (-score[w], w))
    out: list[str] = []
    length = 0
    for word in ranked:
        extra = len(word) + (len(sep) if out else 0)
        if length + extra > max_chars:
            break
        out.append(word)
        length += extra
    return sep.join(out)
