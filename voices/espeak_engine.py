"""espeak-ng as the fallback voice for any language it knows, through `espeakng-loader`.

The wheel ships libespeak-ng 1.52 and its data (Debian's 1.51 speaks `cmn` wrongly).
We drive the C API with ctypes in synchronous mode: the synth callback hands us
audio blocks together with events, and with `espeakINITIALIZE_PHONEME_EVENTS |
espeakINITIALIZE_PHONEME_IPA` every phoneme arrives as an IPA name with its exact
sample position, so phone timings come from the engine, not from guesses.

libespeak-ng is one global state (voice, rate, callback), so every call holds the
module lock from setting the voice to the last callback. Its waveform generator
also keeps a little state from one utterance to the next in function-local statics;
those are reset before every call, so the same text always gives the same samples.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass, field

import numpy as np

from avatar_bridge import Phone, Word
from voices.atomic_cache import model_fingerprint
from voices.elf_symbols import symbol_values
from voices.spoken_text import SpokenText
from voices.types import Language, SentenceStreaming, SpeechSegment

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_PHONEME_IPA, _INIT_DONT_EXIT = 0x0001, 0x0002, 0x8000
_EVENT_END_OF_LIST, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_POS_CHARACTER, _CHARS_UTF8 = 1, 1
_PARAM_RATE = 1
DEFAULT_WPM = 175  # espeak's own default speed

# espeak's cmn table has phonemes without an IPA name; it then reports its own
# mnemonic. These are the ones it uses, with the IPA avatar_bridge reads.
MNEMONIC_IPA: dict[str, str] = {
    "s.": "ʂ", "z.": "ʐ", "ts.": "ʈʂ", "ts.h": "ʈʂʰ", "i.": "ɨ", "i[": "ɨ", "o-": "ɤ", "@": "ə", "y": "y",
}


NEAREST_KNOWN: dict[str, str] = {"ʂ": "s", "ʐ": "z", "ʈ": "t", "ɕ": "ʃ", "y": "u", "ɤ": "ə", "χ": "x"}

# wavegen.c's statics that outlive an utterance: the pitch-flutter phase
# (AdvanceParameters' Flutter_ix), the glottal-cycle counter that the voice's
# roughness modulation counts in, and the clipping gain (Wavegen's cycle_count,
# agc). Measured with 1.52: each call differed from the last from sample ~65 on;
# with Flutter_ix and cycle_count put back before each call, repeated calls are
# sample-identical, and identical to a fresh process's first call.
_CARRIED_STATE = ("Flutter_ix.", "cycle_count.", "agc.")


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position in the input
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # samples from the start of the utterance
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # union: phoneme name, UTF-8, NUL-terminated unless 8 bytes
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class _Capture:
    audio: list[bytes] = field(default_factory=list)
    phones: list[tuple[int, str]] = field(default_factory=list)  # (sample, IPA name)
    words: list[tuple[int, int]] = field(default_factory=list)  # (sample, 0-based char position)


class _Library:
    """The process-wide libespeak-ng, initialised once."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), options)
        if rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise")
        self.sample_rate = int(rate)
        self.version = "1.52"
        self._initial_state = _carried_state(self.lib, espeakng_loader.get_library_path())
        self.deterministic = bool(self._initial_state)
        self.capture: _Capture | None = None
        self._callback = _Callback(self._on_synth)  # kept alive: C holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, count, events) -> int:
        capture = self.capture
        if capture is None:
            return 1  # abort: nobody is listening
        if count > 0:
            capture.audio.append(ctypes.string_at(wav, count * 2))
        i = 0
        while events[i].type != _EVENT_END_OF_LIST:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                capture.phones.append((event.sample, bytes(event.id).decode("utf-8", "replace")))
            elif event.type == _EVENT_WORD:
                capture.words.append((event.sample, event.text_position - 1))
            i += 1
        return 0

    def synth(self, text: str, voice: str, wpm: int) -> _Capture:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        self.lib.espeak_SetParameter(_PARAM_RATE, wpm, 0)
        data = text.encode("utf-8") + b"\0"
        for cell, value in self._initial_state:
            cell.value = value
        self.capture = capture = _Capture()
        try:
            status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            self.lib.espeak_Synchronize()
        finally:
            self.capture = None
        if status != 0:
            raise RuntimeError(f"espeak_Synth failed with status {status}")
        return capture


def _carried_state(lib: ctypes.CDLL, path: str) -> list[tuple[ctypes.c_int, int]]:
    """(variable, its value now) for each of _CARRIED_STATE, read right after
    initialisation; empty (calls then stay slightly history-dependent) unless every
    one is found exactly once as a 4-byte symbol of the library actually loaded."""
    symbols = symbol_values(path, {"espeak_Initialize"}, _CARRIED_STATE)
    anchor = symbols.get("espeak_Initialize")
    if anchor is None:
        return []
    base = ctypes.cast(lib.espeak_Initialize, ctypes.c_void_p).value - anchor[0]
    cells = []
    for prefix in _CARRIED_STATE:
        matches = [value for name, (value, size) in symbols.items() if name.startswith(prefix) and size == 4]
        if len(matches) != 1:
            return []
        cell = ctypes.c_int.from_address(base + matches[0])
        cells.append((cell, cell.value))
    return cells


