"""Pipecat 1.14 as the peer of the voice-turn latency benchmark (`benchmarks/latency.py --peer pipecat`).

Runs with the peer virtualenv's python (Pipecat's runtime dependencies live there, not in the
project's environment; one-time setup in benchmarks/README.md), started by `latency.py`:

    ~/.cache/digital-teller/peer-venv/bin/python benchmarks/peer_pipecat.py --port 0

It serves a loopback WebSocket. Per connection (one question, like a fresh session of ours) the
client sends {"type": "start", "language": "en"|"zh"}, waits for {"type": "ready"}, then streams
16 kHz PCM16 at microphone pace. A fresh Pipecat pipeline hears it:

    input audio -> VADProcessor(SileroVADAnalyzer(stop_secs=0.2)) -> WhisperSTTService (faster-whisper,
    our local Whisper base folder, int8, cpu, the session's language and the knowledge
    base's terms ours gives Whisper as its prompt)
    -> Answerer (our Responder: the same knowledge-base answer as ours) -> VoiceTTS (our bundled
    voice in a Pipecat TTSService) -> Reporter

and the Reporter sends events back as they leave the pipeline: "vad_started", "vad_stopped",
"transcript", "answer" {response, entry_id, text} when the answer is looked up, "audio" {response}
at the first TTS audio frame of each answer, "done" {response} at its TTSStoppedFrame.

Pipecat's own pieces are used as shipped; only the Whisper model object is loaded once and shared
by every session's WhisperSTTService (Pipecat would load the same folder the same way per session),
and Pipecat's Piper service is not used: it needs the GPL `piper-tts` package and downloads voices,
and our Mandarin voice is no Piper voice; VoiceTTS runs the same engines ours does.
Only 127.0.0.1; no model is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from loguru import logger  # noqa: E402
from pipecat.audio.vad.silero import SileroVADAnalyzer  # noqa: E402
from pipecat.audio.vad.vad_analyzer import VADParams  # noqa: E402
from pipecat.frames.frames import (InputAudioRawFrame, InterruptionFrame, LLMFullResponseEndFrame,  # noqa: E402
                                   LLMFullResponseStartFrame, LLMTextFrame, TranscriptionFrame,
                                   TTSAudioRawFrame, TTSStoppedFrame, VADUserStartedSpeakingFrame,
                                   VADUserStoppedSpeakingFrame)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineParams, PipelineWorker  # noqa: E402
from pipecat.processors.audio.vad_processor import VADProcessor  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.services.settings import TTSSettings  # noqa: E402
from pipecat.services.tts_service import TTSService  # noqa: E402
from pipecat.services.whisper.stt import WhisperSTTService  # noqa: E402
from pipecat.transcriptions.language import Language  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402

RATE = 16_000
STOP_SECS = 0.2
LANGUAGES = {"en": Language.EN, "zh": Language.ZH}


class Shared:
    """What every session uses, loaded once: our knowledge answerer, voices, ASR prompts, Whisper."""

    def __init__(self, model_dir: Path | None, data_dir: Path) -> None:
        from faster_whisper import WhisperModel

        from assistant.loading import check_models, load_responder
        from assistant.settings import Settings
        from voices import load_voice

        settings = Settings(data_dir=data_dir, **({"model_dir": model_dir} if model_dir else {}))
        check_models(settings, {"whisper-base", settings.voice_en, settings.voice_zh})
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.responder = load_responder(settings)
        index = self.responder.index
        self.prompts = {lang: index.prompt_terms(lang) for lang in LANGUAGES}
        self.engines = {"en": load_voice(settings.voice_en, settings.model_dir),
                        "zh": load_voice(settings.voice_zh, settings.model_dir)}
        self.whisper_dir = settings.model_dir / "whisper-base"
        # As WhisperSTTService._load builds it, from our local folder.
        self.whisper = WhisperModel(str(self.whisper_dir), device="cpu", compute_type="int8")

    def answer(self, text: str, language: str):
        candidates, retrieval_s, _ = self.responder.retrieve(text, language)
        return self.responder.answer(text, language, candidates, retrieval_s)


class SharedWhisperSTT(WhisperSTTService):
    """Pipecat's faster-whisper service, with the model object loaded once for all sessions."""

    shared_model = None

    def _load(self):
        self._model = self.shared_model


class VoiceTTS(TTSService):
    """Our bundled voice (Piper `joe` / the Mandarin `baker`) as a Pipecat TTS service."""

    def __init__(self, engine, **kwargs):
        super().__init__(push_start_frame=True, push_stop_frames=True, **kwargs)
        self._engine = engine

    def can_generate_metrics(self) -> bool:
        return True

    async def run_tts(self, text: str, context_id: str):
        pieces = iter(getattr(self._engine, "stream", self._engine.synthesize)(text))

        def next_piece():
            return next(pieces, None)

        async def audio():
            while (seg := await asyncio.to_thread(next_piece)) is not None:
                yield seg.audio.astype("<i2").tobytes()

        await self.start_tts_usage_metrics(text)
        async for frame in self._stream_audio_frames_from_iterator(
                audio(), in_sample_rate=self._engine.sample_rate, context_id=context_id):
            await self.stop_ttfb_metrics()
            yield frame


