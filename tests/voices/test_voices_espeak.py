"""espeak-ng fallback voices: timings from phoneme events, IPA the viseme tables read."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from avatar_bridge import lipsync, unknown_symbols
from voices import available_voices, load_voice


@pytest.fixture(scope="module")
def espeak_en():
    return load_voice("espeak-en")


@pytest.fixture(scope="module")
def espeak_zh():
    return load_voice("espeak-zh")


def test_registered_in_the_catalogue():
    assert "espeak-en" in {v.name for v in available_voices("en")}
    assert "espeak-zh" in {v.name for v in available_voices("zh")}


@pytest.mark.parametrize(
    "fixture,text",
    [("espeak_en", "Hello baby, pay $1,200.50 by Nov 28. Call 400-000-0000."),
     ("espeak_zh", "您好，爸爸的余额是¥12,500.00。请拨打95588，使用ATM机。")],
)
def test_phones_cover_the_audio_and_words_are_written_forms(fixture, text, request):
    engine = request.getfixturevalue(fixture)
    segments = list(engine.synthesize(text))
    assert len(segments) == 2
    for seg in segments:
        assert seg.sample_rate == 22050 and seg.audio.dtype == np.int16
        assert np.abs(seg.audio).max() > 1000
        assert seg.phones[0].start_ms == 0
        assert abs(sum(p.duration_ms for p in seg.phones) - seg.duration_ms) < 1
        assert seg.phones[-1].symbol == "sil"  # trailing silence is sil
        assert not unknown_symbols(seg.phones, "ipa")
        end = 0.0
        for word in seg.words:
            assert word.start_ms >= end - 1e-6 and word.duration_ms > 0
            end = word.end_ms
        assert end <= seg.duration_ms + 1e-6
    shown = [w.text for seg in segments for w in seg.words]
    assert ("$1,200.50" in shown) if fixture == "espeak_en" else ("95588" in shown and "ATM" in shown)


@pytest.mark.parametrize("fixture,text,word", [("espeak_en", "The baby sleeps.", "baby"), ("espeak_zh", "爸爸好。", "爸爸")])
def test_bilabial_word_gives_pp_inside_it(fixture, text, word, request):
    (seg,) = request.getfixturevalue(fixture).synthesize(text)
    (timing,) = [w for w in seg.words if w.text == word]
    track = lipsync(seg.phones, seg.words, "ipa")
    pp = [v for v in track.visemes if v.name == "PP"]
    assert pp and timing.start_ms - 1 <= pp[0].start_ms < timing.end_ms
    assert abs(track.duration_ms - seg.duration_ms) < 1


def test_concurrent_calls_are_serialised(espeak_en, espeak_zh):
    expected = {lang: next(e.synthesize(t)).audio for lang, e, t in
                (("en", espeak_en, "Your card is blocked."), ("zh", espeak_zh, "您的卡已冻结。"))}
    results: dict[str, list] = {"en": [], "zh": []}

    def work(lang, engine, text):
        for _ in range(3):
            results[lang].append(next(engine.synthesize(text)))

    threads = [threading.Thread(target=work, args=a) for a in
               (("en", espeak_en, "Your card is blocked."), ("zh", espeak_zh, "您的卡已冻结。"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for lang, audios in results.items():
        assert len(audios) == 3
        for seg in audios:
            # Interleaved calls from two threads still give each its own exact audio.
            assert np.array_equal(seg.audio, expected[lang])
            assert abs(sum(p.duration_ms for p in seg.phones) - seg.duration_ms) < 1


def test_rate_changes_the_length(espeak_en):
    fast = load_voice("espeak-en", rate=1.5)
    (normal,) = espeak_en.synthesize("Please visit any branch with your identity card.")
    (quick,) = fast.synthesize("Please visit any branch with your identity card.")
    assert quick.duration_ms < 0.8 * normal.duration_ms
    assert fast.fingerprint != espeak_en.fingerprint


@pytest.mark.parametrize("fixture,text", [("espeak_en", "Your card is blocked."), ("espeak_zh", "您的卡已冻结。")])
def test_same_text_same_samples_whatever_was_said_before(fixture, text, request):
    engine = request.getfixturevalue(fixture)
    assert engine.deterministic  # the wheel's libespeak-ng keeps its symbol table
    (first,) = engine.synthesize(text)
    list(engine.synthesize("Something quite different, said at length to move the pitch flutter on."))
    list(engine.synthesize("您好，请问还有什么可以帮您？"))
    (again,) = engine.synthesize(text)
    assert np.array_equal(first.audio, again.audio)
    assert [(p.symbol, p.start_ms) for p in first.phones] == [(p.symbol, p.start_ms) for p in again.phones]
