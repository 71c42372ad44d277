"""Speech synthesis benchmark: real-time factor, time to first audio, answer-cache hits.

    python benchmarks/tts.py [--voices joe,baker,espeak-en,espeak-zh] [--repeat 3] [--json PATH]
                             [--baseline EARLIER.json]

Per voice: RTF (synthesis time / audio duration, whole answers), time to first audio
for a one- and a three-sentence answer (the first segment out of the engine's
sentence stream), the first streamed piece where the engine can stream a sentence
in pieces (`stream`, what a live turn should play), and the answer cache's hit
latency (read of a pre-synthesised three-sentence answer from disk). Every time is
measured twice: wall clock, and the process's CPU time (all threads), because the
development machine is shared and wall time there mostly measures the neighbours.
Medians over --repeat runs, after one warm-up call. `--baseline` prints each figure
beside the same figure from an earlier run's --json output. The last line printed
is the summary as one JSON object. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voices import load_voice, voice_info
from voices.answer_cache import AnswerCache, engine_fingerprint

ANSWERS = {
    "en": [
        "Your card has been blocked.",
        ("Your card has been blocked. Please visit any branch with your identity card. "
         "You can also call 95588 at any time."),
    ],
    "zh": [
        "您的银行卡已冻结。",
        "您的银行卡已冻结。请携带本人身份证到任一网点办理解冻。您也可以随时拨打客服热线95588。",
    ],
}
# (key, column title, unit) in printing order; each is reported as wall and CPU.
METRICS = [
    ("rtf", "RTF", ""),
    ("first_audio_1_ms", "first 1s", "ms"),
    ("first_audio_3_ms", "first 3s", "ms"),
    ("first_piece_3_ms", "piece 3s", "ms"),
    ("cache_hit_ms", "cache hit", "ms"),
]


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, CPU s of the whole process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _median_pair(samples: list[tuple[float, float]], scale: float, digits: int) -> tuple[float, float]:
    return (round(statistics.median(s[0] for s in samples) * scale, digits),
            round(statistics.median(s[1] for s in samples) * scale, digits))


def bench_voice(name: str, repeat: int, cache_dir: Path) -> dict[str, Any]:
    language = voice_info(name).language
    engine = load_voice(name)
    one, three = ANSWERS[language]
    stream = getattr(engine, "stream", None)
    list(engine.synthesize(one))  # warm-up: graph planning, caches
    if stream is not None:
        list(stream(one))
    rtfs, first1, first3, piece3 = [], [], [], []
    segments: list[Any] = []
    for _ in range(repeat):
        wall, cpu, segments = _timed(lambda: list(engine.synthesize(three)))
        audio_s = sum(s.duration_ms for s in segments) / 1000.0
        rtfs.append((wall / audio_s, cpu / audio_s))
        first1.append(_timed(lambda: next(iter(engine.synthesize(one))))[:2])
        first3.append(_timed(lambda: next(iter(engine.synthesize(three))))[:2])
        if stream is not None:
            piece3.append(_timed(lambda: next(iter(stream(three))))[:2])
    cache = AnswerCache(cache_dir)
    cache.put(name, engine_fingerprint(engine), three, segments)
    hits = []
    for _ in range(max(20, repeat)):
        wall, cpu, hit = _timed(lambda: cache.get(name, engine_fingerprint(engine), three))
        assert hit is not None
        hits.append((wall, cpu))
    row: dict[str, Any] = {"voice": name, "language": language}
    for key, samples, scale, digits in (
        ("rtf", rtfs, 1, 4), ("first_audio_1_ms", first1, 1000, 1), ("first_audio_3_ms", first3, 1000, 1),
        ("first_piece_3_ms", piece3, 1000, 1), ("cache_hit_ms", hits, 1000, 2),
    ):
        if samples:
            row[key], row[f"{key}_cpu"] = _median_pair(samples, scale, digits)
    row["audio_s"] = round(sum(s.duration_ms for s in segments) / 1000, 2)
    return row


def _cell(row: dict[str, Any] | None, key: str) -> str:
    if not row or key not in row:
        return "-"
    cpu = row.get(f"{key}_cpu")
    return f"{row[key]:g}" + (f" / {cpu:g}" if cpu is not None else "")


def print_table(rows: list[dict[str, Any]], baseline: dict[str, Any] | None) -> None:
    """One line per voice and metric: wall / CPU, and the baseline's figures when given."""
    before = {r["voice"]: r for r in (baseline or {}).get("voices", [])}
    print(f"{'voice':<10} {'metric':<10} {'now: wall / CPU':>20}" + (f" {'baseline: wall / CPU':>24}" if baseline else ""))
    for row in rows:
        for key, title, unit in METRICS:
            if key not in row:
                continue
            label = f"{title} {unit}".strip()
            line = f"{row['voice']:<10} {label:<10} {_cell(row, key):>20}"
            if baseline:
                line += f" {_cell(before.get(row['voice']), key):>24}"
            print(line)
    if baseline:
        print(f"baseline load average {baseline.get('load_average')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="joe,baker,espeak-en,espeak-zh")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--baseline", type=Path, help="an earlier run's --json output to compare with")
    args = parser.parse_args(argv)
    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.voices.split(","):
            rows.append(bench_voice(name.strip(), args.repeat, Path(tmp)))
    print_table(rows, baseline)
    summary = {
        "load_average_before": load_before,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "repeat": args.repeat,
        "voices": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
