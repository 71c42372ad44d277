"""Voice-turn latency: end of speech -> first answer audio, our pipeline against a naive one.

    python benchmarks/latency.py --n 12 --json latency.json

Spoken questions (half English, half Mandarin, taken from the demo knowledge base and made with the
bundled voices) are streamed in real time over a loopback WebSocket to the real server, which runs
in this process on the same loaded models as the naive baseline. For every question it measures
the wall time from the moment the chunk holding the last speech sample was sent to the first
`response.audio.delta`, checks that the answer cites the expected knowledge entry, and checks that
nothing was answered before the customer had finished: a question counts as "answered early" when
a `response.created` or an `input_audio_buffer.committed` arrived before its last speech sample was
sent, or when it became more than one turn (two-clause questions with a 0.7 s pause test that
specifically). Stage timings come from the server's `/metrics` (per-question change of
each `dt_stage_seconds` histogram) and from the arrival times of the protocol events.

Naive baseline, same clip, same models: wait 0.5 s of silence after the utterance, transcribe the
whole clip, retrieve, synthesise the whole answer, then send: 0.5 s + ASR + retrieval + full TTS.

`--peer pipecat` also streams every question, the same way, to Pipecat 1.14 in a subprocess
(benchmarks/peer_pipecat.py, in its own virtualenv; benchmarks/latency_peer.py), interleaved with
ours question by question, and prints both p50/p95 and the ratio Pipecat p50 / ours p50.

It only uses 127.0.0.1, and every wait has a timeout, so it always stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np

from latency_questions import (LEAD_S, RATE, TWO_CLAUSE, WARMUP, Question, build_questions,  # noqa: E402
                               build_turn_end_questions, synthesize_16k, trim)
from loopback import LoopbackServer  # noqa: E402
from latency_report import ms, print_table, summarise  # noqa: E402  (beside this script)
from latency_peer import (DEFAULT_VENV, PeerProcess, interleave, missing_venv_message, peer_python,  # noqa: E402
                          print_peer, run_peer_turn, stream_turn, summarise_peer)

NAIVE_SILENCE_S = 0.5                # the baseline's fixed end-of-speech wait
ORIGIN = "http://localhost:8000"
DEFAULT_DATA_DIR = Path.home() / ".cache" / "digital-teller" / "bench-data"
STAGES = ("endpointing", "asr_final", "asr_partial", "retrieval", "tts_first_audio", "turn_to_first_audio")

# ---------------------------------------------------------------------------------- server

class BenchServer(LoopbackServer):
    """The app on loopback, with the URLs and the `/metrics` scrape this benchmark reads."""

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/session"

    def scrape(self) -> dict[str, float]:
        """`/metrics` as {sample name with labels: value}, for the series this benchmark reads."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            text = r.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith(("dt_stage_seconds_sum", "dt_stage_seconds_count", "dt_speculations_total")):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out


def metric_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    stages = {}
    for stage in STAGES:
        s = f'{{stage="{stage}"}}'
        stages[stage] = {
            "sum": after.get("dt_stage_seconds_sum" + s, 0.0) - before.get("dt_stage_seconds_sum" + s, 0.0),
            "count": int(after.get("dt_stage_seconds_count" + s, 0.0) - before.get("dt_stage_seconds_count" + s, 0.0)),
        }
    fates = {}
    for fate in ("used", "resumed", "abandoned"):
        k = f'dt_speculations_total{{fate="{fate}"}}'
        fates[fate] = int(after.get(k, 0.0) - before.get(k, 0.0))
    return {"stages": stages, "speculations": fates}


# ---------------------------------------------------------------------------------- our pipeline

async def voice_turn(url: str, q: Question) -> dict[str, Any]:
    """One fresh session: stream lead silence + the question + silence at microphone pace."""
    import websockets

    async with websockets.connect(url, origin=ORIGIN, max_size=2**24, open_timeout=10, close_timeout=2) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first["type"] == "session.created", first
        await ws.send(json.dumps({"type": "session.update",
                                  "session": {"language": q.language, "input_sample_rate": RATE}}))
        while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "session.updated":
            pass
        events, end = await stream_turn(ws, q.audio, "response.created", "response.done", "response_id")
    return analyse_turn(q, events, end)


