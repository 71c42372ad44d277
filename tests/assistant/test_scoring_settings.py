"""Calibration reaches the server: `python -m knowledge.calibrate` prints a settings block fitted on
a knowledge base, the server's settings accept it (file or environment), and the index the server
opens scores with it. Real embedder, a small slice of the demo KB."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.loading import open_index
from assistant.settings import load_settings
from knowledge import DEFAULT_CONFIDENCE_THRESHOLD, ScoringParams, demo_kb_path, load_jsonl
from knowledge.calibrate import main as calibrate

pytestmark = pytest.mark.slow  # loads real models (see tests/conftest.py)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    kb = tmp_path_factory.mktemp("calibrate") / "kb.jsonl"
    entries = load_jsonl(demo_kb_path())[:16]
    kb.write_text("".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    return kb


def test_calibrate_prints_a_block_the_server_loads(calibrated, tmp_path, capsys, monkeypatch):
    calibrate([str(calibrated)])
    out = capsys.readouterr().out
    assert "top-1 on held-out questions" in out and "zh, homophone noise:" in out
    block = out[out.index("# digital-teller.toml"):]
    parsed = tomllib.loads(block)
    assert parsed["embedder"] == "e5-small"
    assert set(parsed["scoring"]) == set(ScoringParams.__dataclass_fields__)
    # Fitted on 16 entries, the logistic differs from the demo KB's defaults.
    assert parsed["scoring"]["bias"] != ScoringParams().bias

    config = tmp_path / "digital-teller.toml"
    config.write_text(block, encoding="utf-8")
    monkeypatch.setenv("DT_CONFIG_FILE", str(config))
    settings = load_settings(data_dir=tmp_path / "data")
    assert settings.handoff_threshold == parsed.get("handoff_threshold", DEFAULT_CONFIDENCE_THRESHOLD)
    index = open_index(settings, tmp_path / "chroma")
    assert index.params == ScoringParams(**parsed["scoring"])


def test_scoring_from_the_environment_overrides_one_field(monkeypatch, tmp_path):
    monkeypatch.setenv("DT_SCORING__LEXICAL_WEIGHT", "0.05")
    settings = load_settings(data_dir=tmp_path)
    index = open_index(settings, tmp_path / "chroma")
    assert index.params.lexical_weight == 0.05
    assert index.params.bias == ScoringParams().bias  # the rest keep their fitted defaults


def test_unknown_or_out_of_range_scoring_is_refused(tmp_path):
    with pytest.raises(ValidationError, match="no_such_weight"):
        load_settings(data_dir=tmp_path, scoring={"no_such_weight": 1.0})
    with pytest.raises(ValidationError, match="centroid_weight"):
        load_settings(data_dir=tmp_path, scoring={"centroid_weight": 2.0})


def test_the_documented_block_loads_and_states_the_defaults(tmp_path, monkeypatch):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "knowledge.md").read_text(encoding="utf-8")
    block = next(b for b in doc.split("```toml\n")[1:] if "[scoring]" in b).split("```")[0]
    config = tmp_path / "digital-teller.toml"
    config.write_text(block, encoding="utf-8")
    monkeypatch.setenv("DT_CONFIG_FILE", str(config))
    settings = load_settings(data_dir=tmp_path / "data")
    assert ScoringParams(**settings.scoring.overrides()) == ScoringParams()
    assert settings.handoff_threshold == DEFAULT_CONFIDENCE_THRESHOLD and settings.embedder == "e5-small"


def test_another_embedder_without_its_own_confidence_is_warned_about(tmp_path):
    from assistant.loading import uncalibrated_warning

    assert uncalibrated_warning(load_settings(data_dir=tmp_path)) is None
    other = load_settings(data_dir=tmp_path, embedder="e5-small+minilm")
    assert "knowledge.calibrate" in uncalibrated_warning(other)
    fitted = {"bias": -40.0, "score_slope": 45.0, "margin_slope": 30.0}
    assert uncalibrated_warning(load_settings(data_dir=tmp_path, embedder="e5-small+minilm",
                                              scoring=fitted)) is None
