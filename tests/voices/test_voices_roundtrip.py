"""Round trip: synthesise, transcribe with the bundled Whisper base, compare.

Measured here (Whisper base int8, beam 1, language forced): English CER 0.0
on these sentences (0.03 on a wider set: "nine" → "mine"); Mandarin CER 0.04
on these three (0.10 on a wider set of six; Whisper's errors are homophones
such as 拨打 → 播打, 客服 → 科服, 余额 → 娱乐). The bounds leave room for the
dropout noise the Mandarin model keeps at inference.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from voices.normalize_zh import normalize

EN_SENTENCES = [
    "Your card has been blocked.",
    "Please visit any branch with your identity card.",
    "You can check your balance in the mobile banking app.",
]
ZH_SENTENCES = [
    "您好，请问有什么可以帮您？",
    "我们的营业时间是早上九点。",
    "如果您的银行卡丢失，请立即拨打客服热线挂失。",
]
ZH_PROMPT = "以下是普通话的句子，内容与银行业务有关。"
MAX_CER = {"en": 0.10, "zh": 0.20}
MAX_SENTENCE_CER = 0.40


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        previous = current
    return previous[-1]


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    samples = audio.astype(np.float32) / 32768.0
    try:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(sample_rate, 16000)
        return resample_poly(samples, 16000 // g, sample_rate // g).astype(np.float32)
    except ImportError:  # scipy is optional: linear interpolation is enough for ASR
        n_out = round(len(samples) * 16000 / sample_rate)
        return np.interp(np.linspace(0, len(samples) - 1, n_out), np.arange(len(samples)), samples).astype(np.float32)


def normalise_en(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", "", text.lower())).strip()


def normalise_zh(text: str) -> str:
    try:
        import opencc

        text = opencc.OpenCC("t2s").convert(text)
    except ImportError:
        pass
    # Whisper writes 九点 as "9点": read digits back the way they were spoken.
    return re.sub(r"[^\u4e00-\u9fff]", "", normalize(text))


@pytest.mark.parametrize(
    "language,sentences,engine_fixture",
    [("en", EN_SENTENCES, "piper_engine"), ("zh", ZH_SENTENCES, "zh_engine")],
)
def test_whisper_understands_the_voice(language, sentences, engine_fixture, request, whisper_model):
    engine = request.getfixturevalue(engine_fixture)
    norm = normalise_en if language == "en" else normalise_zh
    errors = total = 0
    report = []
    for sentence in sentences:
        (segment,) = engine.synthesize(sentence)
        heard = _hear(whisper_model, segment.audio, segment.sample_rate, language)
        reference, hypothesis = norm(sentence), norm(heard)
        distance = edit_distance(reference, hypothesis)
        report.append(f"{distance / len(reference):.2f} {sentence!r} -> {heard!r}")
        assert distance / len(reference) <= MAX_SENTENCE_CER, "\n".join(report)
        errors += distance
        total += len(reference)
    cer = errors / total
    print(f"\n{language} CER {cer:.3f}\n" + "\n".join(report))
    assert cer <= MAX_CER[language], "\n".join(report)


# --- the demo knowledge base's own answers ----------------------------------

KB_SAMPLE = 4  # entries per language: every n-th entry of the file, a fixed spread of topics
# Measured (Whisper base int8, beam 1; the Mandarin voice is deterministic since its
# dropout is seeded): en CER 0.020, zh CER 0.173 on this sample (Whisper's homophones:
# 分期 → 分器, 柜台 → 归台). The bounds leave room for Whisper/CPU variation, yet a
# wrong sample rate, garbled text or a broken voice gives CER ≥ 0.5.
MAX_KB_CER = {"en": 0.08, "zh": 0.30}


def _kb_answers(language: str) -> list[str]:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "knowledge" / "demo_kb.jsonl"
    if not path.is_file():
        pytest.skip("knowledge/demo_kb.jsonl is not in this checkout")
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(1, len(entries) // KB_SAMPLE)
    return [e["answer"][language] for e in entries[::step][:KB_SAMPLE]]


@pytest.mark.parametrize("language,engine_fixture", [("en", "piper_engine"), ("zh", "zh_engine")])
def test_whisper_understands_the_demo_answers(language, engine_fixture, request, whisper_model):
    engine = request.getfixturevalue(engine_fixture)
    norm = normalise_en if language == "en" else normalise_zh
    errors = total = 0
    report = []
    for answer in _kb_answers(language):
        segments = list(engine.synthesize(answer))
        audio = np.concatenate([s.audio for s in segments])
        heard = _hear(whisper_model, audio, segments[0].sample_rate, language)
        # Compare what was meant to be said: digits and symbols as the normaliser reads them.
        reference, hypothesis = norm(_spoken_reference(answer, language)), norm(heard)
        distance = edit_distance(reference, hypothesis)
        report.append(f"{distance / len(reference):.2f} {answer!r} -> {heard!r}")
        errors += distance
        total += len(reference)
    cer = errors / total
    print(f"\nknowledge answers, {language} CER {cer:.3f}\n" + "\n".join(report))
    assert cer <= MAX_KB_CER[language], "\n".join(report)


def _hear(whisper_model, audio: np.ndarray, rate: int, language: str) -> str:
    """What the bundled Whisper hears in the voice's audio: greedy, no VAD, no carried context."""
    parts, _ = whisper_model.transcribe(
        to_16k(audio, rate), language=language, beam_size=1, vad_filter=False,
        condition_on_previous_text=False, initial_prompt=ZH_PROMPT if language == "zh" else None,
    )
    return "".join(p.text for p in parts)


def _spoken_reference(text: str, language: str) -> str:
    if language == "zh":
        return text  # normalise_zh already writes numbers out
    from voices.normalize_en import normalize as normalize_en

    return normalize_en(text)
