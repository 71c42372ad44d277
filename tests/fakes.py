"""Fakes for the fast tier: the session's logic tested in milliseconds, with no model loaded.

- `ScriptedTranscriber`: hears whatever the test scripted (by call, or one text for every call).
- `EnergyVad`: a VAD whose speech probability is scripted by the audio itself (loud = speech),
  in the same 32 ms windows as silero, so a test speaks by sending a tone and pauses with zeros.
- `HashEmbedder`: deterministic character-n-gram vectors; a real Chroma index built on it
  retrieves paraphrases that share words, which is all the session's tests need.
- `SilentVoice`: a TTS engine that "speaks" silence of a length set by the text, with one
  phone and one word per token, so chunking, pacing, lip-sync and barge-in run for real.

`fake_services(tmp_path)` assembles them into the same `Services` the server runs on. These
fakes are for tests of the logic around the models; the real-model tests stay (marked slow).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RATE = 16_000
WINDOW = 512   # samples per VAD window at 16 kHz, as silero


class ScriptedTranscriber:
    """Returns `script[i]` for the i-th call (the last one repeats), recording every call."""

    def __init__(self, *script: str, language: str | None = None):
        self.script = list(script) or [""]
        self.language = language
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def transcribe(self, audio: np.ndarray, *, language: str | None = None, prompt: str | None = None):
        from assistant.asr import Transcript

        with self._lock:
            self.calls.append({"samples": len(audio), "language": language, "prompt": prompt})
            text = self.script[min(len(self.calls) - 1, len(self.script) - 1)]
        heard_in = language or self.language or ("zh" if re.search(r"[\u4e00-\u9fff]", text) else "en")
        return Transcript(text, heard_in, duration_s=len(audio) / RATE)


class _EnergyDetector:
    def __init__(self, threshold: float):
        self.threshold = threshold
        self._pending = np.zeros(0, np.float32)

    def reset_state(self) -> None:
        self.resets = getattr(self, "resets", 0) + 1   # energy has no state; counted for tests

    def process(self, audio: np.ndarray) -> np.ndarray:
        buf = np.concatenate((self._pending, np.asarray(audio, np.float32)))
        n = len(buf) // WINDOW
        windows = buf[: n * WINDOW].reshape(n, WINDOW) if n else np.zeros((0, WINDOW), np.float32)
        self._pending = buf[n * WINDOW:]
        return (np.sqrt((windows ** 2).mean(axis=1)) > self.threshold).astype(np.float32) if n else np.zeros(0)


class EnergyVad:
    """`.detector()` per session, like assistant.loading.SileroVadModel."""

    def __init__(self, threshold: float = 0.05):
        self.threshold = threshold

    def detector(self) -> _EnergyDetector:
        return _EnergyDetector(self.threshold)


def tone(seconds: float, amplitude: float = 0.3) -> np.ndarray:
    """'Speech' for EnergyVad: a 220 Hz tone at 16 kHz."""
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds), np.float32)


class HashEmbedder:
    """Bag of character bigrams hashed into 256 dimensions, L2-normalised."""

    name = "fake-hash-256"
    dim = 256

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            clean = re.sub(r"\s+", " ", text.lower().strip())
            for a, b in zip(clean, clean[1:]):
                rows[i, int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=2).digest(), "big") % self.dim] += 1
            norm = np.linalg.norm(rows[i])
            rows[i] = rows[i] / norm if norm else rows[i]
        return rows

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)


class SilentVoice:
    """A TTS engine: `ms_per_token` of silence per word (or Han character), exact timings."""

    def __init__(self, language: str, *, sample_rate: int = 16_000, ms_per_token: float = 120.0):
        self.language = language
        self.sample_rate = sample_rate
        self.ms_per_token = ms_per_token
        self.spoken: list[str] = []

    def synthesize(self, text: str) -> Iterator[Any]:
        from avatar_bridge import Phone, Word
        from voices.types import SpeechSegment

        tokens = re.findall(r"[\u4e00-\u9fff]|[A-Za-z0-9']+", text) or ["."]
        per = int(self.sample_rate * self.ms_per_token / 1000)
        step_ms = per * 1000.0 / self.sample_rate
        alphabet = "pinyin" if self.language == "zh" else "ipa"
        phone = "a1" if self.language == "zh" else "a"
        phones = [Phone(phone, i * step_ms, step_ms) for i in range(len(tokens))]
        words = [Word(tok, i * step_ms, step_ms) for i, tok in enumerate(tokens)]
        self.spoken.append(text)
        yield SpeechSegment(text=text, language=self.language, audio=np.zeros(per * len(tokens), np.int16),
                            sample_rate=self.sample_rate, phones=phones, words=words, alphabet=alphabet)


FAKE_KB = [
    {"id": "lost-card", "tags": ["cards"],
     "questions": {"en": ["I lost my bank card", "how do I report a lost card"], "zh": ["银行卡丢了怎么办", "我的卡丢了"]},
     "answer": {"en": "Call us at once to freeze the card.", "zh": "请立即致电冻结银行卡。"}},
    {"id": "opening-hours", "tags": ["branches"],
     "questions": {"en": ["what are your opening hours", "when are you open"], "zh": ["你们几点开门", "营业时间是什么"]},
     "answer": {"en": "Branches open from nine to five on weekdays.", "zh": "网点工作日九点到五点营业。"}},
    {"id": "wealth-risk", "tags": ["wealth"],
     "questions": {"en": ["tell me about your wealth products", "which wealth products do you sell"],
                   "zh": ["你们有哪些理财产品", "理财产品有哪些"]},
     "answer": {"en": "We offer several wealth products.", "zh": "我们提供多种理财产品。"},
     "disclosure": {"en": "Wealth products carry risk.", "zh": "理财有风险，投资需谨慎。"}},
]


def fake_services(tmp_path: Path, transcriber: ScriptedTranscriber | None = None, **settings: Any):
    """The server's `Services`, every engine a fake; `settings` override the test defaults."""
    from assistant.metrics import Metrics
    from assistant.responder import Responder
    from assistant.loading import make_scheduler
    from assistant.services import Services
    from assistant.settings import Settings
    from knowledge import KnowledgeIndex
    from knowledge.entry import Entry

    # The fast tier streams audio at 10-20x real time; the pace limit has its own tests.
    limits = {"anon_sessions_per_minute": 10_000, "anon_requests_per_minute": 10_000, "max_audio_rate": 1000.0,
              **settings.pop("limits", {})}
    config = Settings(data_dir=tmp_path / "data", model_dir=tmp_path / "models", presynthesize=False,
                      limits=limits, **settings)
    index = KnowledgeIndex(tmp_path / "chroma", HashEmbedder())
    index.build([Entry.from_dict(e) for e in FAKE_KB])
    inference = make_scheduler(config)
    return Services(settings=config, transcriber=transcriber or ScriptedTranscriber("I lost my bank card"),
                    vad=EnergyVad(), index=index, responder=Responder(index, handoff_threshold=0.3),
                    speaker=fake_speaker(), metrics=Metrics(), inference=inference, asr_prompts={})


