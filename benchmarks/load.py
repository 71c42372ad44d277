"""Kiosk load: N kiosk sessions at once, in real time, with spoken questions, against one server.

    python benchmarks/load.py --kiosks 20 --json load.json
    python benchmarks/load.py --kiosks 20 --sweep 5,10,20 --bursts 0      # p50/p95 against N, the knee

The server runs as its own process (`digital-teller serve` on 127.0.0.1, the bundled models, the
demo knowledge base, kiosk tokens made for the run), so the clients' work is not inside its event
loop; both share this machine's cores, which the report says. Each kiosk is a WebSocket client that
streams 20 ms PCM16 frames in real time for as long as it is connected (silence between
questions, as a microphone does), speaks a question (demo questions made with the bundled voices,
English and Mandarin), and waits for its answer. Phases, in one run:

- **single**: one kiosk alone asks `--single` questions one after another (the baseline);
- **steady**: N kiosks each ask a question about every `--every` s (±20 %) for `--steady-s` s;
- **burst**: N kiosks all finish speaking at the same moment, `--bursts` times.

Per question: end of speech (the send time of the 20 ms frame holding the last speech sample) to
the first audio of the answer, and to the first audio of any kind (a "one moment, please" counts
there); whether it was answered, with which entry, or refused (`server_busy`). Per phase: p50/p95,
unanswered questions, protocol violations (a `response.created` without its `response.done`, an
answer started before the customer finished, an error other than `server_busy`), sessions closed
by the server, and the server process's CPU (cores used) and peak RSS.

Only 127.0.0.1 is used; every wait has a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402

from latency_questions import RATE, Question, build_questions  # noqa: E402
from latency_report import pct  # noqa: E402
from load_kiosk import Asked, Kiosk  # noqa: E402
from load_server import ServerProcess, Usage  # noqa: E402

DEFAULT_DATA_DIR = Path.home() / ".cache" / "digital-teller" / "bench-data"

# ---------------------------------------------------------------------------------- phases

async def connect_all(server: ServerProcess, tokens: list[str]) -> list[Kiosk]:
    kiosks = [Kiosk(i, server.url, t) for i, t in enumerate(tokens)]
    await asyncio.gather(*(k.connect() for k in kiosks))
    await asyncio.sleep(0.5)
    return kiosks


async def close_all(kiosks: list[Kiosk]) -> tuple[list[str], list[int]]:
    await asyncio.gather(*(k.close() for k in kiosks))
    return ([v for k in kiosks for v in k.violations],
            [k.closed_by_server for k in kiosks if k.closed_by_server not in (None, 1000, 1005)])


async def single(server: ServerProcess, token: str, questions: list[Question], n: int) -> dict[str, Any]:
    async with Usage(server) as usage:
        [kiosk] = await connect_all(server, [token])
        asked = []
        for i in range(n):
            asked.append(await kiosk.ask("single", questions[i % len(questions)]))
            await asyncio.sleep(1.0)
        violations, closes = await close_all([kiosk])
    return report("single", 1, asked, violations, closes, usage)


async def steady(server: ServerProcess, tokens: list[str], questions: list[Question], every: float,
                 duration: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    async with Usage(server) as usage:
        kiosks = await connect_all(server, tokens)
        stop_at = time.monotonic() + duration

        async def run(k: Kiosk) -> list[Asked]:
            done: list[Asked] = []
            next_at = time.monotonic() + rng.uniform(0, every)
            i = k.index * 3
            while next_at < stop_at:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                done.append(await k.ask("steady", questions[i % len(questions)]))
                i += 1
                next_at += every * rng.uniform(0.8, 1.2)
            return done

        asked = [a for batch in await asyncio.gather(*(run(k) for k in kiosks)) for a in batch]
        violations, closes = await close_all(kiosks)
    return report("steady", len(tokens), asked, violations, closes, usage)


async def burst(server: ServerProcess, tokens: list[str], questions: list[Question], rounds: int) -> dict[str, Any]:
    async with Usage(server) as usage:
        kiosks = await connect_all(server, tokens)
        asked: list[Asked] = []
        for r in range(rounds):
            # Every kiosk's question ends on the same 20 ms tick: pad the shorter ones in front.
            chosen = [questions[(k.index + r * 7) % len(questions)] for k in kiosks]
            longest = max(q.seconds for q in chosen)
            padded = [Question(q.qid, q.language, q.text, q.expected, q.two_clause,
                               np.concatenate([np.zeros(int((longest - q.seconds) * RATE), np.float32), q.audio]))
                      for q in chosen]
            asked += await asyncio.gather(*(k.ask("burst", q) for k, q in zip(kiosks, padded)))
            await asyncio.sleep(3.0)
        violations, closes = await close_all(kiosks)
    return report("burst", len(tokens), asked, violations, closes, usage)


def report(phase: str, n: int, asked: list[Asked], violations: list[str], closes: list[int], usage: Usage) -> dict[str, Any]:
    answer = [a.latency(a.first_audio) for a in asked if a.first_audio is not None]
    sound = [a.latency(a.first_sound) for a in asked if a.first_sound is not None]
    bad_errors = [e for a in asked for e in a.errors if e != "server_busy"]
    violations = violations + [f"{a.qid}: answered before the customer finished" for a in asked if a.early]
    violations += [f"{a.qid}: {a.answers} answers to one question" for a in asked if a.answers > 1]
    violations += [f"{a.qid}: error {e}" for a in asked for e in a.errors if e != "server_busy"]
    return {
        "phase": phase, "kiosks": n, "asked": len(asked),
        "answered": sum(a.answered for a in asked),
        "unanswered": sum(not a.answered for a in asked),
        "refused_busy": sum(a.refused for a in asked),
        "held": sum(a.held for a in asked),
        "cited_expected": sum(a.entry == a.expected for a in asked),
        "p50_ms": _ms(pct(answer, 50)), "p95_ms": _ms(pct(answer, 95)), "max_ms": _ms(max(answer, default=None)),
        "first_sound_p50_ms": _ms(pct(sound, 50)), "first_sound_p95_ms": _ms(pct(sound, 95)),
        "protocol_violations": len(violations), "violation_examples": violations[:5],
        "errors_other_than_busy": len(bad_errors),
        "closed_by_server": len(closes),
        "server_cpu_cores": round(usage.cores, 2), "server_rss_peak_mb": round(usage.peak),
        "server_errors_so_far": getattr(usage, "errors", {}),
        "rows": [asdict(a) for a in asked],
    }


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000)


# ---------------------------------------------------------------------------------- setup

def prepare(data_dir: Path, model_dir: Path | None, n_questions: int, seed: int) -> list[Question]:
    """The spoken questions, and the answers pre-synthesised into the server's disk cache (what a
    running server has done long before its first rush)."""
    from assistant.loading import approved_texts, load_services
    from assistant.settings import Settings

    settings = Settings(data_dir=data_dir, **({"model_dir": model_dir} if model_dir else {}), presynthesize=False)
    services = load_services(settings)
    try:
        made = services.speaker.presynthesize(approved_texts(services.index))
        print(f"pre-synthesised {made} answer sentences", file=sys.stderr)
        return build_questions(services, n_questions, seed, two_clause=0)
    finally:
        services.close()


def kiosk_tokens(data_dir: Path, n: int) -> tuple[list[str], list[str]]:
    from assistant.kiosks import KioskRegistry
    from assistant.settings import Settings
    from knowledge.db import open_database

    registry = KioskRegistry(open_database(Settings(data_dir=data_dir).knowledge_db))
    stamp = time.strftime("%Y%m%d%H%M%S")
    names = [f"load-{stamp}-{i:02d}" for i in range(n)]
    return names, [registry.add(name) for name in names]


def revoke(data_dir: Path, names: list[str]) -> None:
    from assistant.kiosks import KioskRegistry
    from assistant.settings import Settings
    from knowledge.db import open_database

    registry = KioskRegistry(open_database(Settings(data_dir=data_dir).knowledge_db))
    for name in names:
        registry.revoke(name)


def print_table(phases: list[dict[str, Any]]) -> None:
    cols = ("phase", "kiosks", "asked", "answered", "unanswered", "refused_busy", "held", "cited_expected",
            "p50_ms", "p95_ms", "max_ms", "first_sound_p95_ms", "protocol_violations", "closed_by_server",
            "server_cpu_cores", "server_rss_peak_mb")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for p in phases:
        print("| " + " | ".join(str(p[c]) for c in cols) + " |")


async def run(args: argparse.Namespace, questions: list[Question], tokens: list[str]) -> dict[str, Any]:
    log = Path(tempfile.mkdtemp(prefix="dt-load-")) / "server.log"
    phases: list[dict[str, Any]] = []
    with ServerProcess(args.data_dir, args.model_dir, log) as server:
        # Warm-up: the first turn of each language loads lazily-built state.
        warm = await single(server, tokens[0], questions[:2], 2)
        print(f"warm-up: {warm['answered']}/2 answered", file=sys.stderr)
        phases.append(await single(server, tokens[0], questions, args.single))
        for n in args.sweep or [args.kiosks]:
            phases.append(await steady(server, tokens[:n], questions, args.every, args.steady_s, args.seed))
            print(f"steady {n}: p95 {phases[-1]['p95_ms']} ms", file=sys.stderr)
        if args.bursts:
            phases.append(await burst(server, tokens[:args.kiosks], questions, args.bursts))
    base = phases[0]["p95_ms"]
    for p in phases:
        p["p95_over_single_p95"] = round(p["p95_ms"] / base, 2) if p["p95_ms"] and base else None
    knee = next((p["kiosks"] for p in phases if p["phase"] == "steady" and (p["p95_over_single_p95"] or 0) > 1.5), None)
    return {"phases": phases, "knee_kiosks": knee, "server_log": str(log)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kiosks", type=int, default=20, help="concurrent kiosk sessions (steady and burst)")
    ap.add_argument("--every", type=float, default=25.0, help="steady: seconds between one kiosk's questions (±20 %%)")
    ap.add_argument("--steady-s", type=float, default=100.0, help="steady: how long kiosks keep asking")
    ap.add_argument("--bursts", type=int, default=3, help="burst: rounds of every kiosk speaking at once (0: none)")
    ap.add_argument("--single", type=int, help="single-session baseline: questions asked (default: each question once)")
    ap.add_argument("--sweep", type=lambda s: [int(x) for x in s.split(",")],
                    help="steady phases at these kiosk counts instead of --kiosks (p50/p95 against N, the knee)")
    ap.add_argument("--questions", type=int, default=16, help="distinct spoken questions (half en, half zh)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", type=Path, help="write the phases and every question's row here")
    ap.add_argument("--model-dir", type=Path)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = ap.parse_args(argv)
    args.single = args.single or args.questions
    args.data_dir.mkdir(parents=True, exist_ok=True)
    n_tokens = max([args.kiosks, *(args.sweep or [])])
    questions = prepare(args.data_dir, args.model_dir, args.questions, args.seed)
    names, tokens = kiosk_tokens(args.data_dir, n_tokens)
    try:
        started = time.monotonic()
        result = asyncio.run(run(args, questions, tokens))
    finally:
        revoke(args.data_dir, names)
    result.update(wall_s=round(time.monotonic() - started), cores=os.cpu_count(),
                  args={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()})
    print_table(result["phases"])
    single_p95 = result["phases"][0]["p95_ms"]
    for p in result["phases"][1:]:
        print(f"{p['phase']} {p['kiosks']}: p95 {p['p95_ms']} ms = {p['p95_over_single_p95']} x the single-session "
              f"p95 ({single_p95} ms); unanswered {p['unanswered']}, violations {p['protocol_violations']}, "
              f"closes {p['closed_by_server']}")
    if result["knee_kiosks"]:
        print(f"knee: p95 above 1.5x the single-session p95 from {result['knee_kiosks']} kiosks")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
