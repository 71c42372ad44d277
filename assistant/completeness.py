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
# Negated auxiliaries ("isn't", "don't") count as the auxiliary: the apostrophe ends the word for
# \b, but "isn" does not, so they are listed.
_QUESTION_EN = re.compile(
    r"^(how|what|where|when|which|who|whom|whose|why|can|could|do|does|did|is|are|was|were|will|would|"
    r"should|shall|may|might|have|has|am|(is|are|was|were|do|does|did|wo|would|should|could|have|has)n't)\b",
    re.I,
)
# 几 asks "how many" except in 好几/十几/这几/那几/几乎 ("several", "these few", "almost"): "密码输错了
# 好几次" is a statement (the one half-answer on the turn-end set's held-out half, 2026-12-03).
# 多久/多长/多大/多远/多高 ask "how long/big/far/high", 为什么/为啥 "why", 谁 "who", 何时 "when", and
# an A-not-A verb (收不收, 用不用, 需不需要, 行不行) asks yes or no, like the listed 能不能.
_QUESTION_ZH = re.compile(r"(吗|呢|么|嘛)$|怎么|怎样|如何|什么|哪|多少|(?<![好十这那])几(?!乎)|可以吗|"
                          r"是否|能否|多久|多长|多大|多远|多高|为什么|为啥|谁|何时|咋|"
                          r"(?![不没])(?P<verb>[\u4e00-\u9fff])[不没](?P=verb)")
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
