"""English voice: real Piper synthesis, checked against the timing contract."""

import numpy as np

from voices import SpeechSegment, TTSEngine


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))


def assert_timing_contract(seg: SpeechSegment) -> None:
    assert seg.audio.dtype == np.int16 and seg.audio.ndim == 1
    total = sum(p.duration_ms for p in seg.phones)
    assert abs(total - seg.duration_ms) < 1.0
    position = 0.0
    for phone in seg.phones:  # contiguous from 0
        assert abs(phone.start_ms - position) < 1e-6
        assert phone.duration_ms >= 0
        position += phone.duration_ms
    end = 0.0
    for word in seg.words:  # ordered, non-overlapping, inside the audio
        assert word.start_ms >= end - 1e-6
        assert word.duration_ms > 0
        end = word.start_ms + word.duration_ms
    assert end <= seg.duration_ms + 1e-6


def test_engine_matches_protocol(piper_engine):
    assert isinstance(piper_engine, TTSEngine)
    assert piper_engine.language == "en"
    assert piper_engine.sample_rate == 22050


def test_two_sentences_two_segments_with_exact_timings(piper_engine):
    segments = list(piper_engine.synthesize("Your card has been blocked. Please visit any branch."))
    assert [s.text for s in segments] == ["Your card has been blocked.", "Please visit any branch."]
    for seg in segments:
        assert seg.sample_rate == 22050 and seg.language == "en" and seg.alphabet == "ipa"
        assert_timing_contract(seg)
        # Piper's per-phoneme sample counts add up to the audio exactly.
        samples = sum(round(p.duration_ms * seg.sample_rate / 1000) for p in seg.phones)
        assert samples == len(seg.audio)
        assert rms(seg.audio) > 500, "audio is (nearly) silent"
    assert [w.text for w in segments[0].words] == ["Your", "card", "has", "been", "blocked"]
    assert [w.text for w in segments[1].words] == ["Please", "visit", "any", "branch"]
    symbols = [p.symbol for p in segments[0].phones]
    assert symbols[0] == "sil" and symbols[-1] == "sil"
    assert "k" in symbols and "ɑː" in symbols  # "card": stress folded away, length kept
    assert not any(s in ("ˈ", "ˌ", "^", "$", " ") for s in symbols)


def test_words_land_on_their_own_sounds(piper_engine):
    (seg,) = piper_engine.synthesize("It is one of the best of the year.")
    assert [w.text for w in seg.words] == ["It", "is", "one", "of", "the", "best", "of", "the", "year"]
    assert_timing_contract(seg)
    # espeak runs "of the" together (ʌvðə); both words still get time of their own.
    for word in seg.words:
        assert word.duration_ms >= 30


def test_numbers_and_abbreviations_keep_their_written_words(piper_engine):
    text = "Rates are 3.5% e.g. for loans of $1,200, call 400-820-8888 at the ATM."
    segments = list(piper_engine.synthesize(text))
    assert len(segments) == 1
    (seg,) = segments
    assert_timing_contract(seg)
    assert [w.text for w in seg.words] == [
        "Rates", "are", "3.5%", "e.g.", "for", "loans", "of", "$1,200", "call", "400-820-8888", "at", "the", "ATM",
    ]
    by_text = {w.text: w for w in seg.words}
    # Expanded numbers are long ("four hundred dash eight hundred twenty ...").
    assert by_text["400-820-8888"].duration_ms > 5 * by_text["at"].duration_ms


def test_nothing_to_say_yields_nothing(piper_engine):
    assert list(piper_engine.synthesize("")) == []
    assert list(piper_engine.synthesize("   ")) == []


def test_one_engine_serves_concurrent_sessions(piper_engine):
    import threading

    texts = ["Welcome to the bank.", "Please wait a moment.", "Your card is ready.", "Goodbye."]
    results: dict[int, list[SpeechSegment]] = {}

    def speak(i: int) -> None:
        results[i] = list(piper_engine.synthesize(texts[i]))

    threads = [threading.Thread(target=speak, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, text in enumerate(texts):
        (seg,) = results[i]
        assert seg.text == text
        assert_timing_contract(seg)
        assert " ".join(w.text for w in seg.words) == text.rstrip(".")