def fake_speaker():
    """The server's speaker (`CachedSpeaker`) on `SilentVoice`s, in both languages."""
    from assistant.speech_out import CachedSpeaker
    from voices import split_sentences

    return CachedSpeaker({"en": SilentVoice("en"), "zh": SilentVoice("zh", sample_rate=24_000)},
                         {"en": "silent-en", "zh": "silent-zh"}, split=split_sentences)


class FakeSocket:
    """An in-memory WebSocket for `assistant.session.Session` (its `Socket` protocol), as Wyoming
    tests its events on fake streams: the test queues client frames and reads the server's events
    as they were sent. `send_delay_s` makes it a slow socket (every send takes that long)."""

    def __init__(self, send_delay_s: float = 0.0):
        import asyncio

        self.send_delay_s = send_delay_s
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.closed_with: tuple[int, str | None] | None = None
        self._changed = asyncio.Condition()

    # the session's side
    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_text(self, data: str) -> None:
        import asyncio
        import json

        if self.closed_with is not None:
            raise RuntimeError("the socket is closed")
        data.encode("utf-8")   # as a real socket does: text that is not UTF-8 cannot be sent
        if self.send_delay_s:
            await asyncio.sleep(self.send_delay_s)
        async with self._changed:
            self.sent.append(json.loads(data))
            self._changed.notify_all()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        async with self._changed:
            self.closed_with = (code, reason)
            self._changed.notify_all()

    # the test's side
    def text(self, event: Any) -> None:
        import json

        self.incoming.put_nowait({"type": "websocket.receive",
                                  "text": event if isinstance(event, str) else json.dumps(event)})

    def audio(self, audio: np.ndarray) -> None:
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        self.incoming.put_nowait({"type": "websocket.receive", "bytes": pcm})

    def disconnect(self) -> None:
        self.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})

    def types(self) -> list[str]:
        return [e["type"] for e in self.sent]

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        """Until `predicate(sent events)` holds (a type name: until one such event was sent)."""
        import asyncio

        check = (lambda sent: any(e["type"] == predicate for e in sent)) if isinstance(predicate, str) else predicate
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: check(self.sent) or self.closed_with is not None),
                                   timeout)
