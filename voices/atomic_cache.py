"""Crash-safe derived-model folders: atomic writes, a manifest, a build lock.

A model folder is trusted only if its manifest says so and every file still
matches the manifest's size and SHA-256. Files are written to a temporary name
and renamed into place, and the manifest is written last, so a crash or a full
disk never leaves a folder that looks ready but is not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MANIFEST = "manifest.json"
_LOCK = ".lock"

State = Literal["ready", "missing", "corrupt", "stale", "unavailable"]


@dataclass(frozen=True)
class ModelStatus:
    """Whether a derived model folder can be used as is (checked, never built)."""

    name: str
    path: Path  # what the matching prepare_* function returns
    state: State
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_fingerprint(paths: Mapping[str, Path]) -> dict[str, list[int]]:
    """Size and mtime of the bundled sources: a package upgrade changes them,
    which makes the derived copy stale without hashing the sources each start."""
    out: dict[str, list[int]] = {}
    for key, path in paths.items():
        st = path.stat()
        out[key] = [st.st_size, st.st_mtime_ns]
    return out


def write_atomic(path: Path, data: bytes) -> dict[str, object]:
    """Write `data` to `path` via a temporary file in the same folder + rename.

    Returns the manifest entry (size, sha256) of what was written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; cached models are ordinary readable data.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_manifest(folder: Path, recipe: str, sources: Mapping[str, list[int]], files: Mapping[str, object]) -> None:
    body = {"recipe": recipe, "sources": dict(sources), "files": dict(files)}
    write_atomic(folder / MANIFEST, json.dumps(body, indent=2, sort_keys=True).encode("utf-8"))


def check_folder(
    folder: Path,
    *,
    name: str,
    result_path: Path,
    recipe: str,
    sources: Mapping[str, list[int]],
    verify_hashes: bool = True,
) -> ModelStatus:
    """Compare a folder with its manifest; cheap apart from hashing the files."""

    def status(state: State, detail: str = "") -> ModelStatus:
        return ModelStatus(name=name, path=result_path, state=state, detail=detail)

    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        leftovers = [p for p in folder.iterdir() if p.name != _LOCK] if folder.is_dir() else []
        return status("corrupt", "files without a manifest (interrupted build)") if leftovers else status("missing")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files: dict[str, dict[str, object]] = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return status("corrupt", f"unreadable manifest: {exc}")
    if manifest.get("recipe") != recipe:
        return status("stale", f"built by recipe {manifest.get('recipe')!r}, current is {recipe!r}")
    if manifest.get("sources") != dict(sources):
        return status("stale", "the bundled source model changed")
    for file_name, entry in files.items():
        path = folder / file_name
        if not path.is_file():
            return status("corrupt", f"{file_name} is missing")
        if path.stat().st_size != entry.get("size"):
            return status("corrupt", f"{file_name} has the wrong size (truncated?)")
        if verify_hashes and sha256_file(path) != entry.get("sha256"):
            return status("corrupt", f"{file_name} does not match its checksum")
    return status("ready")


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Serialise builds of one folder across processes (several workers may start
    at once on a fresh machine); others wait, then find the folder ready."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic renames still keep the folder consistent
        yield
        return
    with open(folder / _LOCK, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def clear_for_rebuild(folder: Path) -> None:
    """Drop the manifest first (the folder stops claiming to be ready), then
    temporary files a crashed build left behind."""
    with contextlib.suppress(FileNotFoundError):
        (folder / MANIFEST).unlink()
    for leftover in folder.glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def model_fingerprint(files: Mapping[str, Path], **settings: object) -> str:
    """A short, stable id for a loaded voice: its model files and the settings that
    change its sound (rate, seed…). Caches of synthesised audio key on it, so a new
    model or a new rate never serves stale audio. A provisioned folder's manifest
    already holds the files' SHA-256, so it stands in for hashing the models again."""
    digest = hashlib.sha256()
    for key in sorted(files):
        path = Path(files[key])
        manifest = path / MANIFEST if path.is_dir() else path.parent / MANIFEST
        digest.update(key.encode())
        if manifest.is_file():
            digest.update(manifest.read_bytes())
        else:
            st = path.stat()
            digest.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]
