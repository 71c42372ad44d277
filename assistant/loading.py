"""Loads the engines named in the settings, once, after checking every model is ready.

A missing or corrupt model stops start-up with one clear message that names it, before anything
is loaded, so a server never runs half-equipped.
"""

from __future__ import annotations

import logging

from .metrics import Metrics
from .models import model_table
from .responder import Responder
from .services import Inference, Services
from .settings import Settings
from .speech_out import Speaker

log = logging.getLogger(__name__)


class ModelsNotReady(RuntimeError):
    """One or more models are missing or corrupt; `digital-teller models` prepares them."""


def check_models(settings: Settings, names: set[str] | None = None) -> None:
    bad = [r for r in model_table(settings) if r.state != "ready" and (names is None or r.name in names)]
    if bad:
        detail = "; ".join(f"{r.name} is {r.state}" + (f" ({r.detail})" if r.detail else "") for r in bad)
        raise ModelsNotReady(detail)


def load_transcriber(settings: Settings):
    from .asr import create_transcriber

    check_models(settings, {settings.asr_model})
    return create_transcriber(settings.asr_model, settings.model_dir, cpu_threads=settings.asr_threads)


def load_index(settings: Settings):
    from knowledge import KnowledgeIndex, demo_kb_path, load_embedder, load_jsonl

    embedder = load_embedder(settings.embedder)
    entries = load_jsonl(settings.knowledge_file or demo_kb_path())
    index = KnowledgeIndex(settings.chroma_dir, embedder)
    index.build(entries)
    return index


def load_responder(settings: Settings, index=None) -> Responder:
    return Responder(index or load_index(settings), handoff_threshold=settings.handoff_threshold)


def load_speaker(settings: Settings) -> Speaker:
    from voices import load_voice, split_sentences

    from voices.answer_cache import AnswerCache

    names = {"en": settings.voice_en, "zh": settings.voice_zh}
    engines = {lang: load_voice(name, settings.model_dir) for lang, name in names.items()}
    disk = AnswerCache(settings.data_dir / "answer-audio")
    return Speaker(engines, names, split=lambda text, lang: split_sentences(text, lang), disk=disk)


def approved_texts(index) -> dict[str, list[str]]:
    """Every answer and disclosure the teller may speak, per language (for pre-synthesis)."""
    texts: dict[str, list[str]] = {"zh": [], "en": []}
    for entry in index.entries():
        for lang, answer in entry.answer.items():
            texts.setdefault(lang, []).append(answer)
        for lang, disclosure in (entry.disclosure or {}).items():
            texts.setdefault(lang, []).append(disclosure)
    return texts


class VadModel:
    """The shared silero session; each session gets its own stateful detector."""

    def __init__(self) -> None:
        from .vad import shared_silero_vad

        self._model = shared_silero_vad()

    def detector(self):
        from .vad import SpeechDetector

        return SpeechDetector(self._model)


def load_services(settings: Settings) -> Services:
    check_models(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    index = load_index(settings)
    services = Services(
        settings=settings,
        transcriber=load_transcriber(settings),
        vad=VadModel(),
        index=index,
        responder=load_responder(settings, index),
        speaker=load_speaker(settings),
        metrics=Metrics(),
        inference=Inference(settings.limits.inference_queue),
        asr_prompts={"zh": index.prompt_terms("zh"), "en": index.prompt_terms("en")},
    )
    log.info("all models loaded")
    return services
