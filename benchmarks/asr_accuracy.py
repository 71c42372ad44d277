"""ASR accuracy on bank questions and on speech off the bank's topics: which context and which
encoder window help, and which hurt.

    python benchmarks/asr_accuracy.py --json asr.json

Two spoken sets, each sentence spoken by the bundled voice of its language and by espeak-ng:

- **bank**: the first example question of every demo knowledge-base entry, in Mandarin and English;
  scored by error rate and by the share answered with the expected entry (the server's responder
  on the transcript);
- **off-topic**: everyday sentences written for this benchmark (weather, travel, food, work), not
  about banking; scored by error rate only.

Variants of the same loaded Whisper base (one model; only the options change):

| variant | Mandarin context | knowledge-base terms | encoder window |
|---|---|---|---|
| `server` | the bank sentence (`DEFAULT_ZH_PROMPT`) | yes (the server's prompt) | fitted |
| `bank-context` | the bank sentence | no | fitted |
| `generic` | a neutral "以下是普通话的句子。" | no | fitted |
| `generic+kb` | neutral | yes | fitted |
| `plain-30s` | neutral | no | Whisper's fixed 30 s |

and `rescored`: of `server` and `generic`, the transcript whose best entry the responder is surer
of (a two-hypothesis rescoring by knowledge-base match; bank set only).

Error rate: character error rate for Mandarin (Han characters, letters and digits; punctuation
and spaces dropped), word error rate for English (lower-cased words). Synthetic voices are not
customers: the comparison between variants is the point, not the absolute figure.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from latency_questions import espeak_16k, synthesize_16k, trim  # noqa: E402

GENERIC_ZH = "以下是普通话的句子。"

# Written for this benchmark: everyday speech a kiosk may also hear, nothing about banking.
OFF_TOPIC = [
    ("今天下午可能会下雨，出门记得带伞。", "zh"),
    ("这家饭馆的饺子特别好吃，我们周末再来。", "zh"),
    ("从这里坐地铁到火车站大概需要二十分钟。", "zh"),
    ("孩子们在公园里放风筝，玩得很开心。", "zh"),
    ("我明天早上八点要开会，今晚得早点睡。", "zh"),
    ("青岛的夏天比较凉快，海边的人很多。", "zh"),
    ("请把窗户关上，外面的风太大了。", "zh"),
    ("他每天晚饭以后都会出去散步半个小时。", "zh"),
    ("图书馆周一闭馆，其他时间都可以借书。", "zh"),
    ("妈妈做的红烧鱼是全家人最爱吃的菜。", "zh"),
    ("这个周末我们打算去爬崂山。", "zh"),
    ("超市里的水果今天打折，苹果很便宜。", "zh"),
    ("The train to the airport leaves every fifteen minutes.", "en"),
    ("My sister is learning to play the piano this year.", "en"),
    ("It is going to be sunny and warm all weekend.", "en"),
    ("Please close the door quietly when you leave the room.", "en"),
    ("We had noodles and dumplings for lunch near the beach.", "en"),
    ("The museum opens a new exhibition about ancient ships next month.", "en"),
]

VARIANTS = {   # name: (Mandarin context, knowledge-base terms, fitted window, beam size)
    "server": ("bank", True, True, 1),
    "bank-context": ("bank", False, True, 1),
    "generic": ("generic", False, True, 1),
    "generic+kb": ("generic", True, True, 1),
    "plain-30s": ("generic", False, False, 1),
    # The server's options with faster-whisper's default beam of 5 (Pipecat's decoding): what the
    # greedy decode costs in accuracy, and what the beam costs in time (`asr_s`).
    "server-beam5": ("bank", True, True, 5),
}


def units(text: str, language: str) -> list[str]:
    if language == "zh":
        return re.findall(r"[\u4e00-\u9fff]|[A-Za-z]+|\d", text)
    return re.findall(r"[a-z0-9']+", text.lower())


def edit_distance(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def error_rate(pairs: list[tuple[str, str, str]]) -> float | None:
    """Sum of edits over sum of reference units, for (reference, hypothesis, language) triples."""
    edits = total = 0
    for ref, hyp, language in pairs:
        r = units(ref, language)
        edits += edit_distance(r, units(hyp, language))
        total += len(r)
    return round(edits / total, 4) if total else None


def bank_sentences() -> list[tuple[str, str, str]]:
    """(text, language, entry id): each demo entry's first question in each language."""
    from knowledge import demo_kb_path

    rows = []
    for line in Path(demo_kb_path()).read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            if "chitchat" in entry.get("tags", []):
                continue
            for language in ("zh", "en"):
                asks = entry["questions"].get(language) or []
                if asks:
                    rows.append((asks[0], language, entry["id"]))
    return rows


def transcribe_all(services, clips, variant: str) -> list[dict[str, Any]]:
    context, with_kb, fitted, beam = VARIANTS[variant]
    transcriber = services.transcriber
    transcriber.zh_prompt = GENERIC_ZH if context == "generic" else _bank_context()
    transcriber.min_window_s = transcriber_window(fitted)
    transcriber.beam_size = beam
    out = []
    for clip in clips:
        prompt = services.index.prompt_terms(clip["language"]) if with_kb else None
        started = time.perf_counter()
        heard = transcriber.transcribe(clip["audio"], language=clip["language"], prompt=prompt)
        out.append({**{k: v for k, v in clip.items() if k != "audio"}, "heard": heard.text,
                    "asr_s": round(time.perf_counter() - started, 4)})
    return out


