"""Mandarin voice: real FastSpeech2 + MB-MelGAN synthesis on LiteRT."""

import threading

import numpy as np

from voices import TTSEngine

FRAME_MS = 12.5


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))


def assert_timing_contract(seg) -> None:
    assert seg.audio.dtype == np.int16 and seg.audio.ndim == 1
    # The vocoder emits exactly 300 samples per mel frame.
    assert len(seg.audio) % 300 == 0
    total = sum(p.duration_ms for p in seg.phones)
    assert abs(total - seg.duration_ms) < 1.0
    position = 0.0
    for phone in seg.phones:
        assert abs(phone.start_ms - position) < 1e-6
        assert phone.duration_ms > 0
        position += phone.duration_ms
    end = 0.0
    for word in seg.words:
        assert word.start_ms >= end - 1e-6
        assert word.duration_ms > 0
        end = word.start_ms + word.duration_ms
    assert end <= seg.duration_ms + 1e-6


def test_engine_matches_protocol(zh_engine):
    assert isinstance(zh_engine, TTSEngine)
    assert zh_engine.language == "zh"
    assert zh_engine.sample_rate == 24000


def test_greeting_segments_phones_and_words(zh_engine):
    segments = list(zh_engine.synthesize("您好，请问有什么可以帮您？我们的营业时间是早上九点。"))
    assert [s.text for s in segments] == ["您好，请问有什么可以帮您？", "我们的营业时间是早上九点。"]
    for seg in segments:
        assert seg.sample_rate == 24000 and seg.language == "zh" and seg.alphabet == "pinyin"
        assert_timing_contract(seg)
        assert rms(seg.audio) > 300, "audio is (nearly) silent"
    first, second = segments
    symbols = [p.symbol for p in first.phones]
    assert symbols[:3] == ["sil", "n", "in2"]
    assert "ao3" in symbols and "sp" in symbols  # the comma is a pause
    assert "".join(w.text for w in first.words) == "您好请问有什么可以帮您"
    assert "".join(w.text for w in second.words) == "我们的营业时间是早上九点"
    assert all(len(w.text) == 1 for w in first.words + second.words)
    # Phones are pinyin initials/finals with tones, plus pauses.
    for p in first.phones + second.phones:
        assert p.symbol in ("sil", "sp") or p.symbol.isalpha() or p.symbol[-1] in "12345"


def test_digits_and_latin_letters_are_spoken_not_dropped(zh_engine):
    segments = list(zh_engine.synthesize("ATM机和APP都可以办理，利率3.5%，客服热线95588。"))
    words = [w.text for seg in segments for w in seg.words]
    for written in ("ATM", "APP", "3.5%", "95588"):
        assert written in words
    for seg in segments:
        assert_timing_contract(seg)
    by_text = {w.text: w for seg in segments for w in seg.words}
    # "九五五八八" takes about five syllables' time, more than one character's.
    assert by_text["95588"].duration_ms > 3 * by_text["机"].duration_ms


def test_nothing_speakable_yields_nothing(zh_engine):
    assert list(zh_engine.synthesize("")) == []
    assert list(zh_engine.synthesize("。。！")) == []
    assert list(zh_engine.synthesize("🙂")) == []


def test_single_character(zh_engine):
    (seg,) = zh_engine.synthesize("好。")
    assert_timing_contract(seg)
    assert [w.text for w in seg.words] == ["好"]


def test_one_engine_serves_concurrent_sessions(zh_engine):
    texts = ["您好，欢迎光临。", "请出示您的身份证。", "您的银行卡已经挂失。", "请稍等。"]
    results: dict[int, list] = {}
    errors: list[Exception] = []

    def speak(i: int) -> None:
        try:
            results[i] = list(zh_engine.synthesize(texts[i]))
        except Exception as exc:  # noqa: BLE001 - any failure is reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=speak, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, text in enumerate(texts):
        (seg,) = results[i]
        assert seg.text == text
        assert_timing_contract(seg)
        # Each session got its own sentence, not a neighbour's.
        assert "".join(w.text for w in seg.words) == "".join(ch for ch in text if ch not in "，。")


STREAMED = "您的银行卡已冻结。请携带本人身份证到任一网点办理解冻，您也可以随时拨打客服热线95588。"


def test_stream_pieces_join_into_exactly_the_synthesized_sentences(zh_engine):
    whole = list(zh_engine.synthesize(STREAMED))
    pieces = list(zh_engine.stream(STREAMED))
    assert len(pieces) > len(whole)  # the first sentence came in pieces
    # Sample-identical: the vocoder sees enough context either side of every cut.
    assert np.array_equal(np.concatenate([p.audio for p in pieces]), np.concatenate([s.audio for s in whole]))
    first_sentence = whole[0]
    n = len(pieces) - (len(whole) - 1)
    assert pieces[n:] and [p.text for p in pieces[n:]] == [s.text for s in whole[1:]]
    assert pieces[0].duration_ms < first_sentence.duration_ms / 2
    for piece in pieces[:n]:
        assert_timing_contract(piece)
        assert piece.words and piece.text == "".join(w.text for w in piece.words)
    # The pieces' words, shifted by where each piece starts, are the sentence's words.
    shifted, offset = [], 0.0
    for piece in pieces[:n]:
        shifted += [(w.text, round(w.start_ms + offset, 6)) for w in piece.words]
        offset += piece.duration_ms
    assert shifted == [(w.text, round(w.start_ms, 6)) for w in first_sentence.words]
