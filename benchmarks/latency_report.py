"""Summary and printed table of the voice-turn latency benchmark (`benchmarks/latency.py`)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------------- report

def pct(values: list[float], q: float) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.percentile(values, q)) if values else None


def ms(v: float | None) -> str:
    return "   -  " if v is None else f"{v * 1000:6.0f}"


def early_commit(row) -> bool:
    stage = row["server"]["stages"]["endpointing"]
    return bool(stage["count"]) and stage["sum"] < 0.6


def summarise(rows, args, load_start, load_end, cpu_share) -> dict[str, Any]:
    ours = [r["first_audio_s"] for r in rows]
    naive = [r["naive"]["first_audio_s"] for r in rows]
    stages: dict[str, Any] = {}
    for stage in ("endpointing", "asr_final", "retrieval", "tts_first_audio", "asr_partial", "turn_to_first_audio"):
        vals = [r["server"]["stages"][stage]["sum"] for r in rows if r["server"]["stages"][stage]["count"]]
        stages[stage] = {"p50": pct(vals, 50), "p95": pct(vals, 95), "turns_observed": len(vals),
                         "source": "server histogram (per-question change of _sum)"}
    for name in ("endpoint_wait", "asr_wait", "retrieval_wait", "tts_first_audio"):
        vals = [r["wall"].get(name) for r in rows if name in r["wall"]]
        stages[f"wall_{name}"] = {"p50": pct(vals, 50), "p95": pct(vals, 95), "turns_observed": len(vals),
                                  "source": "client event arrival times after the end of speech"}
    for name in ("asr_s", "retrieval_s", "tts_s"):
        vals = [r["naive"][name] for r in rows]
        stages[f"naive_{name[:-2]}"] = {"p50": pct(vals, 50), "p95": pct(vals, 95), "turns_observed": len(vals),
                                        "source": "baseline, measured in-process"}
    p50_ours, p50_naive = pct(ours, 50), pct(naive, 50)
    spec = {f: sum(r["server"]["speculations"][f] for r in rows) for f in ("used", "resumed", "abandoned")}
    two = [r for r in rows if r["two_clause"]]
    return {
        "benchmark": "voice_turn_latency",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "loadavg_start": [round(x, 2) for x in load_start], "loadavg_end": [round(x, 2) for x in load_end],
                    "cpu_share_during_run": cpu_share},
        "args": {"n": args.n, "two_clause": args.two_clause, "seed": args.seed, "tts_cache": args.tts_cache,
                 "turn_end": getattr(args, "turn_end", None)},
        "questions": len(rows),
        "ours_first_audio_s": {"p50": p50_ours, "p95": pct(ours, 95), "max": pct(ours, 100),
                               "unanswered": sum(v is None for v in ours)},
        "naive_first_audio_s": {"p50": p50_naive, "p95": pct(naive, 95), "max": pct(naive, 100)},
        "ratio_ours_over_naive_p50": (p50_ours / p50_naive) if p50_ours and p50_naive else None,
        "speedup_naive_over_ours_p50": (p50_naive / p50_ours) if p50_ours and p50_naive else None,
        "stages_s": stages,
        "accuracy_ours": sum(r["cited"] for r in rows) / len(rows),
        "accuracy_naive": sum(r["naive"]["cited"] for r in rows) / len(rows),
        "answered_early": sum(r["answered_early"] for r in rows),
        "answered_early_detail": {"response_before_end": sum(r["response_before_end"] for r in rows),
                                  "turn_ended_before_end": sum(r["turn_ended_before_end"] for r in rows),
                                  "more_than_one_turn": sum(r["turns"] > 1 for r in rows)},
        "two_clause_exactly_one_answer_after_end": f"{sum(r['responses'] == 1 and not r['answered_early'] for r in two)}/{len(two)}",
        "turns_with_more_than_one_response": sum(r["responses"] > 1 for r in rows),
        # The early commit's reach: single questions whose turn ended well before the maximum
        # silence (the endpointing wait under 0.6 s, against the 1.0 s a statement waits).
        "single_questions_committed_early": f"{sum(early_commit(r) for r in rows if not r['two_clause'])}"
                                            f"/{sum(not r['two_clause'] for r in rows)}",
        "single_first_audio_s": {"p50": pct([r["first_audio_s"] for r in rows if not r["two_clause"]], 50),
                                 "p95": pct([r["first_audio_s"] for r in rows if not r["two_clause"]], 95)},
        "speculations": spec,
    }


def print_table(rows, s) -> None:
    print()
    print(f"{'id':4} {'lang':4} {'speech':>6} {'ours':>6} {'naive':>6}  {'endpt':>6} {'asr':>6} {'retr':>6} {'tts1':>6}"
          f"  {'cited':5} {'early':5}  transcript")
    for r in rows:
        w = r["wall"]
        print(f"{r['id']:4} {r['language']:4} {r['speech_s']:6.2f} {ms(r['first_audio_s'])} {ms(r['naive']['first_audio_s'])}"
              f"  {ms(w.get('endpoint_wait'))} {ms(w.get('asr_wait'))} {ms(w.get('retrieval_wait'))} {ms(w.get('tts_first_audio'))}"
              f"  {'yes' if r['cited'] else 'NO':5} {'YES' if r['answered_early'] else 'no':5}  {r['transcript']}")
    print("(ms; endpt/asr/retr/tts1 = the wall-clock path after the end of speech as the client saw it)\n")
    print(f"{'end of speech -> first audio':40} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'ours':40} {ms(s['ours_first_audio_s']['p50']):>8} {ms(s['ours_first_audio_s']['p95']):>8}")
    print(f"{'naive (0.5 s VAD + ASR + retr + full TTS)':40} {ms(s['naive_first_audio_s']['p50']):>8} {ms(s['naive_first_audio_s']['p95']):>8}")
    for name, st in s["stages_s"].items():
        print(f"  {name:38} {ms(st['p50']):>8} {ms(st['p95']):>8}   ({st['turns_observed']} turns; {st['source']})")
    ratio = s["ratio_ours_over_naive_p50"]
    print(f"ratio ours/naive (p50): {ratio:.2f}" if ratio else "ratio: n/a")
    print(f"cited the expected entry: ours {s['accuracy_ours']:.0%}, naive {s['accuracy_naive']:.0%}; "
          f"answered early: {s['answered_early']}; two-clause answered once, after the end: "
          f"{s['two_clause_exactly_one_answer_after_end']}; single questions committed early: "
          f"{s['single_questions_committed_early']}; speculations {s['speculations']}")
    m = s["machine"]
    share = m["cpu_share_during_run"] or {}
    print(f"{m['cpus']} CPUs, load average at start {m['loadavg_start']}, at end {m['loadavg_end']}; "
          f"share of all cores used by other processes during the run: {share.get('others', 'n/a')}, "
          f"by this benchmark: {share.get('this_benchmark', 'n/a')}\n")