def analyse_turn(q: Question, events: list[tuple[float, dict[str, Any]]], end: float) -> dict[str, Any]:
    created = [(t, e) for t, e in events if e["type"] == "response.created"]
    commits = [(t, e) for t, e in events if e["type"] == "input_audio_buffer.committed"]
    early = [e for t, e in created if t < end]
    # A turn ended before the customer had finished: even when its answer is then cancelled by
    # the rest of the question (barge-in), what gets answered is only a part of the question.
    cut = [e for t, e in commits if t < end]
    answer = next(((t, e) for t, e in created if t >= end), None)
    row: dict[str, Any] = {
        "id": q.qid, "language": q.language, "text": q.text, "expected": q.expected, "two_clause": q.two_clause,
        "speech_s": round(q.seconds, 3), "responses": len(created), "turns": len(commits),
        "response_before_end": bool(early), "turn_ended_before_end": bool(cut),
        "answered_early": bool(early or cut or len(commits) > 1),
        "early_texts": [e.get("text", "")[:60] for e in early],
        "errors": [e.get("code") for _, e in events if e["type"] == "error"],
        "transcript": None, "entry_id": None, "cited": False, "first_audio_s": None, "wall": {},
    }
    if answer is None:
        return row
    t_created, created_event = answer
    row["entry_id"] = created_event.get("entry_id")
    row["cited"] = row["entry_id"] == q.expected
    audio = next(((t, e) for t, e in events if e["type"] == "response.audio.delta"
                  and e.get("response_id") == created_event["response_id"]), None)
    turn_id = created_event.get("turn_id")
    final = next(((t, e) for t, e in events if e["type"] == "transcript.final" and e.get("turn_id") == turn_id), None)
    committed = next((i for i, (t, e) in enumerate(events)
                      if e["type"] == "input_audio_buffer.committed" and e.get("turn_id") == turn_id), None)
    stopped = None
    if committed is not None:   # the server sends speech_stopped right before the turn's committed
        stopped = next(((t, e) for t, e in reversed(events[:committed])
                        if e["type"] == "input_audio_buffer.speech_stopped"), events[committed])
    if final:
        row["transcript"] = final[1].get("text")
    if audio:
        row["first_audio_s"] = audio[0] - end
    # The critical path after the end of speech, as the client sees it (these add up to first_audio_s).
    marks = [("endpoint_wait", stopped), ("asr_wait", final), ("retrieval_wait", (t_created, None)),
             ("tts_first_audio", audio)]
    prev = end
    for name, mark in marks:
        if mark is None:
            continue
        row["wall"][name] = max(0.0, mark[0] - prev)
        prev = max(prev, mark[0])
    return row


# ---------------------------------------------------------------------------------- naive baseline

def naive_turn(services, q: Question) -> dict[str, Any]:
    """Whole utterance + 0.5 s silence, then ASR, retrieval and the WHOLE answer's TTS, in sequence."""
    clip = np.concatenate([np.zeros(int(LEAD_S * RATE), np.float32), q.audio,
                           np.zeros(int(NAIVE_SILENCE_S * RATE), np.float32)])
    t0 = time.perf_counter()
    result = services.transcriber.transcribe(clip, language=q.language, prompt=services.asr_prompts.get(q.language))
    t1 = time.perf_counter()
    text = result.text.strip()
    candidates, retrieval_s, _ = services.responder.retrieve(text, q.language)
    answer = services.responder.answer(text, q.language, candidates, retrieval_s)
    t2 = time.perf_counter()
    engine = services.speaker.engines[answer.language]   # the engine itself: no sentence cache
    audio_s = 0.0
    for part in (answer.text, answer.disclosure):
        if part:
            for seg in engine.synthesize(part):
                audio_s += len(seg.audio) / seg.sample_rate
    t3 = time.perf_counter()
    return {
        "transcript": text, "entry_id": answer.entry_id, "cited": answer.entry_id == q.expected,
        "asr_s": t1 - t0, "retrieval_s": t2 - t1, "tts_s": t3 - t2, "answer_audio_s": audio_s,
        "first_audio_s": NAIVE_SILENCE_S + (t3 - t0),
    }


