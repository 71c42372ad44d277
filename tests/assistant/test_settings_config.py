"""The settings object: defaults, TOML file, environment precedence, validation, documentation."""

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from assistant.settings import Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_env_overrides_toml_which_overrides_defaults(tmp_path, monkeypatch):
    cfg = tmp_path / "teller.toml"
    cfg.write_text('language = "zh"\nport = 9001\n[limits]\nmax_utterance_s = 12.5\n', encoding="utf-8")
    monkeypatch.setenv("DT_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("DT_PORT", "9002")
    s = Settings()
    assert s.language == "zh" and s.limits.max_utterance_s == 12.5
    assert s.port == 9002
    assert s.limits.max_frame_bytes == 65536


def test_nested_env_and_validation(monkeypatch):
    monkeypatch.setenv("DT_ENDPOINTING__MAX_SILENCE_MS", "900")
    assert Settings().endpointing.max_silence_ms == 900
    monkeypatch.setenv("DT_LANGUAGE", "fr")
    with pytest.raises(ValidationError):
        Settings()


def test_a_named_config_file_must_exist(monkeypatch, tmp_path):
    monkeypatch.setenv("DT_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(FileNotFoundError):
        Settings()
    monkeypatch.delenv("DT_CONFIG_FILE")
    with pytest.raises(FileNotFoundError):
        Settings(config_file=tmp_path / "missing.toml")


def test_the_config_file_argument_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("DT_CONFIG_FILE", raising=False)
    cfg = tmp_path / "bank.toml"
    cfg.write_text('handoff_threshold = 0.7\n[endpointing]\nmax_silence_ms = 800\n', encoding="utf-8")
    s = Settings(config_file=cfg)
    assert s.handoff_threshold == 0.7 and s.endpointing.max_silence_ms == 800 and s.config_file == cfg
    monkeypatch.setenv("DT_HANDOFF_THRESHOLD", "0.65")
    assert Settings(config_file=cfg).handoff_threshold == 0.65   # the environment still wins


def test_a_broken_config_file_is_a_clear_error(tmp_path):
    cfg = tmp_path / "bank.toml"
    cfg.write_text("language = \n", encoding="utf-8")
    with pytest.raises(ValueError):
        Settings(config_file=cfg)
    cfg.write_text('no_such_setting = 1\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="no_such_setting"):
        Settings(config_file=cfg)


def test_every_setting_is_documented():
    # Every group (a nested settings model) is walked, so a new group cannot be left out.
    names: list[str] = []
    for name, info in Settings.model_fields.items():
        group = info.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            names += [f"{name}.{n}" for n in group.model_fields]
        else:
            names.append(name)
    assert {"limits.max_frame_bytes", "endpointing.confident", "scoring.bias", "clarify.enabled",
            "self_calibration.enabled", "privacy.question_retention_days"} <= set(names)
    missing = [n for n in names if f"`{n}`" not in DOC]
    assert not missing, missing
