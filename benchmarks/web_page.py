"""The customer page in a real browser: page weight, time to interactive, end-to-end voice latency.

    python benchmarks/web_page.py --loads 5 --n 3 --json web_page.json [--baseline OLD.json]

Serves the real app (bundled models, the demo knowledge base) on a loopback port inside this process
and drives Debian's Chromium headless through Playwright:

- page weight: every request a cold load of `/` makes until the page is ready, bytes by resource
  type (response bodies plus headers, as Chromium counts them); the microphone worklet, fetched only
  when the microphone is turned on, is listed on its own line;
- time to interactive: navigation start -> the page's `teller:ready` performance mark, set when the
  first session is configured (`session.updated`), i.e. a question can be asked; with first
  contentful paint, DOMContentLoaded and load from the Performance APIs; `--loads` cold loads;
- end to end, measured in the page: the customer's question is played by Chromium's fake
  microphone; latency runs from the page sending the last audio frame that carried speech (level
  above -40 dBFS) to the moment the first answer sample plays on the page's AudioContext (the
  playback clock, mapped to performance.now() with getOutputTimestamp). `--n` questions per
  language, English and Mandarin; the answers asked are pre-synthesised first, as on a running
  server, so a first turn is not charged for filling the answer cache.

Prints a table and, last, one JSON line. `--baseline FILE` (an earlier `--json` output) prints the
change of each headline figure. Only 127.0.0.1 is used; every wait has a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np
from latency_questions import RATE, synthesize_16k, trim  # beside this script
from loopback import LoopbackServer, free_port  # noqa: E402

CHROMIUM = os.environ.get("DT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream"]
QUESTIONS = {
    "en": [("How do I report a lost card?", "lost-card"), ("How can I check my balance?", "balance-inquiry"),
           ("What are your opening hours?", "opening-hours"), ("How do I send money abroad?", "international-wire")],
    "zh": [("银行卡丢了怎么办？", "lost-card"), ("我卡里还有多少钱？", "balance-inquiry"),
           ("你们几点开门？", "opening-hours"), ("怎么往国外汇款？", "international-wire")],
}
DEFAULT_DATA_DIR = Path.home() / ".cache" / "digital-teller" / "bench-web-data"
LEAD_S, TAIL_S = 0.5, 40.0


def page_server(settings, services) -> LoopbackServer:
    """The app on a free loopback port (the server admits its own page on any port)."""
    from assistant.app import create_app

    port = free_port()
    return LoopbackServer(create_app(settings, services), ws_max_size=4 * settings.limits.max_frame_bytes, port=port)


def pct(values: list[float], q: float) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.percentile(values, q)), 1) if values else None


def spread(values: list[float]) -> dict[str, Any]:
    return {"p50": pct(values, 50), "p95": pct(values, 95), "n": len([v for v in values if v is not None])}


# ------------------------------------------------------------------------------ page load

TIMINGS_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const ready = performance.getEntriesByName('teller:ready')[0];
  return {ready: ready ? ready.startTime : null, fcp: fcp ? fcp.startTime : null,
          dcl: nav ? nav.domContentLoadedEventEnd : null, load: nav ? nav.loadEventEnd : null};
}"""


def cold_load(browser, url: str) -> dict[str, Any]:
    """One load of the page in a fresh context (empty cache): its requests and its timings."""
    context = browser.new_context()
    page = context.new_page()
    requests: list[dict[str, Any]] = []

    def finished(req) -> None:
        sizes = req.sizes()
        requests.append({"url": req.url, "type": req.resource_type,
                         "bytes": sizes["responseBodySize"] + sizes["responseHeadersSize"],
                         "body": sizes["responseBodySize"]})

    page.on("requestfinished", finished)
    page.goto(url)
    page.wait_for_selector('html[data-ready="true"]', state="attached", timeout=60_000)
    page.wait_for_load_state("load")
    timings = page.evaluate(TIMINGS_JS)
    context.close()
    return {"requests": requests, "timings": timings}


def weigh(requests: list[dict[str, Any]]) -> dict[str, Any]:
    by_type: dict[str, dict[str, int]] = {}
    for r in requests:
        slot = by_type.setdefault(r["type"], {"requests": 0, "bytes": 0})
        slot["requests"] += 1
        slot["bytes"] += r["bytes"]
    return {"total_bytes": sum(r["bytes"] for r in requests), "requests": len(requests), "by_type": by_type,
            "files": sorted(((r["url"].rsplit("/", 1)[-1] or "/", r["body"]) for r in requests), key=lambda x: -x[1])}


