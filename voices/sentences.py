"""Split an answer into pieces small enough to synthesise one at a time.

Streaming TTS sends the first sentence while the rest is still being made, so the
customer hears the avatar sooner. A sentence that is very long is cut again at
commas: otherwise its first audio would wait for the whole sentence.
"""

from __future__ import annotations

import re

# Always end a sentence, whatever follows (both scripts).
_HARD_TERMINATORS = "。！？；!?;…"
# Closing marks that belong to the sentence they end, e.g. 他说：“好。”
_CLOSERS = "\"'”’）)」』】》]"
# Where an over-long sentence may be cut (kept on the left piece).
_SOFT_BREAKS = "，、,：:"

# A period after these never ends a sentence: they introduce what follows.
_TITLES = {"mr", "mrs", "ms", "dr", "prof", "st", "no", "vs", "approx", "dept", "tel", "fig"}
# A period after these ends a sentence only if a capitalised word follows.
_ABBREVIATIONS = {"e.g", "i.e", "etc", "a.m", "p.m", "inc", "ltd", "co", "u.s", "jr", "sr"}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# Default length limits (characters). A CJK character is about one syllable
# (~0.2 s of speech); English runs ~15 characters a second.
DEFAULT_MAX_CHARS = {"zh": 40, "en": 160}


def split_sentences(
    text: str,
    language: str | None = None,
    *,
    max_chars: int | None = None,
) -> list[str]:
    """Split `text` into sentences, then cut any longer than `max_chars` at commas.

    `language` only picks the default length limit ("zh" if the text contains CJK
    characters). Returned pieces are stripped and never empty; concatenated they
    hold every non-space character of `text` in order.
    """
    if language is None:
        language = "zh" if _CJK.search(text) else "en"
    limit = max_chars if max_chars is not None else DEFAULT_MAX_CHARS.get(language, 160)
    pieces: list[str] = []
    for sentence in _split_at_terminators(text):
        pieces.extend(_cut_long(sentence, limit))
    return pieces


def _split_at_terminators(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        end: int | None = None
        if ch in _HARD_TERMINATORS or ch == "\n":
            end = i + 1
            # Runs like "?!" or "……" stay together.
            while end < n and text[end] in _HARD_TERMINATORS:
                end += 1
        elif ch == "." and _period_ends_sentence(text, i):
            end = i + 1
            while end < n and text[end] == ".":
                end += 1
        if end is None:
            i += 1
            continue
        while end < n and text[end] in _CLOSERS:
            end += 1
        piece = text[start:end].strip()
        if piece and not _only_punctuation(piece):
            sentences.append(piece)
        elif piece and sentences:
            # Stray punctuation (e.g. a lone "。") belongs to the previous sentence.
            sentences[-1] += piece
        start = i = end
    tail = text[start:].strip()
    if tail:
        if _only_punctuation(tail) and sentences:
            sentences[-1] += tail
        else:
            sentences.append(tail)
    return sentences


def _period_ends_sentence(text: str, i: int) -> bool:
    n = len(text)
    nxt = text[i + 1] if i + 1 < n else ""
    # Decimals ("3.5"), domains ("bank.com"), "e.g" inside: no space after the period.
    if nxt and not nxt.isspace() and nxt not in _CLOSERS and nxt != ".":
        # Except when CJK text follows directly ("卡。" typed with an ASCII period).
        return bool(_CJK.match(nxt))
    word = _word_before(text, i)
    lower = word.lower()
    following = text[i + 1 :].lstrip(" \t\"'”’)")
    next_char = following[:1]
    if lower in _TITLES:
        return False
    # Single initials ("J. Smith") are names, not sentence ends.
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False
    if lower in _ABBREVIATIONS:
        return next_char.isupper() or next_char == "" or next_char == "\n"
    # A lowercase continuation means the period was not a full stop ("approx. two").
    return not next_char.islower()


def _word_before(text: str, i: int) -> str:
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] == "."):
        j -= 1
    return text[j:i]


def _only_punctuation(piece: str) -> bool:
    return not any(ch.isalnum() for ch in piece)


def _cut_long(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    clauses = _split_keep(sentence, _SOFT_BREAKS)
    pieces: list[str] = []
    current = ""
    for clause in clauses:
        if current and len(current) + len(clause) > limit:
            pieces.append(current.strip())
            current = ""
        current += clause
    if current.strip():
        pieces.append(current.strip())
    # A single clause may still be too long: cut it at spaces (English) or by
    # length (CJK has no spaces), never inside a word.
    out: list[str] = []
    for piece in pieces:
        out.extend(_cut_hard(piece, limit) if len(piece) > limit else [piece])
    return [p for p in out if p]


def _split_keep(sentence: str, breaks: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for i, ch in enumerate(sentence):
        # "1,200" is a number, not a clause break.
        if ch in breaks and not (
            ch in ",:" and 0 < i < len(sentence) - 1
            and sentence[i - 1].isdigit() and sentence[i + 1].isdigit()
        ):
            parts.append(sentence[start : i + 1])
            start = i + 1
    if start < len(sentence):
        parts.append(sentence[start:])
    return parts


def _cut_hard(piece: str, limit: int) -> list[str]:
    if " " in piece:
        out: list[str] = []
        current = ""
        for word in piece.split(" "):
            if current and len(current) + 1 + len(word) > limit:
                out.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
        if current:
            out.append(current)
        return out
    return [piece[k : k + limit] for k in range(0, len(piece), limit)]
