"""`say` and `render`: files, formats, and byte-identical renders of the same script."""

from __future__ import annotations

import argparse
import json
import wave

import pytest

from assistant.cli_voice import add_voice_commands, cmd_say, render_script_to
from assistant.render_script import parse_script, webvtt

MD = """# Instalment plans

Pay **$1,200.50** over 12 months; the rate is 0.5% a month.

- Apply in the [mobile app](https://example.invalid).
"""
ZH = json.dumps({"title": "分期", "language": "zh", "paragraphs": ["信用卡可以分12期还款。", "请拨打95588咨询。"]})


def test_markdown_and_json_scripts():
    script = parse_script(MD, json_format=False)
    assert script.title == "Instalment plans" and script.language == "en"
    assert script.paragraphs == ["Instalment plans", "Pay $1,200.50 over 12 months; the rate is 0.5% a month.",
                                 "Apply in the mobile app."]
    zh = parse_script(ZH, json_format=True)
    assert zh.language == "zh" and len(zh.paragraphs) == 2
    with pytest.raises(ValueError):
        parse_script('{"title": "x"}', json_format=True)


def test_webvtt_layout():
    text = webvtt([(35.0, 1219.4, "Hello."), (3_600_000.0, 3_601_500.0, "Later.")])
    assert text.startswith("WEBVTT\n\n1\n00:00:00.035 --> 00:00:01.219\nHello.\n")
    assert "01:00:00.000 --> 01:00:01.500" in text


def _parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir")
    common.add_argument("--model-dir")
    parser = argparse.ArgumentParser()
    add_voice_commands(parser.add_subparsers(dest="command"), common)
    return parser


def test_say_writes_wav_and_track(tmp_path, prepared_models):
    args = _parser().parse_args(["say", "爸爸您好。", "--out", str(tmp_path / "a.wav"), "--track",
                                 str(tmp_path / "v.json"), "--format", "rhubarb", "--model-dir", str(prepared_models)])
    assert cmd_say(args) == 0
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert w.getframerate() == 24000 and w.getnframes() > 12000
        duration = w.getnframes() / w.getframerate()
    cues = json.loads((tmp_path / "v.json").read_text())["mouthCues"]
    assert abs(cues[-1]["end"] - duration) < 0.011 and any(c["value"] == "A" for c in cues)


@pytest.mark.parametrize("source,json_format", [(MD, False), (ZH, True)])
def test_render_is_deterministic(tmp_path, settings, source, json_format):
    manifests = [
        render_script_to(source.encode(), tmp_path / f"out{k}", json_format=json_format, language=None,
                         fmt="oculus", voice=None, settings=settings)
        for k in range(2)
    ]
    assert manifests[0] == manifests[1]
    out = tmp_path / "out0"
    assert sorted(p.name for p in out.iterdir()) == ["audio.wav", "manifest.json", "subtitles.vtt", "visemes.json"]
    track = json.loads((out / "visemes.json").read_text())
    end = track["vtimes"][-1] + track["vdurations"][-1]
    assert abs(end - manifests[0]["duration_ms"]) <= 1
    vtt = (out / "subtitles.vtt").read_text()
    assert vtt.startswith("WEBVTT") and vtt.count("-->") >= len(parse_script(source, json_format=json_format).paragraphs)
    for name, entry in manifests[0]["files"].items():
        assert (out / name).stat().st_size == entry["bytes"]
