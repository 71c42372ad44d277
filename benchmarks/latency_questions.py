"""The spoken questions of the voice-turn latency benchmark (`benchmarks/latency.py`)."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

RATE = 16_000
LEAD_S = 0.3                         # silence before the question
PAUSE_S = 0.7                        # pause between the clauses of a two-clause question
TRIM_THRESHOLD = 0.01                # |sample| above this (-40 dBFS) counts as speech when trimming

EN_QUESTION = re.compile(r"^(how|what|where|when|which|who|why|can|could|do|does|is|are|will|would|should|may)\b", re.IGNORECASE)
ZH_QUESTION = re.compile(r"(吗|呢|怎么|怎样|如何|什么|哪|多少|几|能不能|可不可以|是否|有没有|咋)")

# (first clause, second clause, language, expected entry): the first clause alone is not the question.
TWO_CLAUSE = [
    ("I lost my bank card yesterday,", "how do I report it?", "en", "lost-card"),
    ("我的银行卡昨天丢了，", "请问怎么挂失？", "zh", "lost-card"),
    ("I sent some money to my son this morning,", "how long does a transfer take?", "en", "transfer-arrival-time"),
    ("我上个月换了新的手机号，", "银行预留的手机号怎么改？", "zh", "change-phone-number"),
]
WARMUP = [("What are your opening hours?", "en"), ("你们几点开门？", "zh")]
WARMUP_ENTRIES = {"opening-hours"}


# ---------------------------------------------------------------------------------- questions

@dataclass
class Question:
    qid: str
    language: str
    text: str
    expected: str
    two_clause: bool
    audio: np.ndarray = field(repr=False, default=None)  # float32, 16 kHz, speech to the last sample

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE


def pick_questions(kb_path: Path, n: int, seed: int, exclude: set[str]) -> list[tuple[str, str, str]]:
    """n (language, text, entry id): distinct entries, alternating en/zh, phrased as questions."""
    entries = [json.loads(line) for line in kb_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries = [e for e in entries if "chitchat" not in e.get("tags", []) and e["id"] not in exclude]
    random.Random(seed).shuffle(entries)
    picked: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for i in range(n):
        lang = "en" if i % 2 == 0 else "zh"
        pattern = EN_QUESTION if lang == "en" else ZH_QUESTION
        for e in entries:
            if e["id"] in used:
                continue
            asks = [q for q in e["questions"].get(lang, []) if pattern.search(q)]
            if asks:
                used.add(e["id"])
                picked.append((lang, asks[0], e["id"]))
                break
        else:
            raise SystemExit(f"not enough distinct {lang} questions in {kb_path} for --n {n}")
    return picked


def with_mark(text: str, lang: str) -> str:
    if text.endswith(("?", "？", "。", ".", "，", ",")):
        return text
    return text + ("?" if lang == "en" else "？")


def to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    g = gcd(int(rate), RATE)
    return resample_poly(audio, RATE // g, int(rate) // g).astype(np.float32)


def synthesize_16k(services, text: str, lang: str) -> np.ndarray:
    engine = services.speaker.engines[lang]
    audio = np.concatenate([seg.audio.astype(np.float32) / 32768.0 for seg in engine.synthesize(text)])
    return to_16k(audio, engine.sample_rate)


def trim(audio: np.ndarray, lead: bool = True) -> np.ndarray:
    """Cut silence after the last sample above the threshold (and before the first, if `lead`)."""
    loud = np.flatnonzero(np.abs(audio) > TRIM_THRESHOLD)
    if len(loud) == 0:
        return audio
    return audio[(loud[0] if lead else 0): loud[-1] + 1]


def espeak_16k(text: str, lang: str) -> np.ndarray:
    """`text` spoken by espeak-ng (Debian package `espeak-ng`), 16 kHz float32."""
    import subprocess
    import tempfile

    import soundfile as sf

    with tempfile.NamedTemporaryFile(suffix=".wav") as wav:
        subprocess.run(["espeak-ng", "-v", "cmn" if lang == "zh" else "en-us", "-w", wav.name, text], check=True)
        audio, rate = sf.read(wav.name, dtype="float32")
    return to_16k(audio, rate)


def build_turn_end_questions(services, half: str) -> list[Question]:
    """The turn-end set (benchmarks/turn_end_set.py), `half` of it, each item spoken by the bundled
    voice of its language and by espeak-ng; questions with a pause count as two-clause ones."""
    from turn_end_set import pause_of, pick

    voices = {"voice": lambda text, lang: synthesize_16k(services, text, lang), "espeak": espeak_16k}
    questions: list[Question] = []
    paused, complete = pick(half)
    for name, speak in voices.items():
        for i, (first, second, lang, entry, kind) in paused:
            gap = pause_of(i)
            audio = np.concatenate([trim(speak(first, lang)), np.zeros(int(gap * RATE), np.float32),
                                    trim(speak(second, lang))])
            sep = " " if lang == "en" else ""
            questions.append(Question(f"p{i:02d}-{name}", lang, f"{first}{sep}[{gap:g}s {kind}]{sep}{second}",
                                      entry, True, audio))
        for i, (text, lang, entry) in complete:
            questions.append(Question(f"c{i:02d}-{name}", lang, text, entry, False, trim(speak(text, lang))))
    return questions


def build_questions(services, n: int, seed: int, two_clause: int) -> list[Question]:
    from knowledge import demo_kb_path

    questions: list[Question] = []
    exclude = WARMUP_ENTRIES | {t[3] for t in TWO_CLAUSE[:two_clause]}
    for i, (lang, text, entry) in enumerate(pick_questions(Path(demo_kb_path()), n, seed, exclude)):
        text = with_mark(text, lang)
        questions.append(Question(f"q{i + 1:02d}", lang, text, entry, False, trim(synthesize_16k(services, text, lang))))
    for i, (first, second, lang, entry) in enumerate(TWO_CLAUSE[:two_clause]):
        a = trim(synthesize_16k(services, first, lang))
        b = trim(synthesize_16k(services, second, lang))
        audio = np.concatenate([a, np.zeros(int(PAUSE_S * RATE), np.float32), b])
        sep = " " if lang == "en" else ""
        questions.append(Question(f"t{i + 1:02d}", lang, f"{first}{sep}[{PAUSE_S:g}s]{sep}{second}", entry, True, audio))
    return questions
