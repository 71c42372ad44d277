"""Explainer scripts (for `digital-teller render`): parsing and WebVTT subtitles.

Segments become one audio track with its lip-sync in `tracks.py`, which `say`, `render` and
`POST /v1/tts` share.

Markdown scripts: paragraphs are separated by blank lines; `#` headings are spoken
(an explainer's section title is part of what the viewer hears) and the first one
is the title; inline markup (`**`, `*`, backticks, links, list and quote markers)
is dropped. JSON scripts: {"title", "language", "paragraphs": [...]}; the title is
metadata only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

_CJK = re.compile(r"[\u3400-\u9fff]")
_INLINE = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: keep the text
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])[*_](\S(?:.*?\S)?)[*_](?![\w*])"), r"\1"),
]
_LINE_MARKERS = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|>\s?)")


@dataclass(frozen=True)
class Script:
    title: str
    language: str  # "zh" | "en"
    paragraphs: list[str]


def detect_language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def parse_script(source: str, *, json_format: bool, language: str | None = None) -> Script:
    """A Markdown or JSON explainer; `language` overrides the script's own."""
    if json_format:
        data = json.loads(source)
        if not isinstance(data, dict) or not isinstance(data.get("paragraphs"), list):
            raise ValueError('a JSON script is an object with a "paragraphs" list')
        paragraphs = [str(p).strip() for p in data["paragraphs"] if str(p).strip()]
        title = str(data.get("title", ""))
        lang = language or data.get("language") or detect_language(" ".join(paragraphs))
    else:
        title, paragraphs = "", []
        for block in re.split(r"\n\s*\n", source.replace("\r\n", "\n")):
            lines = [_LINE_MARKERS.sub("", ln).strip() for ln in block.strip().splitlines()]
            lines = [ln for ln in lines if ln]
            if not lines:
                continue
            if lines[0].startswith("#"):
                heading = lines[0].lstrip("#").strip()
                title = title or heading
                paragraphs.append(_inline(heading))
                lines = lines[1:]
            if lines:
                paragraphs.append(_inline(" ".join(lines)))
        paragraphs = [p for p in paragraphs if p]
        lang = language or detect_language(" ".join(paragraphs))
    if lang not in ("zh", "en"):
        raise ValueError(f"unsupported language {lang!r}; expected zh or en")
    if not paragraphs:
        raise ValueError("the script has nothing to say")
    return Script(title=title, language=lang, paragraphs=paragraphs)


def _inline(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def _vtt_time(ms: float) -> str:
    total = round(ms)
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def webvtt(cues: Sequence[tuple[float, float, str]]) -> str:
    lines = ["WEBVTT", ""]
    for n, (start, end, text) in enumerate(cues, 1):
        lines += [str(n), f"{_vtt_time(start)} --> {_vtt_time(max(end, start + 1))}", text.replace("-->", "->"), ""]
    return "\n".join(lines)
