"""Speaking rate, pauses, repeatable Mandarin synthesis, normalised English with written word timings."""

from __future__ import annotations

import numpy as np

from avatar_bridge import lipsync
from voices import load_voice
from voices.prosody import pause_after, silence

SENTENCE_EN = "Please visit any branch with your identity card."
SENTENCE_ZH = "请携带身份证到任一网点办理。"


def _invariants(seg):
    assert abs(sum(p.duration_ms for p in seg.phones) - seg.duration_ms) < 1
    assert abs(lipsync(seg.phones, seg.words, seg.alphabet).duration_ms - seg.duration_ms) < 1


def test_piper_rate(piper_engine, voice_cache_dir):
    # VITS samples its durations, so an unseeded pair varies by ±5 % (measured 2554–2705 ms
    # at rate 1, 2914–3019 ms at 0.8): compare two engines drawing the same noise.
    slow = load_voice("joe", voice_cache_dir, rate=0.8, seed=7)
    (normal,) = load_voice("joe", voice_cache_dir, seed=7).synthesize(SENTENCE_EN)
    (longer,) = slow.synthesize(SENTENCE_EN)
    assert longer.duration_ms > 1.1 * normal.duration_ms
    _invariants(longer)
    assert slow.fingerprint != piper_engine.fingerprint


def test_mandarin_rate_keeps_the_duration_invariant(zh_engine, voice_cache_dir):
    fast = load_voice("baker", voice_cache_dir, rate=1.25)
    (normal,) = zh_engine.synthesize(SENTENCE_ZH)
    (quick,) = fast.synthesize(SENTENCE_ZH)
    assert quick.duration_ms < 0.9 * normal.duration_ms
    _invariants(quick)


def test_mandarin_is_repeatable_whatever_came_before(zh_engine):
    (first,) = zh_engine.synthesize(SENTENCE_ZH)
    list(zh_engine.synthesize("好的。"))
    list(zh_engine.synthesize(SENTENCE_ZH))  # same shape twice in a row as well
    (again,) = zh_engine.synthesize(SENTENCE_ZH)
    assert np.array_equal(first.audio, again.audio)


def test_silence_segment():
    seg = silence(600, 24000, "zh", "pinyin")
    assert seg.num_samples == 14400 and not seg.audio.any() and seg.words == []
    assert [(p.symbol, p.duration_ms) for p in seg.phones] == [("sil", 600.0)]
    assert [v.name for v in lipsync(seg.phones, seg.words, "pinyin").visemes] == ["sil"]


def test_pause_after_matches_the_engine(zh_engine, piper_engine):
    assert pause_after(zh_engine, 300).sample_rate == 24000 and pause_after(zh_engine).alphabet == "pinyin"
    assert pause_after(piper_engine, 300).sample_rate == 22050


def test_piper_speaks_normalised_text_but_shows_written_words(piper_engine):
    (seg,) = piper_engine.synthesize("Pay $1,200.50 by Nov 28.")
    assert [w.text for w in seg.words] == ["Pay", "$1,200.50", "by", "Nov 28"]
    amount = seg.words[1]
    assert amount.duration_ms > 1500  # "one thousand two hundred dollars and fifty cents"
    _invariants(seg)