def worklet_bytes(url: str) -> int:
    """The microphone worklet is fetched only when the microphone is turned on, and Chromium reports
    no request event for an AudioWorklet module: weigh it with a plain GET."""
    import urllib.request

    with urllib.request.urlopen(url + "/mic-worklet.js", timeout=10) as res:
        return len(res.read())


# ------------------------------------------------------------------------------ voice turns

def write_mic_file(path: Path, speech: np.ndarray) -> None:
    import soundfile as sf

    audio = np.concatenate([np.zeros(int(LEAD_S * RATE), np.float32), speech * 0.8,
                            np.zeros(int(TAIL_S * RATE), np.float32)])
    tmp = path.with_name(path.stem + ".tmp.wav")
    sf.write(tmp, audio, RATE, subtype="PCM_16")
    os.replace(tmp, path)   # Chromium reads the whole file again each time capture starts


def voice_turn(page, mic_file: Path, speech: np.ndarray, timeout_s: float = 60.0) -> dict[str, Any]:
    """Play one question through the fake microphone; the page's own timings of the answer."""
    before = page.evaluate("window.teller.stats.responses.length")
    write_mic_file(mic_file, speech)
    if page.evaluate("window.teller.mic.active"):
        page.click("#mic-toggle")
        page.wait_for_function("!window.teller.mic.active", timeout=5_000)
    page.click("#mic-toggle")
    page.wait_for_function("window.teller.mic.active && window.teller.mic.sending", timeout=10_000)
    page.wait_for_function("""(n) => { const r = window.teller.stats.responses;
        return r.length > n && r[r.length - 1].firstAudioAt !== null; }""", arg=before, timeout=timeout_s * 1000)
    record = page.evaluate("window.teller.stats.responses[window.teller.stats.responses.length - 1]")
    row = {
        "entry_id": page.get_attribute("#answer-source", "data-entry"),
        "transcript": page.text_content("#transcript"),
        "end_to_end_ms": round(record["firstAudioAt"] - record["voiceSentAt"], 1) if record["voiceSentAt"] else None,
        "speech_end_to_created_ms": round(record["createdAt"] - record["voiceSentAt"], 1) if record["voiceSentAt"] else None,
        "created_to_audio_ms": round(record["firstAudioAt"] - record["createdAt"], 1),
    }
    # Stop the answer (and the microphone) so the next question starts from a quiet page.
    page.click("#mic-toggle")
    page.wait_for_function("!window.teller.mic.active", timeout=5_000)
    page.click("#avatar-button")
    page.wait_for_selector('#avatar[data-speaking="false"]', timeout=10_000)
    row["answered_early"] = bool(record["voiceSentAt"]) and page.evaluate(
        "(t) => window.teller.stats.lastVoiceSentAt > t + 1", record["voiceSentAt"])
    return row


# ------------------------------------------------------------------------------ report

def headline(summary: dict[str, Any]) -> dict[str, float | None]:
    return {"page bytes": summary["page_weight"]["total_bytes"], "requests": summary["page_weight"]["requests"],
            "time to interactive p50 ms": summary["tti_ms"]["p50"], "time to interactive p95 ms": summary["tti_ms"]["p95"],
            "end to end p50 ms": summary["end_to_end_ms"]["all"]["p50"],
            "end to end p95 ms": summary["end_to_end_ms"]["all"]["p95"]}


def compare(summary: dict[str, Any], baseline_path: Path) -> None:
    data = json.loads(baseline_path.read_text())
    old = headline(data.get("summary", data))
    print(f"\nagainst {baseline_path}:")
    for key, now in headline(summary).items():
        was = old.get(key)
        change = "" if was in (None, 0) or now is None else f"  ({(now - was) / was * 100:+.1f} %)"
        print(f"  {key:28s} {was!s:>10} -> {now!s:>10}{change}")


