"""Does a transcript read like a finished question? Used only to commit *early*.

A wrong "no" costs at most the remaining wait up to the maximum silence; a wrong "yes" answers
half a question, so the test is deliberately strict: a question or request form, and no trailing
word that promises more ("and", "因为", a comma).
"""

from __future__ import annotations

import re

_TRAILING_EN = {
    "and", "or", "but", "so", "because", "if", "when", "then", "also", "the", "a", "an", "my", "to",
    "of", "for", "with", "um", "uh", "er", "like", "is", "can", "could", "what", "how", "i", "about",
}
_TRAILING_ZH = ("然后", "还有", "就是", "那个", "因为", "如果", "而且", "但是", "所以", "我想", "我要", "请问", "嗯", "呃", "和", "的话")
_QUESTION_EN = re.compile(
    r"\b(how|what|where|when|which|who|why|can|could|do|does|is|are|will|would|should|may|i want|i'd like|"
    r"i need|please|tell me|help)\b",
    re.I,
)
_QUESTION_ZH = re.compile(r"(吗|呢|么|怎么|怎样|如何|什么|哪|多少|几|能不能|可不可以|可以|是否|有没有|请|帮我|我想|我要|需要|办理|查询)")
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
    return text.endswith("?") or bool(_QUESTION_EN.search(core))
