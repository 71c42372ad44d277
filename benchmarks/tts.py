"""Speech synthesis benchmark: real-time factor, time to first audio, answer-cache hits.

    python benchmarks/tts.py [--voices joe,baker,espeak-en,espeak-zh] [--repeat 3] [--json PATH]

Per voice: RTF (synthesis time / audio duration, whole answers), time to first audio
for a one- and a three-sentence answer (the first segment out of the engine's
sentence stream, as the server streams), and the answer cache's hit latency (read
of a pre-synthesised three-sentence answer from disk). Medians over --repeat runs,
after one warm-up call. The last line printed is the summary as one JSON object.
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


def _first_audio(engine, text: str) -> float:
    start = time.perf_counter()
    next(iter(engine.synthesize(text)))
    return time.perf_counter() - start


def bench_voice(name: str, repeat: int, cache_dir: Path) -> dict[str, float | str]:
    language = voice_info(name).language
    engine = load_voice(name)
    one, three = ANSWERS[language]
    list(engine.synthesize(one))  # warm-up: graph planning, caches
    rtfs, first1, first3 = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        segments = list(engine.synthesize(three))
        elapsed = time.perf_counter() - start
        rtfs.append(elapsed / (sum(s.duration_ms for s in segments) / 1000.0))
        first1.append(_first_audio(engine, one))
        first3.append(_first_audio(engine, three))
    cache = AnswerCache(cache_dir)
    cache.put(name, engine_fingerprint(engine), three, segments)
    hits = []
    for _ in range(max(20, repeat)):
        start = time.perf_counter()
        assert cache.get(name, engine_fingerprint(engine), three) is not None
        hits.append(time.perf_counter() - start)
    return {
        "voice": name,
        "language": language,
        "rtf": round(statistics.median(rtfs), 4),
        "first_audio_1_ms": round(statistics.median(first1) * 1000, 1),
        "first_audio_3_ms": round(statistics.median(first3) * 1000, 1),
        "cache_hit_ms": round(statistics.median(hits) * 1000, 2),
        "audio_s": round(sum(s.duration_ms for s in segments) / 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="joe,baker,espeak-en,espeak-zh")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.voices.split(","):
            rows.append(bench_voice(name.strip(), args.repeat, Path(tmp)))
    header = f"{'voice':<10} {'lang':<4} {'RTF':>6} {'first 1s (ms)':>14} {'first 3s (ms)':>14} {'cache hit (ms)':>15}"
    print(header)
    for r in rows:
        print(f"{r['voice']:<10} {r['language']:<4} {r['rtf']:>6.3f} {r['first_audio_1_ms']:>14.1f} "
              f"{r['first_audio_3_ms']:>14.1f} {r['cache_hit_ms']:>15.2f}")
    summary = {"load_average": [round(x, 2) for x in os.getloadavg()], "repeat": args.repeat, "voices": rows}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
