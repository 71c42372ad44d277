"""What never reaches a customer as a transcript: near-silent audio (kept from the model) and
Whisper's silence hallucinations (dropped after it). Pure functions, shared by every engine."""

from __future__ import annotations

import difflib
import math
import re

import numpy as np

from assistant.chinese_script import to_simplified

SAMPLE_RATE = 16_000

# Phrases Whisper emits on silence or noise, learnt from subtitled video. Matched against the
# whole transcript after Simplified conversion, lower-casing and dropping spaces and punctuation,
# so a customer who says one of these words inside a real question is never cut.
HALLUCINATION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"(中文)?字幕.*",
        r".*请不吝点赞.*",
        r"请?(点赞|订阅|转发|打赏|关注){2,}.*",
        r"(谢谢|感谢)(大家|您的|你的)?(观看|收看|收听)(本期视频)?",
        r"优优独播剧场.*",
        r"yoyotelevisionseriesexclusive",
        r"明镜与点点栏目",
        r"本(视频|节目)由.*(提供|赞助|制作)",
        r"thanks?(you)?(very|so)?(much)?forwatching.*",
        r"subtitles?(by|created|provided).*",
        r".*amaraorg.*",
        r"(please)?(likeand)?subscribe(to(my|our|the)channel)?",
    )
)
_NOT_CONTENT = re.compile(r"[\s\W_]+")


def is_hallucination(text: str) -> bool:
    """Whether ``text`` as a whole is a known Whisper silence hallucination."""
    key = _NOT_CONTENT.sub("", to_simplified(text)).lower()
    return bool(key) and any(p.fullmatch(key) for p in HALLUCINATION_PATTERNS)


def echoes_prompt(text: str, prompt: str, *, min_overlap: float = 0.6) -> bool:
    """Whether ``text`` is mostly copied from ``prompt``.

    On noise, a prompted Whisper tends to write its prompt back (measured: the default Chinese
    prompt came back almost whole on -45 dBFS white noise). A customer may well say words of the
    prompt, so callers combine this with a high no-speech probability.
    """
    out = _NOT_CONTENT.sub("", text).lower()
    ref = _NOT_CONTENT.sub("", prompt).lower()
    if not out or not ref:
        return False
    blocks = difflib.SequenceMatcher(None, out, ref, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) >= min_overlap * len(out)


def loudest_frame_dbfs(audio: np.ndarray, frame_ms: float = 30.0) -> float:
    """RMS level of the loudest ``frame_ms`` frame, in dBFS (full scale = 1.0; -inf for silence).

    The loudest frame rather than the whole clip: an utterance with long pauses is quiet on
    average, and rather than the peak sample: one click must not let a silent clip through.
    """
    frame = max(1, int(SAMPLE_RATE * frame_ms / 1000))
    n = len(audio) // frame
    frames = audio[: n * frame].reshape(n, frame) if n else audio.reshape(1, -1)
    if frames.size == 0:
        return -math.inf
    power = float(np.max(np.einsum("ij,ij->i", frames, frames, dtype=np.float64))) / frames.shape[1]
    return 10.0 * math.log10(power) if power > 0 else -math.inf
