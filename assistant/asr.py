"""Speech recognition: one ``Transcriber`` protocol, Whisper (CTranslate2) behind it.

A customer utterance (already endpointed by the VAD, at most a few tens of seconds) goes in as
16 kHz mono float32; one ``Transcript`` comes out. For the usual utterance of up to 30 s the
model is driven window by window here rather than through ``WhisperModel.transcribe``, because
that encodes the audio twice when the language is detected (once to detect, once to decode), and
the encoder is most of the cost on CPU (~0.65 s of ~0.9 s measured on 2 cores).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from knowledge.privacy import mask_personal

from assistant.asr_filters import (HALLUCINATION_PATTERNS, SAMPLE_RATE, echoes_prompt, is_hallucination,
                                   loudest_frame_dbfs)
from assistant.chinese_script import to_simplified
from assistant.whisper_models import prepare_whisper_base, tiny_en_path

__all__ = ["DEFAULT_ZH_PROMPT", "HALLUCINATION_PATTERNS", "SAMPLE_RATE", "Transcriber",
           "Transcript", "WhisperTranscriber", "create_transcriber", "echoes_prompt", "is_hallucination",
           "loudest_frame_dbfs", "registry"]

log = logging.getLogger(__name__)

# A Simplified prompt makes Whisper write Simplified (it writes Traditional otherwise) and keeps
# the punctuation. It is neutral on purpose: a sentence naming banking ("关于银行业务：账户、余额…")
# tripled the error rate on everyday Mandarin (CER 0.34 against 0.09, bundled voice) and added
# nothing once the knowledge base's own terms follow it, as they do in the server
# (benchmarks/asr_accuracy.py; docs/benchmarks.md, "ASR accuracy").
DEFAULT_ZH_PROMPT = "以下是普通话的句子。"
_WINDOW_S = 30  # the window Whisper was trained on, and the longest it can encode
_MAX_LENGTH = 448  # Whisper's decoder context, prompt included
_LANGUAGE_ALIASES = {"cmn": "zh", "zho": "zh", "chi": "zh", "eng": "en"}

@dataclass(frozen=True)
class Transcript:
    """The text of one utterance and what the recogniser knew about it.

    Attributes:
      text: the transcript, Simplified Chinese for "zh"; empty when nothing was said.
      language: "zh" or "en" (forced or detected); "" when the audio never reached the model.
      language_probability: the model's probability of ``language`` (1.0 when forced).
      duration_s: length of the audio given.
      avg_logprob: mean token log-probability of the chosen decoding (0.0 when not decoded).
      no_speech_prob: the model's probability that the window holds no speech.
      temperature: decoding temperature that produced the text (> 0 after a fallback).
      segments: Whisper windows decoded (0 when the model was not called).
      elapsed_s: wall time spent in ``transcribe``, waiting for a model slot included.
      dropped: why the text is empty although audio was given: "silence" (energy gate, model not
        called), "no_speech" (Whisper's no-speech rule), "hallucination" (a known phrase, or the
        prompt written back while the model judged the audio speechless); else None.
    """

    text: str
    language: str
    duration_s: float
    language_probability: float = 1.0
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    temperature: float = 0.0
    segments: int = 0
    elapsed_s: float = 0.0
    dropped: str | None = None


@runtime_checkable
class Transcriber(Protocol):
    """Speech → text for one utterance. Implementations are shared by all sessions (thread-safe)."""

    def transcribe(
        self, audio: np.ndarray, *, language: str | None = None, prompt: str | None = None
    ) -> Transcript:
        """Transcribe ``audio`` (16 kHz mono float32); ``language`` "zh"/"en" or None to detect;
        ``prompt`` is text the speaker is likely to say (domain words), used as Whisper's context."""
        ...


@dataclass(frozen=True)
class _Decoded:
    tokens: list[int]
    avg_logprob: float
    no_speech_prob: float
    temperature: float
    compression_ratio: float