def cpu_snapshot() -> tuple[float, float, float] | None:
    """(wall s, CPU s busy on the whole machine, CPU s used by this process), Linux only."""
    try:
        with open("/proc/stat") as fh:
            fields = [float(x) for x in fh.readline().split()[1:]]
    except OSError:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)   # idle + iowait
    t = os.times()
    return time.monotonic(), (sum(fields[:8]) - idle) / hz, t.user + t.system


def other_cpu_share(start, end, peer_s: float = 0.0) -> dict[str, float] | None:
    """How much of the machine other processes used while this benchmark ran (0..1 of all cores);
    `peer_s`: CPU seconds of the --peer process, counted as this benchmark's."""
    if not start or not end:
        return None
    wall, busy, own = (e - s for s, e in zip(start, end))
    own += peer_s
    cores = os.cpu_count() or 1
    return {"others": round(max(0.0, busy - own) / (wall * cores), 3), "this_benchmark": round(own / (wall * cores), 3)}


def clear_tts_cache(services) -> None:
    """--tts-cache cold: no sentence synthesised earlier (by a question or pre-synthesis) is reused."""
    from assistant.speech_out import SegmentCache

    speaker = services.speaker
    speaker.cache = SegmentCache(speaker.cache.max_bytes)
    if getattr(speaker, "disk", None) is not None:
        speaker.disk = None


def presynthesize(services) -> dict[str, Any]:
    """--tts-cache warm: what the server does after start-up, done here before measuring, so that the
    background work never competes with a measured turn (the app's own thread is switched off)."""
    start = time.perf_counter()
    try:
        from assistant.loading import approved_texts
    except ImportError:
        return {"sentences_made": None, "seconds": 0.0, "note": "this version has no answer pre-synthesis"}
    made = services.speaker.presynthesize(approved_texts(services.index))
    return {"sentences_made": made, "seconds": round(time.perf_counter() - start, 1)}