def print_report(summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    w = summary["page_weight"]
    print(f"\npage weight of / (cold load until ready): {w['total_bytes']} bytes in {w['requests']} requests")
    for kind, slot in sorted(w["by_type"].items(), key=lambda kv: -kv[1]["bytes"]):
        print(f"  {kind:12s} {slot['bytes']:8d} bytes  {slot['requests']:3d} requests")
    print(f"  on demand: mic-worklet.js {summary['mic_worklet_bytes']} bytes (body; when the microphone is turned on)")
    for name in ("tti_ms", "fcp_ms", "dcl_ms", "load_ms"):
        print(f"{name:8s} p50 {summary[name]['p50']} ms  p95 {summary[name]['p95']} ms  ({summary[name]['n']} loads)")
    print("\nlang  entry                  end-to-end  speech end->created  created->audio  transcript")
    for r in rows:
        print(f"{r['language']:4s}  {r['entry_id']!s:22s} {r['end_to_end_ms']!s:>10}  {r['speech_end_to_created_ms']!s:>19}"
              f"  {r['created_to_audio_ms']!s:>14}  {'' if r['cited'] else 'NOT ' + r['expected'] + ' '}{r['transcript']}")
    for lang, s in summary["end_to_end_ms"].items():
        print(f"end to end ({lang}): p50 {s['p50']} ms  p95 {s['p95']} ms  n={s['n']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loads", type=int, default=5, help="cold page loads for time to interactive (default 5)")
    ap.add_argument("--n", type=int, default=3, choices=range(1, 5), help="spoken questions per language (default 3)")
    ap.add_argument("--json", type=Path, help="write the summary and every row here")
    ap.add_argument("--baseline", type=Path, help="an earlier --json output to compare with")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help=f"server data folder (default {DEFAULT_DATA_DIR})")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from assistant.loading import load_services
    from assistant.responder import SYSTEM_LINES
    from assistant.settings import Settings

    load_start = os.getloadavg()
    settings = Settings(data_dir=args.data_dir, presynthesize=False, limits={"anon_sessions_per_minute": 100_000})
    print(f"loading models from {settings.model_dir} ...", flush=True)
    services = load_services(settings)
    asked = {lang: QUESTIONS[lang][: args.n] for lang in QUESTIONS}
    # As on a running server: the answers (and the fixed system lines) are already synthesised.
    answers = {lang: [services.index.get(entry).answer[lang] for _, entry in qs]
               + [lines[lang] for lines in SYSTEM_LINES.values()] for lang, qs in asked.items()}
    services.speaker.presynthesize(answers)
    speech = {(lang, text): trim(synthesize_16k(services, text, lang)) for lang, qs in asked.items() for text, _ in qs}
    rows: list[dict[str, Any]] = []
    loads: list[dict[str, Any]] = []
    worklet: int | None = None
    mic_file = Path(tempfile.mkdtemp(prefix="dt-web-bench-")) / "customer.wav"
    write_mic_file(mic_file, np.zeros(RATE, np.float32))
    try:
        with page_server(settings, services) as server, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=ARGS + [f"--use-file-for-fake-audio-capture={mic_file}"])
            cold_load(browser, server.url + "/")   # warm-up: the first browser start is not a page load
            loads = [cold_load(browser, server.url + "/") for _ in range(args.loads)]
            worklet = worklet_bytes(server.url)
            for lang, qs in asked.items():
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{server.url}/?lang={lang}")
                page.wait_for_selector('html[data-ready="true"]', state="attached", timeout=60_000)
                voice_turn(page, mic_file, speech[(lang, qs[0][0])])   # warm-up turn, not counted
                for text, entry in qs:
                    row = voice_turn(page, mic_file, speech[(lang, text)])
                    row.update(language=lang, question=text, expected=entry, cited=row["entry_id"] == entry)
                    rows.append(row)
                    print(f"{lang} {row['end_to_end_ms']} ms  {row['entry_id']}  | {row['transcript']}", flush=True)
                context.close()
            browser.close()
    finally:
        services.close()
    load_end = os.getloadavg()
    weight = weigh(loads[-1]["requests"])
    e2e = {"all": spread([r["end_to_end_ms"] for r in rows])}
    for lang in asked:
        e2e[lang] = spread([r["end_to_end_ms"] for r in rows if r["language"] == lang])
    summary = {
        "page_weight": weight, "mic_worklet_bytes": worklet,
        "tti_ms": spread([x["timings"]["ready"] for x in loads]),
        "fcp_ms": spread([x["timings"]["fcp"] for x in loads]),
        "dcl_ms": spread([x["timings"]["dcl"] for x in loads]),
        "load_ms": spread([x["timings"]["load"] for x in loads]),
        "end_to_end_ms": e2e,
        "speech_end_to_created_ms": spread([r["speech_end_to_created_ms"] for r in rows]),
        "created_to_audio_ms": spread([r["created_to_audio_ms"] for r in rows]),
        "cited": f"{sum(r['cited'] for r in rows)}/{len(rows)}", "answered_early": sum(r["answered_early"] for r in rows),
        "load_average": {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in load_end]},
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print_report(summary, rows)
    if args.baseline:
        compare(summary, args.baseline)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows, "loads": loads}, ensure_ascii=False, indent=1))
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
