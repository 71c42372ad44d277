"""Text-to-speech for the teller: engines behind one interface, a voice
catalogue per language, Mandarin text normalisation and sentence splitting.

Engines are imported lazily by the catalogue, so importing `voices` does not
load onnxruntime or LiteRT.
"""

from voices.catalogue import (
    DEFAULT_VOICES,
    VoiceInfo,
    available_voices,
    default_voice,
    load_voice,
    register_voice,
    voice_info,
)
from voices.provision import (
    ModelStatus,
    default_cache_dir,
    prepare_piper_voice,
    prepare_zh_voice,
    status_piper_voice,
    status_zh_voice,
)
from voices.sentences import split_sentences
from voices.types import SpeechSegment, TTSEngine

__all__ = [
    "DEFAULT_VOICES",
    "ModelStatus",
    "SpeechSegment",
    "TTSEngine",
    "VoiceInfo",
    "available_voices",
    "default_cache_dir",
    "default_voice",
    "load_voice",
    "prepare_piper_voice",
    "prepare_zh_voice",
    "register_voice",
    "split_sentences",
    "status_piper_voice",
    "status_zh_voice",
    "voice_info",
]
