"""`digital-teller`: serve, models, transcribe, ask, kiosk."""

from __future__ import annotations

import os

# The embedder and CTranslate2 each bundle an OpenMP runtime whose idle threads spin by default;
# on two shared cores that spinning starved the other model (a 20 ms query took 750 ms).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from .settings import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "model_dir", "host", "port", "language"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return load_settings(**overrides)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .loading import ModelsNotReady, load_services

    settings = _settings(args)
    try:
        services = load_services(settings)
    except ModelsNotReady as exc:
        print(f"digital-teller: cannot start: {exc}", file=sys.stderr)
        print("run `digital-teller models` to prepare the models, then start again", file=sys.stderr)
        return 2
    app = create_app(settings, services)
    # The transport's own cap sits above ours so oversized frames get a typed error, not a drop.
    uvicorn.run(app, host=settings.host, port=settings.port, ws_max_size=4 * settings.limits.max_frame_bytes,
                log_level="info")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .models import model_table, prepare_missing

    settings = _settings(args)
    rows = model_table(settings)
    width = max(len(r.name) for r in rows)
    for r in rows:
        note = ", ".join(filter(None, ["optional" if r.optional else "", r.detail]))
        print(f"{r.name:<{width}}  {r.state:<8}  {r.source}  -> {r.path}" + (f"  ({note})" if note else ""))
    if args.check:
        return 0 if all(r.ok for r in rows) else 1
    failed = prepare_missing(settings, rows)
    for r in model_table(settings):
        if not r.ok:
            print(f"{r.name}: still {r.state}: {r.detail}", file=sys.stderr)
            failed = True
    if not failed:
        print("all models ready")
    return 1 if failed else 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    import soundfile as sf

    from .audio import Resampler
    from .loading import ModelsNotReady, load_transcriber

    settings = _settings(args)
    try:
        audio, rate = sf.read(args.file, dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:
        print(f"digital-teller: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    mono = audio.mean(axis=1)
    mono = Resampler(rate, 16000)(mono) if rate != 16000 else mono
    try:
        transcriber = load_transcriber(settings)
    except ModelsNotReady as exc:
        print(f"digital-teller: {exc}", file=sys.stderr)
        return 2
    language = None if args.language in (None, "auto") else args.language
    result = transcriber.transcribe(mono, language=language)
    _print_json({"text": result.text, "language": result.language, "duration_s": round(len(mono) / 16000, 3)})
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    import asyncio

    from .answering import Answerer, question_language
    from .loading import load_responder, make_scheduler
    from .metrics import Metrics

    settings = _settings(args)
    responder = load_responder(settings)
    inference = make_scheduler(settings)
    try:
        # The server's own answer path (no audit: nobody was served).
        answer = asyncio.run(Answerer(responder, inference, Metrics()).answer(
            args.text, question_language(args.text, args.language, settings.language)))
    finally:
        inference.shutdown()
    _print_json(responder.to_json(answer))
    return 0


def cmd_kiosk(args: argparse.Namespace) -> int:
    from knowledge.db import open_database

    from .kiosks import KioskError, KioskRegistry

    db = open_database(_settings(args).knowledge_db)  # where the server looks them up, on every replica
    by = args.actor or "system"
    try:
        registry = KioskRegistry(db)
        if args.action == "add":
            token = registry.add(args.name, by=by)
            print(f"kiosk {args.name} added; its token (shown once, store it on the kiosk):")
            print(token)
        elif args.action == "revoke":
            registry.revoke(args.name, by=by)
            print(f"kiosk {args.name} revoked")
        else:
            for k in registry.list():
                print(f"{k.name}\t{'active' if k.active else 'revoked'}")
    except KioskError as exc:
        print(f"digital-teller: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="where the knowledge base, kiosks and index live (DT_DATA_DIR)")
    common.add_argument("--model-dir", type=Path, help="where prepared models are cached (DT_MODEL_DIR)")
    parser = argparse.ArgumentParser(prog="digital-teller", description="Digital Teller: on-prem digital-human banking assistant")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="start the server on embedded defaults")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    models = sub.add_parser("models", parents=[common], help="show each model and prepare what is missing")
    models.add_argument("--check", action="store_true", help="only report; exit 1 if any model is not ready")
    models.set_defaults(func=cmd_models)

    tr = sub.add_parser("transcribe", parents=[common], help="transcribe a WAV file")
    tr.add_argument("file", type=Path)
    tr.add_argument("--language", choices=["auto", "zh", "en"])
    tr.set_defaults(func=cmd_transcribe)

    ask = sub.add_parser("ask", parents=[common], help="answer a typed question (prints the answer JSON)")
    ask.add_argument("text")
    ask.add_argument("--language", choices=["zh", "en"])
    ask.set_defaults(func=cmd_ask)

    kiosk = sub.add_parser("kiosk", parents=[common], help="manage remote-counter kiosk tokens")
    kiosk.add_argument("action", choices=["add", "revoke", "list"])
    kiosk.add_argument("name", nargs="?")
    kiosk.add_argument("--as", dest="actor", help="staff member recorded in the audit chain as adding or revoking it")
    kiosk.set_defaults(func=cmd_kiosk)

    from .cli_kb import add_kb_commands
    from .cli_voice import add_voice_commands

    add_voice_commands(sub, common)
    add_kb_commands(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "kiosk" and args.action in ("add", "revoke") and not args.name:
        parser.error(f"kiosk {args.action} needs a NAME")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
