#!/usr/bin/env python
"""Retrieval: top-1 accuracy per retriever configuration, search latency by KB size, import rate.

    python benchmarks/retrieval.py [--splits 5] [--sizes 100,1000,10000] [--json retrieval.json]
                                   [--embedders e5-small,e5-small+minilm]

Data: `../shared/data/banking77/dev_sample_from_train.csv` (77 intents x 5 customer questions,
English, CC BY 4.0; read in place, never copied). Each intent becomes one knowledge entry whose
answer is the intent name. Split k (of `--splits`, at most 5) keeps 3 of an intent's 5 questions as
the entry's example questions and asks the other 2 (questions k and k+1 mod 5), so over 5 splits
every question is asked twice and never against an index holding it.

Accuracy, same index and same query vectors for every row:
- dense kNN: the entry of the single nearest example question (the plain baseline);
- dense mean: cosine to the mean of an entry's examples;
- dense mix: the index's blend of the two (no lexical channel);
- lexical: BM25 alone (`knowledge.lexical`; English words here, so pinyin/jieba play no part);
- hybrid: dense mix + lexical at the default weights, classifier off;
- classifier alone, and hybrid + classifier at a fixed weight (`knowledge.classifier`);
- as served: `KnowledgeIndex.search` with the default `ScoringParams`, with `knowledge.evaluate`
  figures at the default hand-off threshold;
- hybrid + classifier with weights by cross-validation: for each split, the centroid, lexical and
  classifier weights are grid-searched (`knowledge.calibrate.grid_search`) on the other splits'
  queries and tested on this split's, so no query helps choose the weights it is scored with.
Each query is searched once (`KnowledgeIndex.channels`); configurations re-weight its channels.
With several `--embedders`, every configuration is reported for each (one column each): the
same split, so "dense kNN" of the default embedder stays the plain baseline for all columns.

Latency: `KnowledgeIndex.search` on KBs of N entries: the 77 real entries plus N - 77 synthetic
ones, each a copy of a real entry with every example question perturbed (one word swapped for a
random word of the corpus) and its vector the real vector plus Gaussian noise (cosine ~0.95 to it),
written into Chroma with explicit embeddings: embedding 30,000 texts for real would take ~15 min
on this machine and would not change the search path being timed. Search times are therefore
"query vector known"; the query embedding is timed on its own (one real call per query) and the
end-to-end figure is their sum per query. Each search is also timed in CPU time of this process
(`time.process_time`), less sensitive to other jobs on a shared machine. "1st" is the first search
after a build (it builds the in-memory snapshot: BM25 matrix, example-vector matrix); "+clf" repeats the
searches with the classifier channel on, after its first search has fitted it ("clf fit").

Import: `knowledge.transfer.import_text` (validate JSONL + write approved entries in one SQLite
transaction) into a fresh store, then `knowledge.sync.sync` building the index from the store
(Chroma + BM25 + example vectors, synthetic vectors), then the real embedder's rate for the example
questions; the end-to-end rate combines the three.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    Entry,
    KnowledgeIndex,
    ScoringParams,
    load_embedder,
)
from knowledge.calibrate import grid_search
from knowledge.evaluate import EvalQuery, evaluate, figures
from knowledge.index import Channels
from knowledge.lexical import LexicalIndex
from retrieval_data import DATA, VectorTable, load_intents, split, synthetic_kb  # beside this script

KB_EXAMPLES = 3
CLASSIFIER_WEIGHT = 0.2  # a fixed weight for the side-by-side row (the CV row picks its own)

# Scoring overrides that turn the served index into each dense-only configuration.
DENSE_CONFIGS: dict[str, dict[str, float]] = {
    "dense kNN (nearest example)": {"centroid_weight": 0.0, "lexical_weight": 0.0},
    "dense mean of examples": {"centroid_weight": 1.0, "lexical_weight": 0.0},
    "dense mix (nearest + mean)": {"lexical_weight": 0.0},
}


@dataclass
class Tally:
    right: int = 0
    asked: int = 0

    @property
    def rate(self) -> float:
        return self.right / self.asked if self.asked else float("nan")


def top1(found: Sequence[tuple[str, Channels]], params: ScoringParams | None) -> int:
    """How many queries' highest fused score (classifier output alone for None) is their
    expected entry (the first on a tie, as `KnowledgeIndex.search` ranks)."""
    return sum(c.entries[int(np.argmax(c.classifier if params is None else c.fused(params)))].id == want
               for want, c in found)


def accuracy(intents, table: VectorTable, splits: int, root: Path) -> tuple[dict[str, Tally], dict, list]:
    tallies: dict[str, Tally] = {}
    hybrid_outcomes = []
    per_split: list[list[tuple[str, Channels]]] = []
    for k in range(splits):
        entries, queries = split(intents, k)
        index = KnowledgeIndex(root / f"split-{k}", table)
        index.build(entries)
        # Each query is searched once with every channel; configurations re-weight them.
        found = [(want, index.channels(question, classifier=True)) for question, want in queries]
        per_split.append(found)
        defaults = replace(index.params, classifier_weight=0.0)
        configs: dict[str, ScoringParams | None] = {
            name: replace(defaults, **o) for name, o in DENSE_CONFIGS.items()}
        configs["hybrid (dense mix + lexical)"] = defaults
        configs["classifier alone"] = None
        configs[f"hybrid + classifier (weight {CLASSIFIER_WEIGHT})"] = replace(
            defaults, classifier_weight=CLASSIFIER_WEIGHT)
        for name, params in configs.items():
            tally = tallies.setdefault(name, Tally())
            tally.right += top1(found, params)
            tally.asked += len(found)
        lexical = LexicalIndex()
        for e in entries:
            lexical.set_documents(e.id, e.questions["en"])
        tally = tallies.setdefault("lexical only (BM25)", Tally())
        for question, want in queries:
            hits = lexical.search(question, limit=1)
            tally.right += bool(hits) and hits[0].key == want
            tally.asked += 1
        outcomes = evaluate(index, [EvalQuery(i + 2, q, w) for i, (q, w) in enumerate(queries)],
                            DEFAULT_CONFIDENCE_THRESHOLD)
        hybrid_outcomes += outcomes
        tally = tallies.setdefault("as served (KnowledgeIndex.search, defaults)", Tally())
        tally.right += sum(o.top1_right for o in outcomes)
        tally.asked += len(outcomes)
    chosen = []
    if splits > 1:
        # Weights chosen on the other splits only: a split's queries never pick its weights.
        tally = tallies.setdefault("hybrid + classifier, weights by cross-validation", Tally())
        for k, found in enumerate(per_split):
            others = [pair for j, f in enumerate(per_split) if j != k for pair in f]
            params = grid_search(others)[1]
            chosen.append({f: getattr(params, f) for f in ("centroid_weight", "lexical_weight",
                                                           "classifier_weight")})
            tally.right += top1(found, params)
            tally.asked += len(found)
    return tallies, figures(hybrid_outcomes, DEFAULT_CONFIDENCE_THRESHOLD).to_json(), chosen


def report_accuracy(runs: dict[str, tuple[dict[str, Tally], dict, list]], splits: int,
                    result: dict[str, object]) -> None:
    """One accuracy column per embedder; the first embedder's figures also as before."""
    first = next(iter(runs.values()))
    asked = next(iter(first[0].values())).asked
    print(f"\ntop-1 accuracy, {splits} split(s), {KB_EXAMPLES} examples per entry, {asked} questions asked")
    print(f"{'configuration':52}" + "".join(f" {name:>18}" for name in runs))
    for config in first[0]:
        print(f"{config:52}" + "".join(f" {100 * tallies[config].rate:16.1f} %" for tallies, _, _ in runs.values()))
    for name, (_, hybrid, chosen) in runs.items():
        print(f"{name}:")
        for k, weights in enumerate(chosen):
            print(f"  split {k} tested with weights chosen on the others: {weights}")
        print(f"  as served at confidence >= {DEFAULT_CONFIDENCE_THRESHOLD}: answered "
              f"{100 * (1 - hybrid['handoff_rate']):.1f} %, right when answered "
              f"{100 * hybrid['answered_accuracy']:.1f} %", flush=True)
    tallies, hybrid, chosen = first
    result["accuracy"] = {name: round(t.rate, 4) for name, t in tallies.items()}
    result["questions_asked"] = asked
    result["hybrid_eval"] = hybrid
    result["cv_weights"] = chosen
    result["accuracy_by_embedder"] = {name: {c: round(t.rate, 4) for c, t in run[0].items()}
                                      for name, run in runs.items()}


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ms = np.array(samples) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def search_latency(index: KnowledgeIndex, queries: Sequence[str], repeat: int) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds of this process) per search; CPU time counts every
    thread of the process but not the other jobs sharing the machine."""
    for q in queries[:10]:  # warm-up: first calls fill caches (BLAS threads, jieba, pinyin)
        index.search(q, k=5)
    wall, cpu = [], []
    for _ in range(repeat):
        for q in queries:
            t0, c0 = time.perf_counter(), time.process_time()
            index.search(q, k=5)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return wall, cpu


def embed_latency(embedder, queries: Sequence[str]) -> list[float]:
    embedder.embed_queries([queries[0]])
    times = []
    for q in queries:
        t0 = time.perf_counter()
        embedder.embed_queries([q])
        times.append(time.perf_counter() - t0)
    return times


def import_rate(entries: list[Entry], table: VectorTable, root: Path) -> dict[str, float]:
    from knowledge.store import KnowledgeStore
    from knowledge.sync import sync
    from knowledge.transfer import import_text

    text = "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in entries)
    store = KnowledgeStore(root / "teller.sqlite3")
    t0 = time.perf_counter()
    report = import_text(store, text, "jsonl", author="system", approver="system", source="bench")
    t1 = time.perf_counter()
    index = KnowledgeIndex(root / "chroma", table)
    sync(store, index)
    t2 = time.perf_counter()
    assert len(report.created) == len(entries) == len(index)
    return {"store_s": t1 - t0, "index_s": t2 - t1}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--splits", type=int, default=5, choices=range(1, 6))
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--repeat", type=int, default=2, help="passes over the queries per KB size")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--embedders", default="e5-small",
                    help="comma-separated; accuracy for each side by side, latency with the first")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = os.getloadavg()

    intents = load_intents(args.data)
    questions = [t for asked in intents.values() for t in asked]
    names = [n.strip() for n in args.embedders.split(",") if n.strip()]
    tables = {name: VectorTable(load_embedder(name)) for name in names}
    for name, table in tables.items():
        table.fill(questions)
        print(f"{name}: {len(questions)} questions, {len(intents)} intents, embedded at "
              f"{table.embedded / table.embed_seconds:.1f} questions/s", flush=True)
    table = tables[names[0]]  # latency and import are timed with the first embedder
    embed_rate = table.embedded / table.embed_seconds

    result: dict[str, object] = {"date": dt.date.today().isoformat(), "load_before": load_before,
                                 "splits": args.splits, "embedders": names}
    with tempfile.TemporaryDirectory(prefix="dt-bench-retrieval-") as tmp:
        root = Path(tmp)
        runs = {name: accuracy(intents, t, args.splits, root / f"accuracy-{i}")
                for i, (name, t) in enumerate(tables.items())}
        report_accuracy(runs, args.splits, result)

        base, queries = split(intents, 0)
        query_texts = [q for q, _ in queries]
        embed_p50, embed_p95 = percentiles(embed_latency(table.inner, query_texts))
        print(f"\nquery embedding alone (real model, one query per call): p50 {embed_p50:.1f} ms, "
              f"p95 {embed_p95:.1f} ms")
        print(f"{'entries':>8} {'records':>8} {'build s':>8} {'1st s':>6} {'search p50':>11} {'search p95':>11} "
              f"{'cpu p50':>8} {'cpu p95':>8} {'e2e p50':>8} {'e2e p95':>8} {'+clf p95':>9} {'clf fit s':>9}")
        latency = {}
        for size in sizes:
            entries = synthetic_kb(base, size, table)
            index = KnowledgeIndex(root / f"size-{size}", table)
            t0 = time.perf_counter()
            index.build(entries)
            build_s = time.perf_counter() - t0
            # The first search after a change rebuilds the in-memory snapshot (BM25 and vector matrices).
            t0 = time.perf_counter()
            index.search(query_texts[0], k=5)
            first_s = time.perf_counter() - t0
            times, cpu = search_latency(index, query_texts, args.repeat)
            p50, p95 = percentiles(times)
            c50, c95 = percentiles(cpu)
            # End to end per query: this search plus a real embedding (sampled pairwise).
            embeds = embed_latency(table.inner, query_texts[:40])
            e2e = [s + embeds[i % len(embeds)] for i, s in enumerate(times)]
            e50, e95 = percentiles(e2e)
            # The same searches with the classifier channel on; its first search fits it.
            index.params = replace(index.params, classifier_weight=CLASSIFIER_WEIGHT)
            t0 = time.perf_counter()
            index.search(query_texts[0], k=5)
            fit_s = time.perf_counter() - t0
            k50, k95 = percentiles(search_latency(index, query_texts, 1)[0])
            records = sum(len(e.questions["en"]) for e in entries)
            print(f"{size:8d} {records:8d} {build_s:8.1f} {first_s:6.2f} {p50:8.1f} ms {p95:8.1f} ms "
                  f"{c50:5.1f} ms {c95:5.1f} ms {e50:5.1f} ms {e95:5.1f} ms {k95:6.1f} ms {fit_s:9.2f}",
                  flush=True)
            latency[str(size)] = {"search_p50_ms": round(p50, 2), "search_p95_ms": round(p95, 2),
                                  "search_cpu_p50_ms": round(c50, 2), "search_cpu_p95_ms": round(c95, 2),
                                  "end_to_end_p50_ms": round(e50, 2), "end_to_end_p95_ms": round(e95, 2),
                                  "classifier_search_p50_ms": round(k50, 2),
                                  "classifier_search_p95_ms": round(k95, 2),
                                  "build_s": round(build_s, 2), "first_search_s": round(first_s, 3),
                                  "classifier_first_search_s": round(fit_s, 3)}
        result["query_embedding_ms"] = {"p50": round(embed_p50, 2), "p95": round(embed_p95, 2)}
        result["latency"] = latency

        print(f"\nimport ({KB_EXAMPLES} example questions per entry)")
        print(f"{'entries':>8} {'store /s':>9} {'index /s':>9} {'embed /s':>9} {'end to end /s':>14}")
        imports = {}
        for size in [s for s in sizes if s >= 1000] or sizes[-1:]:
            entries = synthetic_kb(base, size, table)
            got = import_rate(entries, table, root / f"import-{size}")
            embed_s = size * KB_EXAMPLES / embed_rate
            total = got["store_s"] + got["index_s"] + embed_s
            row = {"store_per_s": size / got["store_s"], "index_per_s": size / got["index_s"],
                   "embed_entries_per_s": embed_rate / KB_EXAMPLES, "end_to_end_per_s": size / total}
            print(f"{size:8d} {row['store_per_s']:9.0f} {row['index_per_s']:9.0f} "
                  f"{row['embed_entries_per_s']:9.1f} {row['end_to_end_per_s']:14.1f}", flush=True)
            imports[str(size)] = {k: round(v, 1) for k, v in row.items()}
        result["import"] = imports
    result["embed_questions_per_s"] = round(embed_rate, 1)
    result["load_after"] = os.getloadavg()
    print(f"\nload average before {load_before[0]:.2f}, after {result['load_after'][0]:.2f}")
    line = json.dumps(result)
    if args.json:
        args.json.write_text(line + "\n", encoding="utf-8")
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
