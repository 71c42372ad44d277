"""English TTS with Piper (VITS, ONNX) and exact phoneme timings.

Text is normalised for speech first (`voices.normalize_en`: amounts, dates,
card numbers…); word timings still show the written words.

The model must be the alignment-patched copy made by
`voices.provision.prepare_piper_voice`: its second output gives the number of
audio samples each phoneme id produced, so phone timings are exact (they sum
to the audio length) instead of estimated.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

from voices.atomic_cache import model_fingerprint
from voices.normalize_en import spoken
from voices.piper_align import (
    fold_units,
    group_samples,
    phones_from_units,
    text_words,
    words_from_units,
)
from voices.runtime import onnx_session_options
from voices.types import Language, SentenceStreaming, SpeechSegment


class PiperEngine(SentenceStreaming):
    """Thread-safe: onnxruntime sessions may be run concurrently and Piper
    serialises its espeak-ng calls with its own lock."""

    def __init__(
        self,
        model_path: Path,
        config_path: Path | None = None,
        *,
        length_scale: float | None = None,
        rate: float = 1.0,
        seed: int | None = None,
        language: Language = "en",
        normalize: bool = True,
        num_threads: int | None = None,
    ) -> None:
        """`rate` > 1 speaks faster (it divides the voice's length_scale).
        `seed` makes the voice's sampling noise repeatable: onnxruntime seeds a
        session's random ops when it is created, so a seeded engine gives the same
        audio for the same sequence of calls (renders load a fresh one).
        `num_threads`: onnxruntime threads (default: the usable cores; see voices.runtime)."""
        import onnxruntime
        from piper import PiperConfig, PiperVoice, SynthesisConfig

        if rate <= 0:
            raise ValueError("rate must be positive")
        if seed is not None:
            onnxruntime.set_seed(seed)
        config = Path(config_path) if config_path else Path(f"{model_path}.json")
        # PiperVoice.load would give the session onnxruntime's default options.
        self._voice = PiperVoice(
            config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
            session=onnxruntime.InferenceSession(
                str(model_path), sess_options=onnx_session_options(num_threads), providers=["CPUExecutionProvider"]
            ),
        )
        base_scale = length_scale if length_scale is not None else self._voice.config.length_scale
        self.length_scale = float(base_scale) / rate
        self._syn_config = SynthesisConfig(length_scale=self.length_scale)
        self._normalize = normalize and language == "en"
        self.fingerprint = model_fingerprint(
            {"model": Path(model_path)}, engine="piper", length_scale=round(self.length_scale, 4), normalize=self._normalize
        )
        self.language: Language = language
        self.sample_rate: int = int(self._voice.config.sample_rate)
        self._id_map = self._voice.config.phoneme_id_map
        # Word phonemisation is repeated for every sentence; banking answers
        # reuse a small vocabulary, so a cache removes most espeak calls.
        self._word_phonemes = functools.lru_cache(maxsize=8192)(self._phonemize_word)
        self._check_alignment_output()

    def _check_alignment_output(self) -> None:
        if len(self._voice.session.get_outputs()) < 2:
            raise ValueError(
                "this Piper model has no alignment output; "
                "load the copy made by voices.provision.prepare_piper_voice"
            )

    def synthesize_sentence(self, sentence: str) -> SpeechSegment | None:
        """One segment for `sentence`, however many chunks espeak splits it into."""
        audio_parts: list[np.ndarray] = []
        raw: list[tuple[str, int]] = []
        if self._normalize:
            said = spoken(sentence)
            text, written, shown = said.text, [w.spoken for w in said.words], [w.written for w in said.words]
        else:
            text, written, shown = sentence, text_words(sentence), None
        for chunk in self._voice.synthesize(text, syn_config=self._syn_config, include_alignments=True):
            audio = chunk.audio_int16_array
            if chunk.phoneme_id_samples is None:
                raise RuntimeError("Piper returned no alignments; is the model patched?")
            counts = group_samples(chunk.phonemes, chunk.phoneme_ids, chunk.phoneme_id_samples, self._id_map)
            _reconcile(counts, len(audio))
            audio_parts.append(audio)
            raw.extend(counts)
        if not audio_parts:
            return None
        units = fold_units(raw)
        audio = np.concatenate(audio_parts).astype(np.int16, copy=False)
        return SpeechSegment(
            text=sentence,
            language=self.language,
            audio=audio,
            sample_rate=self.sample_rate,
            phones=phones_from_units(units, self.sample_rate),
            words=words_from_units(units, written, self._word_phonemes, self.sample_rate, shown),
            alphabet="ipa",
        )

    def _phonemize_word(self, word: str) -> str:
        return " ".join("".join(s) for s in self._voice.phonemize(word))


def _reconcile(counts: list[tuple[str, int]], audio_len: int) -> None:
    """Piper's counts equal the audio length (the vocoder emits hop_length samples
    per frame); should a future model trim or pad, absorb the difference in the
    final silence so phone timings still span the audio exactly."""
    diff = audio_len - sum(n for _, n in counts)
    if diff:
        symbol, samples = counts[-1]
        counts[-1] = (symbol, max(0, samples + diff))
