"""Loads the engines named in the settings, once, after checking every model is ready.

A missing or corrupt model stops start-up with one clear message that names it, before anything
is loaded, so a server never runs half-equipped.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .clarify import ClarifyRule
from .metrics import Metrics
from .models import model_table
from .responder import Responder
from .scheduler import Scheduler
from .services import Services
from .settings import Settings
from .speech_out import CachedSpeaker

log = logging.getLogger(__name__)


class ModelsNotReady(RuntimeError):
    """One or more models are missing or corrupt; `digital-teller models` prepares them."""


def check_models(settings: Settings, names: set[str] | None = None) -> None:
    bad = [r for r in model_table(settings) if not r.ok and (names is None or r.name in names)]
    if bad:
        detail = "; ".join(f"{r.name} is {r.state}" + (f" ({r.detail})" if r.detail else "") for r in bad)
        raise ModelsNotReady(detail)


def load_transcriber(settings: Settings):
    from .asr import create_transcriber

    check_models(settings, {settings.asr_model})
    return create_transcriber(settings.asr_model, settings.model_dir, cpu_threads=settings.asr_threads,
                              min_window_s=settings.asr_min_window_s)


def open_index(settings: Settings, path: Path | None = None):
    """The retrieval index with the configured embedder and scoring (`path`: default the served one)."""
    from knowledge import KnowledgeIndex, load_embedder

    warning = uncalibrated_warning(settings)
    if warning:
        log.warning(warning)
    english = load_embedder(settings.english_embedder) if settings.english_embedder else None
    return KnowledgeIndex(path or settings.chroma_dir, load_embedder(settings.embedder),
                          english_embedder=english, **settings.scoring.overrides())


def self_calibrate(settings: Settings, index, *, follow: bool = True):
    """Fit the index's scoring to the entries it holds now, and (`follow`) after every later
    change; None when the settings bring their own `[scoring]` or turn it off."""
    from knowledge import demo_kb_path, load_jsonl
    from knowledge.scoring import FITTED_EMBEDDER
    from knowledge.selfcal import SelfCalibrator
    from knowledge.vectors import entry_fingerprint

    if not settings.self_calibration.enabled or settings.scoring.overrides():
        return None
    # The defaults of knowledge.scoring were fitted offline on the bundled demo with this embedder.
    demo = {entry_fingerprint(e) for e in load_jsonl(demo_kb_path())} \
        if settings.embedder == FITTED_EMBEDDER and settings.english_embedder else set()
    calibrator = SelfCalibrator(index, threshold=settings.handoff_threshold,
                                target=settings.self_calibration.target_wrong_rate, fitted_for=demo,
                                clarify=clarify_rule(settings).options)
    calibrator.refit()
    return calibrator.follow() if follow else calibrator


def uncalibrated_warning(settings: Settings) -> str | None:
    """A warning when the embedder is not the one the default confidence was fitted with and
    the settings do not bring a fitted confidence of their own."""
    from knowledge.scoring import FITTED_EMBEDDER

    own = {"bias", "score_slope", "margin_slope"} <= set(settings.scoring.overrides())
    if settings.embedder == FITTED_EMBEDDER or own:
        return None
    return (f"embedder {settings.embedder!r} with the confidence fitted for {FITTED_EMBEDDER!r}: "
            "hand-off decisions will be off; run `python -m knowledge.calibrate KB.jsonl "
            f"--embedder {settings.embedder}` and set the [scoring] it prints")


def open_knowledge(settings: Settings):
    """The store (source of truth), its Chroma index kept in step, and the follower that keeps it so.

    An empty store is seeded from `knowledge_file` (default: the bundled demo) as approved entries.
    """
    from knowledge import demo_kb_path
    from knowledge.store import KnowledgeStore
    from knowledge.sync import IndexFollower, open_synced

    store = KnowledgeStore(settings.knowledge_db)
    # A Chroma folder that was deleted or cannot be read is rebuilt from the store here.
    index, report = open_synced(lambda: open_index(settings), store, folder=settings.chroma_dir,
                                seed_file=settings.knowledge_file or demo_kb_path())
    log.info("knowledge: %d served (seeded %d, drift %s)", report.build.entries, report.seeded, report.drift)
    self_calibrate(settings, index)
    return store, index, IndexFollower(store, index).attach()


def load_index(settings: Settings):
    return open_knowledge(settings)[1]


def clarify_rule(settings: Settings, threshold: float | None = None) -> ClarifyRule:
    """The clarifying-question rule of these settings, at `threshold` (default: the configured one)."""
    threshold = settings.handoff_threshold if threshold is None else threshold
    return ClarifyRule(threshold=threshold, **settings.clarify.model_dump())


def load_responder(settings: Settings, index=None) -> Responder:
    return Responder(index or load_index(settings), handoff_threshold=settings.handoff_threshold,
                     clarify=clarify_rule(settings))


def load_speaker(settings: Settings) -> CachedSpeaker:
    from voices import load_voice, split_sentences

    from voices.answer_cache import AnswerCache

    names = {"en": settings.voice_en, "zh": settings.voice_zh}
    engines = {lang: load_voice(name, settings.model_dir) for lang, name in names.items()}
    disk = AnswerCache(settings.data_dir / "answer-audio")
    return CachedSpeaker(engines, names, split=lambda text, lang: split_sentences(text, lang), disk=disk)


def approved_texts(index) -> dict[str, list[str]]:
    """Every line the teller may speak, per language (for pre-synthesis): the approved answers
    and disclosures, and its own lines (hand-off, not understood), so a hand-off is as quick to
    start as an answer."""
    from .responder import SYSTEM_LINES

    texts: dict[str, list[str]] = {"zh": [], "en": []}
    for lines in SYSTEM_LINES.values():
        for lang, line in lines.items():
            texts.setdefault(lang, []).append(line)
    for entry in index.entries():
        for lang, answer in entry.answer.items():
            texts.setdefault(lang, []).append(answer)
        for lang, disclosure in (entry.disclosure or {}).items():
            texts.setdefault(lang, []).append(disclosure)
    return texts


class SileroVadModel:
    """The shared silero session; each session gets its own stateful detector."""

    def __init__(self) -> None:
        from .vad import shared_silero_vad

        self._model = shared_silero_vad()

    def detector(self):
        from .vad import SpeechDetector

        return SpeechDetector(self._model)


def load_turn_end(settings: Settings):
    """Smart Turn v3.2, unless the settings leave the early commit to the transcript alone."""
    if not settings.endpointing.turn_end_model:
        return None
    from .turn_end import SmartTurn

    return SmartTurn()


def make_scheduler(settings: Settings) -> Scheduler:
    """The one scheduler of this process. One ASR worker: the transcriber runs one transcription
    at a time on all the cores it was given, so a second worker would only queue inside it, out
    of the scheduler's order."""
    s = settings.scheduling
    return Scheduler(asr_workers=1, tts_workers=s.tts_workers, light_workers=s.light_workers,
                     max_waiting=s.max_waiting, max_wait_s=s.max_wait_s,
                     speculative_deadline_s=s.speculative_deadline_s)


def load_services(settings: Settings) -> Services:
    check_models(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store, index, follower = open_knowledge(settings)
    services = Services(
        settings=settings,
        transcriber=load_transcriber(settings),
        vad=SileroVadModel(),
        index=index,
        responder=load_responder(settings, index),
        speaker=load_speaker(settings),
        metrics=Metrics(),
        inference=make_scheduler(settings),
        asr_prompts={"zh": index.prompt_terms("zh"), "en": index.prompt_terms("en")},
        kb_store=store,
        kb_follower=follower,
        turn_end=load_turn_end(settings),
    )
    from .responder import SYSTEM_LINES

    for language in services.speaker.engines:   # in memory for good: it must play at once when busy
        services.speaker.hold(SYSTEM_LINES["hold"][language], language)
    log.info("all models loaded")
    return services
