"""`digital-teller kb import|export|reindex|eval|pairs`, `audit verify|purge` (and `staff`, in cli_staff.py).

The CLI trusts the operating-system account that can write the data directory (it can
open the SQLite file anyway); `--as NAME` names the accountable staff member, whose role
the store checks and whose name goes into the audit chain. Secrets are printed once,
to stdout, and never logged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .settings import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "model_dir"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    return load_settings(**overrides)


def _store(settings: Settings):
    from knowledge.store import KnowledgeStore

    return KnowledgeStore(settings.knowledge_db)


def _fail(message: str) -> int:
    print(f"digital-teller: {message}", file=sys.stderr)
    return 2


def cmd_kb_import(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from knowledge.store import StoreError
    from knowledge.transfer import ImportFailed, guess_format, import_text

    if args.approve and not args.actor:
        return _fail("--approve needs --as ADMIN (the admin accountable for publishing)")
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    bar: list[Any] = []

    def progress(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, unit="entry", desc="importing", disable=args.quiet))
        bar[0].update(done - bar[0].n)

    store = _store(_settings(args))
    try:
        report = import_text(store, text, args.format or guess_format(args.file), author=args.actor or "system",
                             approver=args.actor if args.approve else None, source=Path(args.file).name,
                             progress=progress)
    except ImportFailed as exc:
        for error in exc.errors:
            print(f"{args.file}: {error}", file=sys.stderr)
        return _fail(f"{len(exc.errors)} bad row(s); nothing was imported")
    except StoreError as exc:
        return _fail(str(exc))
    finally:
        if bar:
            bar[0].close()
    state = "published" if report.approved else "waiting for review"
    print(f"{len(report.created)} created, {len(report.updated)} updated ({state}); "
          f"{len(report.unchanged)} unchanged")
    return 0


def cmd_kb_export(args: argparse.Namespace) -> int:
    from knowledge.transfer import TransferError, export_text, guess_format

    store = _store(_settings(args))
    entries = store.served_entries()
    try:
        text = export_text(entries, args.format or guess_format(args.file))
    except TransferError as exc:
        return _fail(str(exc))
    Path(args.file).write_text(text, encoding="utf-8")
    print(f"{len(entries)} served entries written to {args.file}")
    return 0


def cmd_kb_reindex(args: argparse.Namespace) -> int:
    from knowledge import demo_kb_path
    from knowledge.sync import open_synced

    from .loading import open_index

    settings = _settings(args)
    store = _store(settings)
    # Also the cure for a folder Chroma cannot open at all: set aside and built anew.
    _, report = open_synced(lambda: open_index(settings), store, folder=settings.chroma_dir,
                            seed_file=settings.knowledge_file or demo_kb_path(), force=True)
    print(f"index rebuilt from the store: {report.build.entries} entries, {report.build.embedded} questions"
          + (f" ({report.seeded} seeded)" if report.seeded else ""))
    return 0


def _read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _eval_index(args: argparse.Namespace, settings: Settings, tmp: str):
    """The served index, opened as the server opens it, or `--kb FILE` built into `tmp`."""
    from knowledge import demo_kb_path, load_jsonl
    from knowledge.selfcal import describe_scoring

    from .loading import open_index, self_calibrate

    if args.kb:
        index = open_index(settings, Path(tmp) / "chroma")
        index.build(load_jsonl(args.kb))
    else:
        from knowledge.sync import sync

        index = open_index(settings)
        sync(_store(settings), index, seed_file=settings.knowledge_file or demo_kb_path())
    self_calibrate(settings, index, follow=False)   # as the server would serve it
    print(f"scoring: {describe_scoring(index)}")
    return index


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _evaluate_file(args: argparse.Namespace, settings: Settings, parse, run):
    """Read and validate an evaluation file, build the index it is measured on, and `run(index,
    items)`; returns what `run` returned, or an exit code once a problem has been reported."""
    import tempfile

    from knowledge.entry import EntryError
    from knowledge.evaluate import EvalFileError

    try:
        items = parse(_read_text(args.file))
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    except EvalFileError as exc:
        return _file_problems(args.file, exc, "bad line(s)")
    with tempfile.TemporaryDirectory(prefix="dt-kb-eval-") as tmp:
        try:
            return run(_eval_index(args, settings, tmp), items)
        except (OSError, EntryError) as exc:
            return _fail(f"cannot open the knowledge base: {exc}")
        except EvalFileError as exc:
            return _file_problems(args.file, exc, "line(s) naming entries the index does not hold")


def _clarifier(settings: Settings, index, threshold: float):
    """Which entries the server's clarifying rule would offer for a question (`kb eval` counts
    such a question as clarified, not answered or handed off)."""
    from .loading import clarify_rule
    from .responder import Responder

    responder = Responder(index, handoff_threshold=threshold, clarify=clarify_rule(settings, threshold))
    return lambda text, candidates: [c.entry.id for c in responder.offered(text, candidates)[0]]


def cmd_kb_eval(args: argparse.Namespace) -> int:
    import json

    from knowledge.evaluate import evaluate, figures, parse_queries, threshold_curve

    settings = _settings(args)
    threshold = settings.handoff_threshold if args.threshold is None else args.threshold
    if not 0.0 <= threshold <= 1.0:
        return _fail(f"--threshold must be between 0 and 1, got {threshold}")
    if args.file.endswith(".jsonl"):
        return _eval_dialogues(args, settings, threshold)
    outcomes = _evaluate_file(args, settings, parse_queries, lambda index, queries: evaluate(
        index, queries, threshold, clarify=_clarifier(settings, index, threshold)))
    if isinstance(outcomes, int):
        return outcomes
    result = figures(outcomes, threshold)
    mistakes = [o for o in outcomes if o.mistake]
    if mistakes:
        print(f"mistakes ({len(mistakes)}):")
    for o in mistakes:
        expected = o.query.expected or "(hand off)"
        print(f"  line {o.query.line}: {o.query.question!r}: {o.mistake}; expected {expected}, "
              f"top {o.top_id} at confidence {o.confidence:.2f}")
    print(f"questions: {result.questions} ({result.answerable} with an entry), threshold {threshold:.2f}")
    print(f"top-1 accuracy:             {_pct(result.top1_accuracy)}")
    print(f"accuracy of answers given:  {_pct(result.answered_accuracy)}")
    print(f"hand-off rate:              {_pct(result.handoff_rate)}")
    print(f"clarified:                  {_pct(result.clarified_rate)}  "
          f"(the expected entry among the options: {_pct(result.clarified_with_expected)})")
    print(f"wrong-answer rate:          {_pct(result.wrong_answer_rate)}")
    print(f"off-topic handed off:       {_pct(result.offtopic_handoff_rate)}")
    print("by threshold (what another DT_HANDOFF_THRESHOLD would do on these questions):")
    print("  threshold  answered  wrong of answered  wrong of all")
    for point in threshold_curve(outcomes):
        mark = "  <- current" if abs(point.threshold - threshold) < 1e-9 else ""
        print(f"  {point.threshold:9.2f}  {_pct(point.answered):>8}  {_pct(point.wrong_of_answered):>17}  "
              f"{_pct(point.wrong):>12}{mark}")
    print(json.dumps(result.to_json()))
    return 0


def _eval_dialogues(args: argparse.Namespace, settings: Settings, threshold: float) -> int:
    """`kb eval DIALOGUES.jsonl`: follow-up turns scored with the conversation's context, and
    without it for comparison (see assistant/dialogues.py for the format)."""
    import json

    from .dialogues import dialogue_figures, evaluate_dialogues, parse_dialogues
    from .loading import clarify_rule
    from .responder import Responder

    def run(index, dialogues):
        responder = Responder(index, handoff_threshold=threshold, clarify=clarify_rule(settings, threshold))
        return (dialogue_figures(evaluate_dialogues(responder, dialogues, context=False)),
                evaluate_dialogues(responder, dialogues))

    done = _evaluate_file(args, settings, parse_dialogues, run)
    if isinstance(done, int):
        return done
    alone, outcomes = done
    result = dialogue_figures(outcomes)
    mistakes = [o for o in outcomes if o.verdict != "right"]
    if mistakes:
        print(f"mistakes ({len(mistakes)}):")
    for o in mistakes:
        print(f"  {o.dialogue} turn {o.position + 1}: {o.text!r}: {o.verdict}; expected {o.expected or '(hand off)'}, "
              f"answered {o.answered or '(hand off)'} at confidence {o.confidence:.2f}"
              + (" (from the context)" if o.followed_up else ""))
    print(f"dialogues: {result.dialogues}, follow-up turns: {result.followups}, threshold {threshold:.2f}")
    print(f"follow-ups right:           {_pct(result.right)}  (without context {_pct(alone.right)})")
    print(f"follow-ups answered wrongly: {_pct(result.wrong)}  (without context {_pct(alone.wrong)})")
    print(f"follow-ups handed off:      {_pct(result.handed_off)}  (without context {_pct(alone.handed_off)})")
    print(f"follow-ups clarified:       {_pct(result.clarified)}")
    print(f"first turns right:          {_pct(result.first_turns_right)}")
    if result.clarify_turns:
        print(f"turns expecting a clarifying question: {result.clarify_turns}: asked {_pct(result.clarify_right)}, "
              f"guessed one of them {_pct(result.clarify_guessed)}, answered wrongly {_pct(result.clarify_wrong)}, "
              f"handed off {_pct(result.clarify_handed_off)}")
    if result.choices:
        print(f"turns after a clarifying question: {result.choices}, right {_pct(result.choices_right)}")
    print(json.dumps({**result.to_json(), "without_context": alone.to_json()}))
    return 0


def _file_problems(path, exc, what: str) -> int:
    """Print every problem of an evaluation file, one per line, then fail with a count."""
    for problem in exc.problems:
        print(f"{path}: {problem}", file=sys.stderr)
    return _fail(f"{len(exc.problems)} {what} in {path}")


def cmd_kb_pairs(args: argparse.Namespace) -> int:
    import json

    from knowledge import load_embedder
    from knowledge.evaluate import (
        EvalFileError,
        pair_figures,
        pair_similarities,
        parse_pairs,
    )

    try:
        pairs = parse_pairs(_read_text(args.file))
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    except EvalFileError as exc:
        return _file_problems(args.file, exc, "bad line(s)")
    embedder_name = args.embedder or _settings(args).embedder
    try:
        embedder = load_embedder(embedder_name)
    except KeyError as exc:
        return _fail(str(exc.args[0]))
    scores = pair_similarities(embedder, pairs)
    labels = [p.label for p in pairs]
    result = pair_figures(scores, labels)
    if args.verbose:
        for p, s in zip(pairs, scores, strict=True):
            print(f"  line {p.line}: {s:.3f} label {p.label}: {p.sentence1!r} / {p.sentence2!r}")
    print(f"pairs: {result.pairs} ({result.positives} same meaning), embedder {embedder_name}")
    print(f"AUC:                      {result.auc:.3f}")
    print(f"best-threshold accuracy:  {100 * result.best_accuracy:.1f} % at cosine >= {result.best_threshold:.4f}")
    print(json.dumps({**result.to_json(), "embedder": embedder_name}))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    report = _store(_settings(args)).audit.verify()
    if report.ok:
        print(f"audit chain intact: {report.records} records; head hash {report.head_hash}")
        return 0
    print(f"audit chain BROKEN at record {report.broken_seq}: {report.reason}", file=sys.stderr)
    return 1


def cmd_audit_purge(args: argparse.Namespace) -> int:
    import getpass

    from knowledge.retention import RetentionError, purge

    settings = _settings(args)
    days = settings.privacy.question_retention_days if args.older_than is None else args.older_than
    if args.older_than is None and days == 0:
        print("privacy.question_retention_days is 0 (keep forever): nothing purged; "
              "give --older-than DAYS to purge anyway")
        return 0
    try:
        report = purge(_store(settings).db, older_than_days=days, actor=f"cli:{getpass.getuser()}")
    except RetentionError as exc:
        return _fail(str(exc))
    print(f"purged the question texts of records before {report.before}: {report.questions} served "
          f"answers, {report.feedback} feedback; the audit chain keeps their digests")
    if report.in_chain:
        print(f"{report.in_chain} older served answers were recorded before schema 2 and hold their "
              "question inside the chain: they cannot be purged without breaking it (see "
              "docs/knowledge-store.md)")
    return 0


def add_kb_commands(subparsers: Any, common_parent: argparse.ArgumentParser) -> None:
    """Register `kb`, `staff` and `audit` on the main parser's subparsers."""
    # The common options go on the leaf parsers only: argparse lets a nested parser's
    # defaults overwrite values given before the sub-command name.
    common = [common_parent]
    kb = subparsers.add_parser("kb", help="knowledge base: import, export, reindex, eval, pairs")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    imp = kb_sub.add_parser("import", parents=common, help="import JSONL or CSV (drafts for review)")
    imp.add_argument("file")
    imp.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file name")
    imp.add_argument("--approve", action="store_true", help="publish at once (admin only, audited)")
    imp.add_argument("--as", dest="actor", help="staff member accountable for the import")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_kb_import)
    exp = kb_sub.add_parser("export", parents=common, help="write the served entries to JSONL or CSV")
    exp.add_argument("file")
    exp.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file name")
    exp.set_defaults(func=cmd_kb_export)
    rei = kb_sub.add_parser("reindex", parents=common, help="rebuild the vector index from the store")
    rei.set_defaults(func=cmd_kb_reindex)
    ev = kb_sub.add_parser("eval", parents=common,
                           help="accuracy and hand-off figures on a labelled question CSV, or on dialogues (.jsonl)")
    ev.add_argument("file", help="CSV with header question,expected_entry_id (empty id: should hand off), "
                                 "or a .jsonl file of dialogues (docs/knowledge.md, 'Conversations')")
    ev.add_argument("--kb", help="evaluate this JSONL (built into a temporary index) instead of the served index")
    ev.add_argument("--threshold", type=float, help="hand-off threshold (default: DT_HANDOFF_THRESHOLD)")
    ev.set_defaults(func=cmd_kb_eval)
    pa = kb_sub.add_parser("pairs", parents=common, help="AUC of the embedder on same-meaning sentence pairs")
    pa.add_argument("file", help="TSV: sentence1<TAB>sentence2<TAB>label (1 = same meaning)")
    pa.add_argument("--embedder", help="embedder name (default: the configured one)")
    pa.add_argument("--verbose", action="store_true", help="print every pair's cosine")
    pa.set_defaults(func=cmd_kb_pairs)

    from .cli_staff import add_staff_command

    add_staff_command(subparsers, common)

    audit = subparsers.add_parser("audit", help="audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", parents=common, help="check the hash chain; exit 1 if broken")
    verify.set_defaults(func=cmd_audit_verify)
    purge = audit_sub.add_parser("purge", parents=common, help="purge customers' question texts past their "
                                 "retention; the chain keeps their digests and still verifies")
    purge.add_argument("--older-than", type=float, metavar="DAYS",
                       help="purge texts older than this many days (default: privacy.question_retention_days)")
    purge.set_defaults(func=cmd_audit_purge)