_LOCK = threading.Lock()
_LIBRARY: _Library | None = None


def _library() -> _Library:
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = _Library()
    return _LIBRARY


class EspeakEngine(SentenceStreaming):
    """Thread-safe (the module lock serialises the library); timings from phoneme events."""

    def __init__(self, language: Language, voice: str, *, rate: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        with _LOCK:
            lib = _library()
        self.language: Language = language
        self.voice = voice
        self.sample_rate: int = lib.sample_rate
        self.wpm = round(DEFAULT_WPM * rate)
        self.fingerprint = model_fingerprint({}, engine="espeak-ng", version=lib.version, voice=voice, wpm=self.wpm)
        # False only with a libespeak-ng build whose wavegen statics cannot be found.
        self.deterministic = lib.deterministic

    def synthesize_sentence(self, sentence: str) -> SpeechSegment | None:
        said = _spoken(sentence, self.language)
        if not said.words:
            return None
        with _LOCK:
            capture = _library().synth(said.text, self.voice, self.wpm)
        audio = np.frombuffer(b"".join(capture.audio), dtype=np.int16).copy()
        if len(audio) == 0:
            return None
        phones = _phones(capture.phones, len(audio), self.sample_rate)
        return SpeechSegment(
            text=sentence,
            language=self.language,
            audio=audio,
            sample_rate=self.sample_rate,
            phones=phones,
            words=_words(capture.words, phones, said, self.sample_rate),
            alphabet="ipa",
        )


def _spoken(sentence: str, language: str) -> SpokenText:
    if language == "en":
        from voices.normalize_en import spoken

        return spoken(sentence)
    if language == "zh":
        from voices.normalize_zh import spoken_units

        out = SpokenText()
        for unit in spoken_units(sentence):
            if unit.kind == "punct":
                out.add_gap(unit.written)
            elif unit.spoken:
                out.add_word(unit.written, unit.spoken if unit.kind != "latin" else f" {unit.spoken} ")
        return out
    out = SpokenText()
    out.add_raw(sentence)
    return out


def ipa_name(name: str) -> str:
    """espeak's IPA name made readable by avatar_bridge: its own mnemonics ('s.',
    'o-') become IPA, an ASCII 'h' after an affricate becomes 'ʰ', and the Mandarin
    sounds the viseme table lacks take the nearest sound it has, as Azure's
    pinyin table groups them (sh/r with s, x with ʃ, ü with u, e [ɤ] with ə)."""
    stress = "".join(ch for ch in name[:1] if ch in "ˈˌ")
    core = MNEMONIC_IPA.get(name[len(stress) :], name[len(stress) :])
    if len(core) > 1 and core.endswith("h"):
        core = core[:-1] + "ʰ"
    return stress + "".join(NEAREST_KNOWN.get(ch, ch) for ch in core)


def _phones(events: list[tuple[int, str]], total: int, sample_rate: int) -> list[Phone]:
    """Phones from phoneme events: each lasts until the next event; an unnamed
    event is a pause; anything before the first event is leading silence."""
    marks: list[tuple[int, str]] = [(0, "sil")]
    for sample, name in events:
        if name.startswith("(") and name.endswith(")"):
            continue  # "(en)", "(cmn)": a language switch, not a sound
        sample = min(max(sample, 0), total)
        symbol = ipa_name(name) if name else "sil"
        if sample == marks[-1][0]:
            # Zero-length so far: the later event names this instant (keep speech over pause).
            if symbol != "sil" or marks[-1][1] == "sil":
                marks[-1] = (sample, symbol)
            continue
        if symbol == "sil" and marks[-1][1] == "sil":
            continue
        marks.append((sample, symbol))
    phones: list[Phone] = []
    for (start, symbol), (end, _) in zip(marks, marks[1:] + [(total, "")]):
        if end > start:
            phones.append(Phone(symbol, start * 1000.0 / sample_rate, (end - start) * 1000.0 / sample_rate))
    return phones


def _words(events: list[tuple[int, int]], phones: list[Phone], said: SpokenText, sample_rate: int) -> list[Word]:
    """A written word spans from its first word event to the end of the last speech
    phone before the next word (pauses between words belong to no word)."""
    starts: list[tuple[float, int]] = []
    for sample, position in events:
        index = said.word_at(position)
        if index is None or (starts and starts[-1][1] == index):
            continue  # a number said as several words is one written word
        starts.append((sample * 1000.0 / sample_rate, index))
    words: list[Word] = []
    for k, (start, index) in enumerate(starts):
        limit = starts[k + 1][0] if k + 1 < len(starts) else float("inf")
        # espeak may say several written words as one (您好): show them all.
        last = starts[k + 1][1] if k + 1 < len(starts) else len(said.words)
        end = start
        for phone in phones:
            if phone.start_ms >= limit:
                break
            if phone.start_ms >= start - 1e-6 and phone.symbol != "sil":
                end = min(phone.end_ms, limit)  # word events can fall inside a phone
        if end > start:
            pieces = [w.written for w in said.words[index : max(last, index + 1)]]
            text = ("" if not any(p.isascii() for p in pieces) else " ").join(pieces)
            words.append(Word(text, start, end - start))
    return words
