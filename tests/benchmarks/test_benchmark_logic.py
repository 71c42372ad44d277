"""The pure arithmetic of the load and ASR-accuracy benchmarks (no model, no server): a figure
they print is only as good as the counting behind it."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import asr_accuracy  # noqa: E402
import load  # noqa: E402


class _Usage:
    cores, peak = 0.5, 900.0


def _asked(**kw) -> load.Asked:
    base = dict(kiosk=0, phase="steady", qid="q01", language="en", expected="lost-card")
    return load.Asked(**{**base, **kw})


def test_load_report_counts_answers_violations_and_latency():
    rows = [
        _asked(speech_end=10.0, first_audio=10.5, first_sound=10.5, answered=True, entry="lost-card"),
        _asked(speech_end=20.0, first_audio=22.0, first_sound=20.4, held=True, answered=True, entry="lost-card"),
        _asked(speech_end=30.0, refused=True, errors=["server_busy"]),
        _asked(speech_end=None, early=True, answered=True, entry="x", answers=2, errors=["invalid_event"]),
    ]
    r = load.report("steady", 4, rows, ["response r1 created but never done"], [1011], _Usage())
    assert (r["asked"], r["answered"], r["unanswered"], r["refused_busy"], r["held"]) == (4, 3, 1, 1, 1)
    assert r["cited_expected"] == 2
    assert r["p50_ms"] == 1250 and r["max_ms"] == 2000          # 0.5 s and 2.0 s to the answer
    assert r["first_sound_p95_ms"] <= 500                        # the hold spoke at 0.4 s
    # never done + early + two answers + a non-busy error; server_busy is not a violation
    assert r["protocol_violations"] == 4 and r["errors_other_than_busy"] == 1
    assert r["closed_by_server"] == 1


def test_error_rates_use_characters_for_mandarin_and_words_for_english():
    assert asr_accuracy.units("你好，世界！ATM 2", "zh") == ["你", "好", "世", "界", "ATM", "2"]
    assert asr_accuracy.error_rate([("你好世界", "你们世界", "zh")]) == 0.25
    assert asr_accuracy.error_rate([("Open the card", "open a card", "en")]) == round(1 / 3, 4)
    assert asr_accuracy.error_rate([("a b", "", "en"), ("c d", "c d", "en")]) == 0.5
    assert asr_accuracy.edit_distance(list("kitten"), list("sitting")) == 3


def test_rescoring_keeps_the_surer_hypothesis():
    server = [{"heard": "a", "confidence": 0.9}, {"heard": "b", "confidence": 0.2}]
    generic = [{"heard": "a2", "confidence": 0.9}, {"heard": "b2", "confidence": 0.8}]
    assert [r["heard"] for r in asr_accuracy.rescored(server, generic)] == ["a", "b2"]