def _bank_context() -> str:
    from assistant.asr import DEFAULT_ZH_PROMPT

    return DEFAULT_ZH_PROMPT


def transcriber_window(fitted: bool) -> float:
    from assistant.settings import Settings

    return Settings().asr_min_window_s if fitted else 30.0


def answer_rows(services, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        answer = services.responder.reply(row["heard"], row["language"])
        row["entry"] = None if answer.handoff else answer.entry_id
        row["confidence"] = round(answer.confidence, 4)


def summarise(rows: list[dict[str, Any]], bank: bool) -> dict[str, Any]:
    """Per language, over all voices and per voice (espeak-ng's Mandarin is barely intelligible:
    Whisper often answers it with long invented text, which would drown the bundled voice's figure)."""
    out: dict[str, Any] = {}
    for voice in (None, *sorted({r["voice"] for r in rows})):
        prefix = f"{voice}:" if voice else ""
        for language in ("zh", "en"):
            mine = [r for r in rows if r["language"] == language and voice in (None, r["voice"])]
            out[f"{prefix}{language}_error_rate"] = error_rate([(r["text"], r["heard"], language) for r in mine])
            if bank and mine:
                out[f"{prefix}{language}_answered_expected"] = round(sum(r["entry"] == r["expected"] for r in mine) / len(mine), 4)
    out["n"] = len(rows)
    seconds = sorted(r["asr_s"] for r in rows if "asr_s" in r)
    if seconds:
        out["asr_s_p50"] = seconds[len(seconds) // 2]
    return out


def rescored(server: list[dict[str, Any]], generic: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per clip, the hypothesis the responder is surer of (ties keep the server's)."""
    return [g if g["confidence"] > s["confidence"] else s for s, g in zip(server, generic)]


def print_tables(variants: dict[str, Any], voices: list[str]) -> None:
    for voice in [None, *voices]:
        p = f"{voice}:" if voice else ""
        print(f"\n{voice or 'all voices'}\n")
        print("| variant | bank zh CER | bank en WER | bank zh answered | bank en answered | off-topic zh CER | off-topic en WER | ASR p50 s (bank) |")
        print("|---|---|---|---|---|---|---|---|")
        for variant, sets in variants.items():
            b, o = sets["bank"], sets.get("off-topic", {})
            cells = [b.get(f"{p}zh_error_rate"), b.get(f"{p}en_error_rate"), b.get(f"{p}zh_answered_expected"),
                     b.get(f"{p}en_answered_expected"), o.get(f"{p}zh_error_rate", ""), o.get(f"{p}en_error_rate", ""),
                     b.get("asr_s_p50", "") if not voice else ""]
            print(f"| {variant} | " + " | ".join(str(c) for c in cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--limit", type=int, help="at most this many bank sentences (a quick run)")
    ap.add_argument("--voices", default="voice,espeak", help="voice, espeak, or both (comma-separated)")
    ap.add_argument("--tables-from", type=Path, help="print the tables of an earlier --json run (no model)")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"which variants, comma-separated (default all: {', '.join(VARIANTS)})")
    args = ap.parse_args(argv)
    if args.tables_from:
        rows = json.loads(args.tables_from.read_text())["rows"]
        variants: dict[str, Any] = {}
        for key, found in rows.items():
            variant, name = key.split("/")
            variants.setdefault(variant, {})[name] = summarise(found, name == "bank")
        if "server/bank" in rows and "generic/bank" in rows:
            variants["rescored"] = {"bank": summarise(rescored(rows["server/bank"], rows["generic/bank"]), True)}
        print_tables(variants, sorted({r["voice"] for found in rows.values() for r in found}))
        return 0

    from assistant.loading import load_services
    from assistant.settings import Settings

    services = load_services(Settings(presynthesize=False))
    speak = {"voice": lambda text, lang: synthesize_16k(services, text, lang), "espeak": espeak_16k}
    voices = [v for v in args.voices.split(",") if v in speak]
    bank = bank_sentences()[:args.limit] if args.limit else bank_sentences()
    clips = {"bank": [], "off-topic": []}
    for voice in voices:
        clips["bank"] += [{"voice": voice, "text": t, "language": lang, "expected": e, "audio": trim(speak[voice](t, lang))}
                          for t, lang, e in bank]
        clips["off-topic"] += [{"voice": voice, "text": t, "language": lang, "audio": trim(speak[voice](t, lang))}
                               for t, lang in OFF_TOPIC]
    results: dict[str, Any] = {"variants": {}, "rows": {}}
    started = time.monotonic()
    chosen = [v for v in args.variants.split(",") if v in VARIANTS]
    for variant in chosen:
        for name, set_clips in clips.items():
            rows = transcribe_all(services, set_clips, variant)
            if name == "bank":
                answer_rows(services, rows)
            results["rows"][f"{variant}/{name}"] = rows
            results["variants"].setdefault(variant, {})[name] = summarise(rows, name == "bank")
        print(f"{variant}: {results['variants'][variant]}", file=sys.stderr)
    if {"server", "generic"} <= set(chosen):
        best = rescored(results["rows"]["server/bank"], results["rows"]["generic/bank"])
        results["variants"]["rescored"] = {"bank": summarise(best, True)}
    results["wall_s"] = round(time.monotonic() - started)
    services.close()

    print_tables(results["variants"], voices)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