def git_state() -> dict[str, Any]:
    import subprocess

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], check=False, cwd=ROOT, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "--short", "HEAD").strip(),
            "changed_files": [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10, help="single spoken questions, half English, half Mandarin")
    ap.add_argument("--two-clause", type=int, default=4, choices=range(len(TWO_CLAUSE) + 1),
                    help="extra two-clause questions with a 0.7 s pause (default 4)")
    ap.add_argument("--seed", type=int, default=7, help="which knowledge entries are asked")
    ap.add_argument("--turn-end", choices=("dev", "heldout", "all", "heldout2", "heldout3"),
                    help="ask the turn-end set's half instead (benchmarks/turn_end_set.py: questions with a "
                         "0.3-0.9 s pause inside and complete ones, bundled voices and espeak-ng); --n and "
                         "--two-clause are then ignored")
    ap.add_argument("--json", type=Path, help="write every row and the summary here")
    ap.add_argument("--model-dir", type=Path, help="default: the settings' model_dir (~/.cache/digital-teller/models)")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                    help=f"server data folder; kept, so answer pre-synthesis is done once (default {DEFAULT_DATA_DIR})")
    ap.add_argument("--tts-cache", choices=("warm", "cold"), default="warm",
                    help="warm: every approved answer pre-synthesised, as a running server has it (default); "
                         "cold: no answer cache, every sentence synthesised when it is needed")
    ap.add_argument("--peer", choices=("pipecat",), help="also run Pipecat 1.14 on the same questions, interleaved "
                    "with ours (benchmarks/peer_pipecat.py), and print the ratio Pipecat p50 / ours p50")
    ap.add_argument("--peer-venv", type=Path, default=DEFAULT_VENV, help=f"the peer's virtualenv (default {DEFAULT_VENV})")
    args = ap.parse_args(argv)
    peer_py = peer_python(args.peer_venv) if args.peer else None
    if args.peer and peer_py is None:
        print(missing_venv_message(args.peer_venv), file=sys.stderr)
        return 2

    from assistant.app import create_app
    from assistant.loading import load_services
    from assistant.settings import Settings

    load_start = os.getloadavg()
    code = git_state()   # the code as loaded: other people may be editing the tree during a run
    extra: dict[str, Any] = {"model_dir": args.model_dir} if args.model_dir else {}
    if "presynthesize" in Settings.model_fields:
        extra["presynthesize"] = False   # done below, before measuring, when --tts-cache warm
    settings = Settings(data_dir=args.data_dir, allowed_origins=[ORIGIN],
                        limits={"anon_sessions_per_minute": 100_000}, **extra)
    print(f"loading models from {settings.model_dir} ...", flush=True)
    services = load_services(settings)
    if args.turn_end:
        questions = build_turn_end_questions(services, args.turn_end)
    else:
        questions = build_questions(services, args.n, args.seed, args.two_clause)
    presynth = None
    if args.tts_cache == "warm":
        print("pre-synthesising approved answers into the answer cache ...", flush=True)
        presynth = presynthesize(services)
        print(f"  {presynth}", flush=True)
    print(f"{len(questions)} questions, {sum(q.seconds for q in questions):.1f} s of speech", flush=True)

    rows: list[dict[str, Any]] = []
    app = create_app(settings, services)
    peer = None
    try:
        peer = PeerProcess(peer_py, args.model_dir) if peer_py else None
        cpu_start, peer_cpu_start = cpu_snapshot(), peer and peer.cpu_seconds()
        with BenchServer(app, ws_max_size=4 * settings.limits.max_frame_bytes) as server:
            for text, lang in WARMUP:   # first inference of each model is slow; not counted
                warm = Question("warm", lang, text, "", False, trim(synthesize_16k(services, text, lang)))
                asyncio.run(voice_turn(server.ws_url, warm))
                naive_turn(services, warm)
                if peer:
                    run_peer_turn(peer.url, warm)
            for i, side in interleave(len(questions), peer is not None):   # ours, peer, ours, peer ...
                q = questions[i]
                if side == "peer":                    # after ours on the same question
                    time.sleep(0.5)
                    row = rows[-1]
                    row["peer"] = run_peer_turn(peer.url, q)
                    print(f"{q.qid} {q.language} pipecat {ms(row['peer']['first_audio_s'])} ms  entry "
                          f"{row['peer']['entry_id']}{'  ANSWERED EARLY' if row['peer']['answered_early'] else ''}"
                          f"  | {row['peer']['transcript']}", flush=True)
                    continue
                if args.tts_cache == "cold":
                    clear_tts_cache(services)
                time.sleep(0.5)                       # let the previous turn's background work settle
                before = server.scrape()
                try:
                    row = asyncio.run(voice_turn(server.ws_url, q))
                except Exception as exc:  # noqa: BLE001 - one broken turn is reported, the run goes on
                    row = analyse_turn(q, [], time.monotonic())
                    row["errors"].append(f"client: {exc!r}")
                time.sleep(0.3)
                row["server"] = metric_delta(before, server.scrape())
                row["naive"] = naive_turn(services, q)
                rows.append(row)
                print(f"{q.qid} {q.language} ours {ms(row['first_audio_s'])} ms  naive {ms(row['naive']['first_audio_s'])} ms"
                      f"  entry {row['entry_id']} ({'ok' if row['cited'] else 'expected ' + q.expected})"
                      f"{'  ANSWERED EARLY' if row['answered_early'] else ''}  | {row['transcript']}", flush=True)
    finally:
        peer_cpu = peer and peer.cpu_seconds()
        if peer:
            peer.close()
        services.close()
    load_end = os.getloadavg()
    peer_cpu_s = (peer_cpu - peer_cpu_start) if peer and peer_cpu is not None and peer_cpu_start is not None else None
    cpu_share = other_cpu_share(cpu_start, cpu_snapshot(), peer_cpu_s or 0.0)

    summary = summarise(rows, args, load_start, load_end, cpu_share)
    summary["code"] = code
    summary["presynthesis"] = presynth
    print_table(rows, summary)
    if peer:
        summary["peer"] = summarise_peer(rows, peer_cpu_s)
        print_peer(rows, summary["peer"])
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, ensure_ascii=False, indent=1))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