class Answerer(FrameProcessor):
    """A final transcript -> our knowledge-base answer, as one LLM-style response for the TTS;
    speech that starts again interrupts an answer in progress (barge-in, as ours does)."""

    def __init__(self, shared: Shared, language: str, report) -> None:
        super().__init__()
        self._shared, self._language, self._report = shared, language, report
        self.latest = -1    # the number of the latest answer (0, 1, ...)

    async def process_frame(self, frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, VADUserStartedSpeakingFrame) and self.latest >= 0:
            await self.push_frame(InterruptionFrame())
        if not isinstance(frame, TranscriptionFrame):
            await self.push_frame(frame, direction)
            return
        text = frame.text.strip()
        await self._report({"type": "transcript", "text": text})
        answer = await asyncio.to_thread(self._shared.answer, text, self._language)
        self.latest += 1
        await self._report({"type": "answer", "response": self.latest, "entry_id": answer.entry_id,
                            "text": answer.text})
        await self.push_frame(LLMFullResponseStartFrame())
        for part in (answer.text, answer.disclosure):
            if part:
                await self.push_frame(LLMTextFrame(part + " "))
        await self.push_frame(LLMFullResponseEndFrame())


class Reporter(FrameProcessor):
    """The pipeline's end: tells the client when speech stopped and when answer audio left. A TTS
    context's first audio belongs to the latest answer (an earlier one was interrupted by then)."""

    def __init__(self, report, answerer: Answerer) -> None:
        super().__init__()
        self._report, self._answerer = report, answerer
        self._contexts: dict[str, int] = {}

    async def process_frame(self, frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, TTSAudioRawFrame) and frame.context_id not in self._contexts:
            self._contexts[frame.context_id] = self._answerer.latest
            await self._report({"type": "audio", "response": self._contexts[frame.context_id]})
        elif isinstance(frame, TTSStoppedFrame) and frame.context_id in self._contexts:
            await self._report({"type": "done", "response": self._contexts[frame.context_id]})
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            await self._report({"type": "vad_stopped"})
        elif isinstance(frame, VADUserStartedSpeakingFrame):
            await self._report({"type": "vad_started"})
        await self.push_frame(frame, direction)


def build_worker(shared: Shared, language: str, report) -> PipelineWorker:
    stt = SharedWhisperSTT(device="cpu", compute_type="int8", settings=WhisperSTTService.Settings(
        model=str(shared.whisper_dir), language=LANGUAGES[language], initial_prompt=shared.prompts[language]))
    tts = VoiceTTS(shared.engines[language], settings=TTSSettings(model=None, voice=None, language=LANGUAGES[language]))
    answerer = Answerer(shared, language, report)
    pipeline = Pipeline([
        VADProcessor(vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=STOP_SECS))),
        stt, answerer, tts, Reporter(report, answerer),
    ])
    return PipelineWorker(pipeline, params=PipelineParams(audio_in_sample_rate=RATE), enable_rtvi=False,
                          idle_timeout_secs=None)


async def session(ws, shared: Shared) -> None:
    start = json.loads(await asyncio.wait_for(ws.recv(), 10))
    language = start.get("language", "en")
    if language not in LANGUAGES:
        await ws.send(json.dumps({"type": "error", "message": f"unknown language {language!r}"}))
        return

    async def report(event: dict) -> None:
        try:
            await ws.send(json.dumps(event, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - the client left; the pipeline is being torn down
            pass

    worker = build_worker(shared, language, report)
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker, _frame):
        started.set()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    run = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(started.wait(), 30)
        await ws.send(json.dumps({"type": "ready"}))
        async for message in ws:
            if isinstance(message, bytes):
                await worker.queue_frame(InputAudioRawFrame(audio=message, sample_rate=RATE, num_channels=1))
    finally:
        await worker.cancel()
        try:
            await asyncio.wait_for(run, 10)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            run.cancel()


async def serve(port: int, shared: Shared) -> None:
    from websockets.asyncio.server import serve as ws_serve

    async with ws_serve(lambda ws: session(ws, shared), "127.0.0.1", port, max_size=2**24) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {bound}", flush=True)   # latency.py reads this line
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="loopback port (0: any free one, printed as 'PORT n')")
    ap.add_argument("--model-dir", type=Path, help="default: the settings' model_dir")
    ap.add_argument("--data-dir", type=Path, default=Path.home() / ".cache" / "digital-teller" / "bench-data-peer",
                    help="knowledge store/index folder of the peer (its own, seeded from the same demo KB)")
    ap.add_argument("--log-level", default="WARNING", help="Pipecat's loguru level (default WARNING)")
    args = ap.parse_args(argv)
    logger.remove()
    logger.add(sys.stderr, level=args.log_level)
    shared = Shared(args.model_dir, args.data_dir)
    SharedWhisperSTT.shared_model = shared.whisper
    asyncio.run(serve(args.port, shared))
    return 0


if __name__ == "__main__":
    sys.exit(main())