class WhisperTranscriber:
    """``Transcriber`` over a local CTranslate2 Whisper model (faster-whisper).

    Args:
      model_dir: directory with model.bin, config.json, tokenizer.json (see ``whisper_models``).
        Never a model name: nothing is downloaded.
      device: "cpu", or "cuda" where a replica has a GPU (then prefer compute_type="int8_float16").
      compute_type: CTranslate2 weight type; "int8" is the fastest on CPU at no measured loss.
      beam_size: 1 (greedy) by default; larger beams cost decode time for little gain on short
        utterances.
      cpu_threads: threads per transcription; 0 means the usable cores divided by
        ``max_concurrent`` (CTranslate2's own default of 4 oversubscribes a 2-core machine).
      max_concurrent: transcriptions allowed to run at once; later callers wait. 1 by default:
        on 2 cores two concurrent encodes each take twice as long, so queueing keeps the first
        answer fast.
      languages: languages that detection may choose from; None means ("zh", "en"), or ("en",)
        for an English-only model. Detection picks the most probable of these.
      zh_prompt: context given to Whisper for Chinese, before the caller's prompt; None for none.
      temperature: decoding temperatures tried in turn while a result looks failed (repetitive
        or improbable); capped at 0.4 because hotter sampling invents words on bank questions.
      best_of: samples drawn at each temperature above 0.
      compression_ratio_threshold: gzip ratio above which a decoding counts as repetitive.
      log_prob_threshold: average log-probability below which a decoding counts as failed.
      no_speech_threshold: with a failed log-probability, a no-speech probability above this
        makes the result silence (Whisper's rule).
      silence_dbfs: audio whose loudest 30 ms frame is quieter than this never reaches the model.
      max_tokens_per_second: decoding stops after this many tokens per second of audio (+8), so a
        repetition loop on a 2 s clip costs a few dozen tokens rather than 448; None for no cap.
      min_window_s: the shortest window the encoder sees. Whisper pads every clip to 30 s, and
        encoding that window is most of a short question's cost (measured here: 1.05 s for 30 s,
        0.16 s for 10 s); the window is fitted to the audio plus ``window_margin_s`` instead, never
        shorter than this. 30 restores Whisper's fixed window. Below ~6 s the model starts to
        repeat itself on short clips (docs/endpointing.md has the measurements).
      window_margin_s: silence the fitted window keeps after the audio, as Whisper expects to
        hear the end of an utterance before the end of its window.
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        beam_size: int = 1,
        cpu_threads: int = 0,
        max_concurrent: int = 1,
        languages: Sequence[str] | None = None,
        zh_prompt: str | None = DEFAULT_ZH_PROMPT,
        temperature: float | Sequence[float] = (0.0, 0.4),
        best_of: int = 2,
        compression_ratio_threshold: float = 2.4,
        log_prob_threshold: float = -1.0,
        no_speech_threshold: float = 0.6,
        silence_dbfs: float = -50.0,
        max_tokens_per_second: float | None = 20.0,
        min_window_s: float = 8.0,
        window_margin_s: float = 2.0,
    ) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").is_file():
            # WhisperModel treats anything that is not a directory as a hub name and downloads.
            raise FileNotFoundError(f"no Whisper model in {model_dir}")
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1")
        if not 1.0 <= min_window_s <= _WINDOW_S or window_margin_s < 0:
            raise ValueError(f"min_window_s must be within 1..{_WINDOW_S} s and window_margin_s >= 0")
        if cpu_threads <= 0:
            cpu_threads = max(1, _usable_cores() // max_concurrent)
        self.model_dir = model_dir
        self._model = WhisperModel(
            str(model_dir), device=device, compute_type=compute_type, cpu_threads=cpu_threads,
            num_workers=max_concurrent, local_files_only=True,
        )
        multilingual = self._model.model.is_multilingual
        self.languages = tuple(languages or (("zh", "en") if multilingual else ("en",)))
        unsupported = set(self.languages) - set(self._model.supported_languages)
        if unsupported:
            raise ValueError(f"model in {model_dir} cannot transcribe {sorted(unsupported)}")
        self._tokenizers = {
            lang: Tokenizer(self._model.hf_tokenizer, multilingual, task="transcribe", language=lang)
            for lang in self.languages
        }
        self._suppress = {lang: get_suppressed_tokens(t, [-1]) for lang, t in self._tokenizers.items()}
        self.beam_size = beam_size
        self.zh_prompt = zh_prompt
        self.temperatures = tuple(temperature) if isinstance(temperature, Sequence) else (temperature,)
        self.best_of, self.compression_ratio_threshold = best_of, compression_ratio_threshold
        self.log_prob_threshold, self.no_speech_threshold = log_prob_threshold, no_speech_threshold
        self.silence_dbfs = silence_dbfs
        self.max_tokens_per_second = max_tokens_per_second
        self.min_window_s, self.window_margin_s = min_window_s, window_margin_s
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._count_lock = threading.Lock()
        self.model_calls = 0  # utterances that reached the model (for metrics and tests)

    def transcribe(
        self, audio: np.ndarray, *, language: str | None = None, prompt: str | None = None
    ) -> Transcript:
        start = time.perf_counter()
        audio = np.asarray(audio)
        if audio.ndim != 1 or audio.dtype.kind != "f" or not np.isfinite(audio).all():
            raise ValueError(f"expected finite 1-D float audio, got {audio.dtype} {audio.shape}")
        audio = audio.astype(np.float32, copy=False)
        forced = self._normalise_language(language)
        duration = len(audio) / SAMPLE_RATE
        if loudest_frame_dbfs(audio) < self.silence_dbfs:
            return Transcript("", forced or "", duration, dropped="silence",
                              elapsed_s=time.perf_counter() - start)
        with self._slots:
            with self._count_lock:
                self.model_calls += 1
            lang, lang_prob, decoded = self._run_model(audio, forced, prompt, duration)
        text = "".join(self._tokenizers[lang].decode(d.tokens) for d in decoded).strip()
        if lang == "zh":
            text = to_simplified(text)
        # decoded holds one entry per 30 s window, so at least one.
        no_speech_prob = float(np.mean([d.no_speech_prob for d in decoded]))
        dropped = None
        if all(self._is_silence(d) for d in decoded):
            dropped = "no_speech"
        elif is_hallucination(text) or (
            no_speech_prob > self.no_speech_threshold
            and echoes_prompt(text, self._context(lang, prompt))
        ):
            dropped = "hallucination"
        if dropped:
            log.debug("dropped transcript %r (%s)", mask_personal(text), dropped)
            text = ""
        return Transcript(
            text=text, language=lang, duration_s=duration, language_probability=lang_prob,
            avg_logprob=float(np.mean([d.avg_logprob for d in decoded])),
            no_speech_prob=no_speech_prob, temperature=max(d.temperature for d in decoded),
            segments=len(decoded), elapsed_s=time.perf_counter() - start, dropped=dropped,
        )

    def _normalise_language(self, language: str | None) -> str | None:
        if language is None:
            return None
        code = language.strip().lower().replace("_", "-").split("-")[0]
        code = _LANGUAGE_ALIASES.get(code, code)
        if code not in self.languages:
            raise ValueError(f"language {language!r} not among {self.languages}")
        return code

    def _run_model(
        self, audio: np.ndarray, forced: str | None, prompt: str | None, duration: float
    ) -> tuple[str, float, list[_Decoded]]:
        from faster_whisper.audio import pad_or_trim

        features = self._model.feature_extractor(audio)
        frames = features.shape[-1] - 1  # the extractor's padding adds one frame
        step = self._model.feature_extractor.nb_max_frames
        lang, lang_prob, decoded = forced, 1.0, []
        # Utterances over 30 s are rare; each window is decoded on its own, its text joined.
        for offset in range(0, max(frames, 1), step):
            piece = features[:, offset : min(offset + step, frames)]
            window = pad_or_trim(piece, self._window_frames(piece.shape[-1], step))
            encoded = self._model.encode(window)
            if lang is None:
                lang, lang_prob = self._detect(encoded)
            seconds = min(duration - offset / self._model.frames_per_second, _WINDOW_S)
            decoded.append(self._decode(encoded, lang, prompt, seconds))
        return lang or self.languages[0], lang_prob, decoded

    def _window_frames(self, frames: int, longest: int) -> int:
        per_second = self._model.frames_per_second
        seconds = max(self.min_window_s, math.ceil(frames / per_second + self.window_margin_s))
        # Whole seconds keep the frame count even, as the encoder's stride-2 convolution needs.
        return min(longest, int(seconds * per_second) // 2 * 2)

    def _detect(self, encoded: object) -> tuple[str, float]:
        if len(self.languages) == 1 or not self._model.model.is_multilingual:
            return self.languages[0], 1.0
        probs = {tok[2:-2]: p for tok, p in self._model.model.detect_language(encoded)[0]}
        # A detected third language (Whisper hears accented Mandarin as Japanese or Korean at
        # times) means the more likely of the languages we serve.
        best = max(self.languages, key=lambda lang: probs.get(lang, 0.0))
        return best, float(probs.get(best, 0.0))

    def _context(self, lang: str, prompt: str | None) -> str:
        return "".join(p for p in ((self.zh_prompt if lang == "zh" else None), prompt) if p)

    def _prompt_tokens(self, lang: str, prompt: str | None) -> list[int]:
        tokenizer = self._tokenizers[lang]
        context = self._context(lang, prompt)
        tokens = [tokenizer.sot_prev, *tokenizer.encode(" " + context)[-(_MAX_LENGTH // 2 - 1) :]] \
            if context else []
        return [*tokens, *tokenizer.sot_sequence, tokenizer.no_timestamps]

    def _decode(self, encoded: object, lang: str, prompt: str | None, seconds: float) -> _Decoded:
        from faster_whisper.transcribe import get_compression_ratio

        tokenizer = self._tokenizers[lang]
        prompt_tokens = self._prompt_tokens(lang, prompt)
        budget = _MAX_LENGTH - len(prompt_tokens)
        if self.max_tokens_per_second is not None:
            budget = min(budget, math.ceil(seconds * self.max_tokens_per_second) + 8)
        attempts: list[_Decoded] = []
        for temperature in self.temperatures:
            sampling = (
                {"beam_size": 1, "num_hypotheses": self.best_of, "sampling_topk": 0,
                 "sampling_temperature": temperature}
                if temperature > 0 else {"beam_size": self.beam_size}
            )
            result = self._model.model.generate(
                encoded, [prompt_tokens], max_length=len(prompt_tokens) + budget,
                return_scores=True, return_no_speech_prob=True, suppress_blank=True,
                suppress_tokens=self._suppress[lang], **sampling,
            )[0]
            tokens = result.sequences_ids[0]
            # CTranslate2 returns the length-normalised score; Whisper's rule counts the EOT too.
            avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
            attempt = _Decoded(tokens, avg_logprob, result.no_speech_prob, temperature,
                               get_compression_ratio(tokenizer.decode(tokens).strip()))
            attempts.append(attempt)
            if self._is_silence(attempt) or not self._failed(attempt):
                return attempt
        repetitive = [a for a in attempts if a.compression_ratio <= self.compression_ratio_threshold]
        return max(repetitive or attempts, key=lambda a: a.avg_logprob)

    def _failed(self, d: _Decoded) -> bool:
        return (d.compression_ratio > self.compression_ratio_threshold
                or d.avg_logprob < self.log_prob_threshold)

    def _is_silence(self, d: _Decoded) -> bool:
        return d.no_speech_prob > self.no_speech_threshold and d.avg_logprob < self.log_prob_threshold


def _usable_cores() -> int:
    # The cores this process may run on (a container or taskset may allow fewer than exist).
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


TranscriberFactory = Callable[..., Transcriber]


def _whisper_base(cache_dir: Path, **options: object) -> WhisperTranscriber:
    return WhisperTranscriber(prepare_whisper_base(cache_dir), **options)  # type: ignore[arg-type]


def _whisper_tiny_en(cache_dir: Path, **options: object) -> WhisperTranscriber:
    # cache_dir is unused: tiny.en is read in place from its package.
    return WhisperTranscriber(tiny_en_path(), **options)  # type: ignore[arg-type]


# Engine name (as written in the config) → factory(cache_dir, **WhisperTranscriber options).
registry: dict[str, TranscriberFactory] = {
    "whisper-base": _whisper_base,
    "whisper-tiny-en": _whisper_tiny_en,
}


def create_transcriber(name: str, cache_dir: Path, **options: object) -> Transcriber:
    """Build the engine registered as ``name``, provisioning its model into ``cache_dir``."""
    try:
        factory = registry[name]
    except KeyError:
        raise KeyError(f"unknown ASR engine {name!r}; known: {sorted(registry)}") from None
    return factory(cache_dir, **options)
