"""The peer side of the voice-turn latency benchmark: `benchmarks/latency.py --peer pipecat`.

Starts `benchmarks/peer_pipecat.py` with the peer virtualenv's python (Pipecat's dependencies are
kept out of the project's environment), streams each question to it over loopback exactly as to
ours (the same audio, 40 ms chunks at microphone pace, timed from the send of the chunk holding
the last speech sample to the arrival of the first answer audio), and summarises both side by
side. Ours (`latency.voice_turn`) streams through the same `stream_turn`, so both are timed the
same way.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from latency_questions import LEAD_S, RATE, Question  # noqa: E402  (beside this script)
from latency_report import ms, pct  # noqa: E402

HERE = Path(__file__).resolve().parent
PEER_SCRIPT = HERE / "peer_pipecat.py"
DEFAULT_VENV = Path.home() / ".cache" / "digital-teller" / "peer-venv"
SETUP = ('python -m venv --system-site-packages {venv} && {venv}/bin/pip install "pipecat-ai[silero]==1.14.0"')
CHUNK = RATE * 40 // 1000            # 40 ms microphone chunks (as latency.py)
ANSWER_TIMEOUT_S = 20.0
TAIL_S = 0.3
START_TIMEOUT_S = 300.0              # the peer loads Whisper, the voices and the knowledge index


# ---------------------------------------------------------------------------------- streaming (both sides)

def speech_pcm(audio: np.ndarray) -> tuple[bytes, int]:
    """Lead silence + the question as PCM16, padded so the last speech sample ends a chunk exactly;
    returns (pcm, number of chunks that hold speech)."""
    lead = int(LEAD_S * RATE) + (-(int(LEAD_S * RATE) + len(audio))) % CHUNK
    speech = np.concatenate([np.zeros(lead, np.float32), audio])
    return (np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes(), len(speech) // CHUNK


async def stream_paced(send: Callable, audio: np.ndarray, speech_end: list[float], finished: asyncio.Event,
                       reader: asyncio.Task) -> None:
    """Send the question then silence, chunk k when [k*40, (k+1)*40) ms has been "captured", until
    `finished` (+ TAIL_S) or ANSWER_TIMEOUT_S after the end of speech; `speech_end` gets the
    monotonic time right after the chunk holding the last speech sample was sent."""
    pcm, n_speech = speech_pcm(audio)
    silence = bytes(CHUNK * 2)
    start = time.monotonic()
    k = 0
    stop_at = None
    while True:
        delay = start + (k + 1) * 0.040 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        if k < n_speech:
            await send(pcm[k * CHUNK * 2:(k + 1) * CHUNK * 2])
            if k == n_speech - 1:
                speech_end.append(time.monotonic())
        else:
            await send(silence)
        k += 1
        now = time.monotonic()
        if k > n_speech:
            if stop_at is None and finished.is_set():
                stop_at = now + TAIL_S
            if (stop_at is not None and now >= stop_at) or now > speech_end[0] + ANSWER_TIMEOUT_S:
                break
        if reader.done():
            break


# ---------------------------------------------------------------------------------- the peer process

def peer_python(venv: Path) -> Path | None:
    python = venv / "bin" / "python"
    return python if python.exists() else None


def missing_venv_message(venv: Path) -> str:
    return (f"--peer pipecat needs Pipecat's runtime dependencies in a separate virtualenv, and {venv} "
            f"has none. Set it up once (see benchmarks/README.md):\n  {SETUP.format(venv=venv)}")


class PeerProcess:
    """benchmarks/peer_pipecat.py in the peer venv, on a loopback port; ended (by its pid) on exit."""

    def __init__(self, python: Path, model_dir: Path | None = None) -> None:
        cmd = [str(python), str(PEER_SCRIPT), "--port", "0"] + (["--model-dir", str(model_dir)] if model_dir else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
        self.port = self._read_port()

    def _read_port(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()   # the peer prints 'PORT n' once it listens
            if line.startswith("PORT "):
                return int(line.split()[1])
            if not line and self.proc.poll() is not None:
                break
        self.close()
        raise RuntimeError(f"the Pipecat peer did not start (exit {self.proc.returncode}); see its stderr above. "
                           f"Its virtualenv is set up with: {SETUP.format(venv=Path(self.proc.args[0]).parent.parent)}")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the peer process has used so far (Linux)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (float(fields[11]) + float(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> "PeerProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


async def stream_turn(ws, audio: np.ndarray, created: str, done: str, key: str
                      ) -> tuple[list[tuple[float, dict[str, Any]]], float]:
    """Stream `audio` on the open socket `ws` (`stream_paced`) while reading its events, until the
    `done` event of a response whose `created` event came after the end of speech (responses are
    told apart by `key`); returns [(arrival time, event)] and the end of speech."""
    events: list[tuple[float, dict[str, Any]]] = []
    created_at: dict[Any, float] = {}
    finished = asyncio.Event()
    speech_end: list[float] = []

    async def reader() -> None:
        async for message in ws:
            now = time.monotonic()
            event = json.loads(message)
            events.append((now, event))
            if event["type"] == created:
                created_at[event[key]] = now
            elif event["type"] == done and speech_end and created_at.get(event[key], 0) > speech_end[0]:
                finished.set()

    task = asyncio.create_task(reader())
    try:
        await stream_paced(ws.send, audio, speech_end, finished, task)
    finally:
        task.cancel()
    return events, speech_end[0]


async def peer_turn(url: str, q: Question) -> dict[str, Any]:
    """One fresh Pipecat pipeline: the same audio at the same pace as `voice_turn` gives ours."""
    import websockets

    async with websockets.connect(url, max_size=2**24, open_timeout=10, close_timeout=2) as ws:
        await ws.send(json.dumps({"type": "start", "language": q.language}))
        while json.loads(await asyncio.wait_for(ws.recv(), 30))["type"] != "ready":
            pass
        events, end = await stream_turn(ws, q.audio, "answer", "done", "response")
    return analyse_peer_turn(q, events, end)


def analyse_peer_turn(q: Question, events: list[tuple[float, dict[str, Any]]], end: float) -> dict[str, Any]:
    """The peer's turn, judged as ours is: its answer is the first one looked up after the end of
    speech, timed to that answer's first audio; an answer looked up before the end, or a second
    VAD stop before it, means the question was answered early (Pipecat's 0.2 s stop answers a
    clause)."""
    answers = [(t, e) for t, e in events if e["type"] == "answer"]
    stops = [t for t, e in events if e["type"] == "vad_stopped"]
    early = [e for t, e in answers if t < end]
    answer = next(((t, e) for t, e in answers if t >= end), None)
    row: dict[str, Any] = {"responses": len(answers), "turns": len(stops), "response_before_end": bool(early),
                           "answered_early": bool(early) or any(t < end for t in stops),
                           "transcript": None, "entry_id": None, "cited": False, "first_audio_s": None, "wall": {}}
    if answer is None:
        return row
    t_answer, event = answer
    row["entry_id"] = event.get("entry_id")
    row["cited"] = row["entry_id"] == q.expected
    audio = next((t for t, e in events if e["type"] == "audio" and e["response"] == event["response"]), None)
    stop = max((t for t in stops if t <= t_answer), default=None)
    transcript = max(((t, e) for t, e in events if e["type"] == "transcript" and t <= t_answer),
                     key=lambda te: te[0], default=None)
    if transcript:
        row["transcript"] = transcript[1].get("text")
    if audio is not None:
        row["first_audio_s"] = audio - end
    prev = end
    for name, mark in (("endpoint_wait", stop), ("asr_wait", transcript and transcript[0]),
                       ("retrieval_wait", t_answer), ("tts_first_audio", audio)):
        if mark is None:
            continue
        row["wall"][name] = max(0.0, mark - prev)
        prev = max(prev, mark)
    return row


def interleave(n: int, peer: bool) -> list[tuple[int, str]]:
    """The order of the measured turns: question by question, ours then the peer (so host noise
    falls on both), ours alone without a peer."""
    return [(i, side) for i in range(n) for side in (("ours", "peer") if peer else ("ours",))]


# ---------------------------------------------------------------------------------- summary

def summarise_peer(rows: list[dict[str, Any]], peer_cpu_s: float | None = None) -> dict[str, Any]:
    """Ours and the peer on the same questions: p50/p95 each and the ratio peer p50 / ours p50."""
    ours = [r["first_audio_s"] for r in rows]
    peer = [r["peer"]["first_audio_s"] for r in rows]
    p50_ours, p50_peer = pct(ours, 50), pct(peer, 50)
    stages = {name: {"p50": pct([r["peer"]["wall"].get(name) for r in rows], 50),
                     "p95": pct([r["peer"]["wall"].get(name) for r in rows], 95)}
              for name in ("endpoint_wait", "asr_wait", "retrieval_wait", "tts_first_audio")}
    return {
        "peer": "pipecat 1.14.0 (SileroVADAnalyzer stop_secs 0.2, WhisperSTTService, our answer and voice)",
        "ours_first_audio_s": {"p50": p50_ours, "p95": pct(ours, 95)},
        "peer_first_audio_s": {"p50": p50_peer, "p95": pct(peer, 95), "max": pct(peer, 100),
                               "unanswered": sum(v is None for v in peer)},
        "ratio_peer_over_ours_p50": (p50_peer / p50_ours) if p50_ours and p50_peer else None,
        "peer_stages_s": stages,
        "peer_cited": f"{sum(r['peer']['cited'] for r in rows)}/{len(rows)}",
        "ours_cited": f"{sum(r['cited'] for r in rows)}/{len(rows)}",
        "peer_answered_early": sum(r["peer"]["answered_early"] for r in rows),
        "ours_answered_early": sum(r["answered_early"] for r in rows),
        "peer_process_cpu_s": round(peer_cpu_s, 1) if peer_cpu_s is not None else None,
    }


def print_peer(rows: list[dict[str, Any]], s: dict[str, Any]) -> None:
    print(f"\n{'id':4} {'lang':4} {'ours':>6} {'peer':>6}  {'endpt':>6} {'asr':>6} {'retr':>6} {'tts1':>6}"
          f"  {'cited':5} {'early':5}  peer transcript")
    for r in rows:
        p, w = r["peer"], r["peer"]["wall"]
        print(f"{r['id']:4} {r['language']:4} {ms(r['first_audio_s'])} {ms(p['first_audio_s'])}  {ms(w.get('endpoint_wait'))}"
              f" {ms(w.get('asr_wait'))} {ms(w.get('retrieval_wait'))} {ms(w.get('tts_first_audio'))}"
              f"  {'yes' if p['cited'] else 'NO':5} {'YES' if p['answered_early'] else 'no':5}  {p['transcript']}")
    figures = [("ours", s["ours_first_audio_s"]), ("pipecat 1.14 (silero stop 0.2 s)", s["peer_first_audio_s"])]
    figures += [(f"  pipecat {name}", st) for name, st in s["peer_stages_s"].items()]
    print(f"\n{'end of speech -> first audio':40} {'p50 ms':>8} {'p95 ms':>8}")
    for label, st in figures:
        print(f"{label:40} {ms(st['p50']):>8} {ms(st['p95']):>8}")
    ratio = s["ratio_peer_over_ours_p50"]
    print(f"ratio pipecat p50 / ours p50: {ratio:.2f}" if ratio else "ratio pipecat/ours: n/a")
    print(f"cited: ours {s['ours_cited']}, pipecat {s['peer_cited']}; answered early: ours {s['ours_answered_early']}, "
          f"pipecat {s['peer_answered_early']}; pipecat process CPU {s['peer_process_cpu_s']} s\n")


def run_peer_turn(url: str, q: Question) -> dict[str, Any]:
    try:
        return asyncio.run(peer_turn(url, q))
    except Exception as exc:  # noqa: BLE001 - one broken turn is reported, the run goes on
        row = analyse_peer_turn(q, [], time.monotonic())
        row["error"] = f"client: {exc!r}"
        print(f"  peer turn failed: {exc!r}", file=sys.stderr, flush=True)
        return row
