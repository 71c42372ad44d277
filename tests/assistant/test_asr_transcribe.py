"""Whisper transcription on real audio: English (Piper voice), Mandarin (speech_smoke), silence."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from asr_fixtures import (  # noqa: F401  (fixtures are used by name)
    SAMPLE_RATE,
    load_clip,
    noise,
    piper_speech,
    smoke_clips,
    whisper_base,
    whisper_tiny_en,
)

from assistant.asr import Transcriber, Transcript, create_transcriber, registry
from assistant.chinese_script import contains_cjk, to_simplified

# Characters that exist only in Traditional script (their Simplified forms differ).
TRADITIONAL_ONLY = set("們這個來時說對還會為銀帳號戶額區點見過發後經麼們業務轉餘")

QUESTION = "How do I report a lost bank card?"


def test_satisfies_the_protocol(whisper_base):
    assert isinstance(whisper_base, Transcriber)
    assert whisper_base.languages == ("zh", "en")


def test_english_question_auto_detected(whisper_base):
    result = whisper_base.transcribe(piper_speech(QUESTION))
    assert isinstance(result, Transcript)
    assert result.language == "en" and result.language_probability > 0.5
    assert "lost" in result.text.lower() and "card" in result.text.lower()
    assert result.segments == 1 and result.dropped is None
    assert result.duration_s == pytest.approx(len(piper_speech(QUESTION)) / SAMPLE_RATE)


def test_english_forced(whisper_base):
    result = whisper_base.transcribe(piper_speech(QUESTION), language="en-US")
    assert result.language == "en" and result.language_probability == 1.0
    assert "lost" in result.text.lower() and "card" in result.text.lower()


def test_tiny_en_transcribes_english(whisper_tiny_en):
    assert whisper_tiny_en.languages == ("en",)
    result = whisper_tiny_en.transcribe(piper_speech(QUESTION))
    assert result.language == "en"
    assert "lost" in result.text.lower() and "card" in result.text.lower()
    with pytest.raises(ValueError):
        whisper_tiny_en.transcribe(piper_speech(QUESTION), language="zh")


@pytest.mark.parametrize("clip", smoke_clips(), ids=lambda p: p.stem)
def test_mandarin_clip_in_simplified(whisper_base, clip):
    audio = load_clip(clip)
    forced = whisper_base.transcribe(audio, language="zh")
    assert forced.language == "zh" and forced.dropped is None
    assert contains_cjk(forced.text), forced
    assert not TRADITIONAL_ONLY & set(forced.text), forced.text
    assert to_simplified(forced.text) == forced.text
    detected = whisper_base.transcribe(audio)
    assert detected.language == "zh" and detected.language_probability > 0.5
    assert contains_cjk(detected.text) and not TRADITIONAL_ONLY & set(detected.text)


def test_caller_prompt_is_accepted(whisper_base):
    audio = load_clip(smoke_clips()[0])
    result = whisper_base.transcribe(audio, language="zh", prompt="余额、转账、挂失、信用卡。")
    assert contains_cjk(result.text) and not TRADITIONAL_ONLY & set(result.text)


@pytest.mark.parametrize(
    "audio",
    [np.zeros(SAMPLE_RATE * 2, np.float32), noise(-70, 2.0), np.zeros(0, np.float32)],
    ids=["zeros", "noise-70dBFS", "empty"],
)
@pytest.mark.parametrize("language", [None, "zh"])
def test_near_silence_never_reaches_the_model(whisper_base, audio, language):
    calls = whisper_base.model_calls
    result = whisper_base.transcribe(audio, language=language)
    assert result.text == "" and result.dropped == "silence" and result.segments == 0
    assert whisper_base.model_calls == calls


@pytest.mark.parametrize("language", [None, "zh", "en"])
def test_noise_above_the_gate_gives_no_text(whisper_base, language):
    # Loud enough to pass the energy gate: Whisper's no-speech rule or the prompt-echo check
    # (the default Chinese prompt came back verbatim on noise before that check) must catch it.
    calls = whisper_base.model_calls
    result = whisper_base.transcribe(noise(-45, 2.0), language=language)
    assert whisper_base.model_calls == calls + 1
    assert result.text == "" and result.dropped in {"no_speech", "hallucination"}, result


def test_long_utterance_is_decoded_window_by_window(whisper_base):
    clips = [load_clip(p) for p in smoke_clips()]
    audio = np.concatenate(clips * 3)[: 38 * SAMPLE_RATE]
    result = whisper_base.transcribe(audio, language="zh")
    assert result.segments == 2 and result.duration_s == pytest.approx(38.0)
    assert contains_cjk(result.text)


def test_shared_model_serves_threads_one_at_a_time(whisper_base, monkeypatch):
    audio = piper_speech(QUESTION)
    inner, lock = whisper_base._run_model, threading.Lock()
    running, most = [0], [0]

    def counting(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return inner(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(whisper_base, "_run_model", counting)
    results: list[Transcript] = []
    threads = [threading.Thread(target=lambda: results.append(whisper_base.transcribe(audio)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and len({r.text for r in results}) == 1
    assert "card" in results[0].text.lower()
    assert most[0] == 1  # max_concurrent=1 by default


def test_bad_input_is_rejected(whisper_base):
    with pytest.raises(ValueError):
        whisper_base.transcribe(np.zeros((2, 16000), np.float32))
    with pytest.raises(ValueError):
        whisper_base.transcribe(np.zeros(16000, np.float32), language="fr")
    with pytest.raises(ValueError):
        whisper_base.transcribe(np.zeros(16000, np.int16))
    with pytest.raises(ValueError):
        whisper_base.transcribe(np.full(16000, np.nan, np.float32))


def test_registry_names_and_unknown_engine(tmp_path):
    assert set(registry) >= {"whisper-base", "whisper-tiny-en"}
    with pytest.raises(KeyError, match="whisper-base"):
        create_transcriber("whisper-huge", tmp_path)


@pytest.mark.slow  # loads a real model in its body
def test_registry_builds_tiny_en(tmp_path):
    engine = create_transcriber("whisper-tiny-en", tmp_path, cpu_threads=1)
    assert isinstance(engine, Transcriber)
    assert "card" in engine.transcribe(piper_speech(QUESTION)).text.lower()


def test_never_given_a_model_name(tmp_path):
    from assistant.asr import WhisperTranscriber

    with pytest.raises(FileNotFoundError):
        WhisperTranscriber("base")
    with pytest.raises(FileNotFoundError):
        WhisperTranscriber(tmp_path)


def _encoded_windows(transcriber, monkeypatch) -> list[int]:
    """Record the number of mel frames of every window the encoder is given."""
    inner, frames = transcriber._model.encode, []

    def recording(features):
        frames.append(features.shape[-1])
        return inner(features)

    monkeypatch.setattr(transcriber._model, "encode", recording)
    return frames


def test_encoder_window_is_fitted_to_the_audio(whisper_base, monkeypatch):
    frames = _encoded_windows(whisper_base, monkeypatch)
    short = piper_speech(QUESTION)                        # ~2 s: the 8 s minimum window
    assert "card" in whisper_base.transcribe(short, language="en").text.lower()
    clips = [load_clip(p) for p in smoke_clips()]
    twelve = np.concatenate(clips * 4)[: 12 * SAMPLE_RATE]  # 12 s + 2 s margin = 14 s
    assert contains_cjk(whisper_base.transcribe(twelve, language="zh").text)
    long = np.concatenate(clips * 3)[: 38 * SAMPLE_RATE]    # a full 30 s window, then 8 s + 2 s
    assert whisper_base.transcribe(long, language="zh").segments == 2
    assert frames == [800, 1400, 3000, 1000]


def test_fitted_window_hears_what_the_full_window_hears(whisper_base, monkeypatch):
    from assistant.asr import WhisperTranscriber

    full = WhisperTranscriber(whisper_base.model_dir, min_window_s=30)
    frames = _encoded_windows(full, monkeypatch)
    for text in (QUESTION, "What are your opening hours on Saturday?"):
        fitted, fixed = (t.transcribe(piper_speech(text), language="en") for t in (whisper_base, full))
        assert _words(fitted.text) == _words(fixed.text) == _words(text)
    assert frames == [3000, 3000]
    with pytest.raises(ValueError):
        WhisperTranscriber(whisper_base.model_dir, min_window_s=0.5)
    with pytest.raises(ValueError):
        WhisperTranscriber(whisper_base.model_dir, min_window_s=31)


def _words(text: str) -> list[str]:
    return [w.strip(".,?!").lower() for w in text.split()]
