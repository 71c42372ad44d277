"""`digital-teller say` and `digital-teller render`: speech and lip-sync files from the command line.

Both are deterministic: the same text or script and options give byte-identical files.
They load their voice fresh with a fixed seed (Piper's sampling noise is seeded when its
session is created; the Mandarin model reseeds its dropout per call; espeak has no
randomness), writes WAV with the stdlib writer (no timestamps), and the manifest
records hashes, never times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from avatar_bridge import VISEME_FORMATS

from .render_script import parse_script, webvtt
from .tracks import assemble, wav_bytes

RENDER_SEED = 20240917
PARAGRAPH_PAUSE_MS = 500.0
RENDER_VERSION = 1


def _settings(args: argparse.Namespace):
    from .settings import load_settings

    overrides = {k: getattr(args, k) for k in ("data_dir", "model_dir") if getattr(args, k, None) is not None}
    return load_settings(**overrides)


def _voice_name(settings, language: str, voice: str | None) -> str:
    from voices import voice_info

    name = voice or (settings.voice_zh if language == "zh" else settings.voice_en)
    info = voice_info(name)  # KeyError names the known voices
    if info.language != language:
        raise ValueError(f"voice {name!r} speaks {info.language}, not {language}")
    return name


def _track_json(track, fmt: str, text: str) -> str:
    from avatar_bridge import render

    return json.dumps(render(track, fmt, text=text), ensure_ascii=False, separators=(",", ":")) + "\n"


def cmd_say(args: argparse.Namespace) -> int:
    from voices import load_voice

    from .render_script import detect_language

    settings = _settings(args)
    language = args.lang or detect_language(args.text)
    try:
        name = _voice_name(settings, language, args.voice)
        # Seeded like `render`: the same text and options give the same audio every time.
        engine = load_voice(name, settings.model_dir, rate=args.rate, seed=RENDER_SEED)
    except (KeyError, ValueError, OSError) as exc:
        print(f"digital-teller: {exc}", file=sys.stderr)
        return 2
    segments = list(engine.synthesize(args.text))
    if not segments:
        print("digital-teller: the text has nothing to say", file=sys.stderr)
        return 2
    out = assemble(segments, language)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(wav_bytes(out.audio, out.sample_rate))
    if args.track:
        args.track.parent.mkdir(parents=True, exist_ok=True)
        args.track.write_text(_track_json(out.track, args.format, out.text), encoding="utf-8")
    print(json.dumps({"out": str(args.out), "track": str(args.track) if args.track else None, "voice": name,
                      "sample_rate": out.sample_rate, "duration_ms": round(out.duration_ms, 1)}, ensure_ascii=False))
    return 0


def render_script_to(source: bytes, out_dir: Path, *, json_format: bool, language: str | None, fmt: str,
                     voice: str | None, settings, rate: float = 1.0) -> dict[str, Any]:
    """Render one script into `out_dir`; returns the manifest. Raises ValueError on a bad script."""
    from voices import load_voice
    from voices.answer_cache import engine_fingerprint
    from voices.prosody import pause_after

    script = parse_script(source.decode("utf-8"), json_format=json_format, language=language)
    name = _voice_name(settings, script.language, voice)
    engine = load_voice(name, settings.model_dir, rate=rate, seed=RENDER_SEED)
    segments: list[Any] = []
    for i, paragraph in enumerate(script.paragraphs):
        if i:
            segments.append(pause_after(engine, PARAGRAPH_PAUSE_MS))
        segments.extend(engine.synthesize(paragraph))
    out = assemble(segments, script.language)
    files = {
        "audio.wav": wav_bytes(out.audio, out.sample_rate),
        "visemes.json": _track_json(out.track, fmt, out.text).encode("utf-8"),
        "subtitles.vtt": webvtt(out.cues).encode("utf-8"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for file_name, data in files.items():
        (out_dir / file_name).write_bytes(data)
    options = {"language": script.language, "format": fmt, "voice": name, "rate": rate, "version": RENDER_VERSION}
    manifest = {
        "title": script.title,
        "inputs_sha256": hashlib.sha256(source + json.dumps(options, sort_keys=True).encode()).hexdigest(),
        "options": options,
        "voice": {"name": name, "fingerprint": engine_fingerprint(engine)},
        "sample_rate": out.sample_rate,
        "duration_ms": round(out.duration_ms, 3),
        "paragraphs": len(script.paragraphs),
        "files": {k: {"sha256": hashlib.sha256(v).hexdigest(), "bytes": len(v)} for k, v in sorted(files.items())},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return manifest


def cmd_render(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        source = args.script.read_bytes()
        manifest = render_script_to(
            source, args.out, json_format=args.script.suffix.lower() == ".json", language=args.lang,
            fmt=args.format, voice=args.voice, settings=settings, rate=args.rate,
        )
    except (OSError, KeyError, ValueError) as exc:
        print(f"digital-teller: cannot render {args.script}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"out": str(args.out), "duration_ms": manifest["duration_ms"], "files": sorted(manifest["files"])},
                     ensure_ascii=False))
    return 0


def add_voice_commands(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    say = subparsers.add_parser("say", parents=[common_parent], help="speak a text into a WAV file (+ viseme track)")
    say.add_argument("text")
    say.add_argument("--lang", choices=["zh", "en"], help="default: zh if the text has Chinese characters")
    say.add_argument("--out", type=Path, default=Path("answer.wav"))
    say.add_argument("--track", type=Path, help="write the viseme track (JSON) here")
    say.add_argument("--format", choices=VISEME_FORMATS, default="oculus")
    say.add_argument("--voice", help="catalogue voice name (default: the configured voice for the language)")
    say.add_argument("--rate", type=float, default=1.0, help="speaking rate, 1.0 = the voice's own")
    say.set_defaults(func=cmd_say)

    render = subparsers.add_parser("render", parents=[common_parent],
                                   help="render a Markdown or JSON explainer script into a folder")
    render.add_argument("script", type=Path)
    render.add_argument("--out", type=Path, required=True)
    render.add_argument("--lang", choices=["zh", "en"])
    render.add_argument("--format", choices=VISEME_FORMATS, default="oculus")
    render.add_argument("--voice")
    render.add_argument("--rate", type=float, default=1.0)
    render.set_defaults(func=cmd_render)
