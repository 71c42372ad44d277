"""Fit the fusion weights and the confidence logistic on a knowledge base.

    python -m knowledge.calibrate [kb.jsonl] [--grid]

How the defaults in `knowledge.scoring` were chosen (on the demo KB):

1. Split: the last example question of each entry, per language, is held out;
   the index is built from the remaining examples.
2. Queries with a right answer: the held-out questions, and the Chinese ones
   again with homophone noise (a quarter of the characters swapped for common
   characters with the same toneless pinyin, as Whisper does). Label 1 when the
   top candidate is the right entry, 0 when it is not.
3. Queries without a right answer (label 0): off-topic questions (`OFF_TOPIC`),
   and held-out questions of entries that were left out of a second index built
   from every other entry: in-domain questions the KB cannot answer, the hardest
   case for a hand-off decision.
4. `--grid`: centroid, lexical and classifier weights by grid search for top-1
   accuracy on 2.
5. A logistic regression of the label on (top fused score, margin over the
   runner-up, query is English) gives bias / score_slope / margin_slope /
   english_shift.
6. The threshold is read off the printed table: the lowest confidence at which
   the answers given are right at least 95 % of the time on this data.

Everything here is deterministic (fixed seed), and nothing is downloaded.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import tempfile
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from .embedders import Embedder, load_embedder
from .entry import Entry, load_jsonl
from .index import Channels, KnowledgeIndex
from .scoring import DEFAULT_PARAMS, ScoringParams

_HAN = re.compile(r"[\u3400-\u9fff]")

OFF_TOPIC: tuple[str, ...] = (
    "今天天气怎么样", "明天会下雨吗", "附近有什么好吃的", "红烧肉怎么做", "帮我订一张去北京的机票",
    "你喜欢什么颜色", "唱首歌吧", "一加一等于几", "青岛啤酒节什么时候开始", "栈桥怎么走",
    "足球比赛谁赢了", "推荐一部电影", "我肚子疼怎么办", "你多大了", "怎么学英语", "帮我写一首诗",
    "猫为什么怕水", "地铁几点停运", "哪只股票会涨", "比特币能买吗", "房价还会跌吗",
    "帮我叫个出租车", "今天星期几", "现在几点了", "最近有什么新闻", "我想减肥",
    "手机屏幕碎了去哪修", "快递怎么还没到",
    "怎么办护照", "法国的首都是哪里",
    "What's the weather like today", "Will it rain tomorrow", "Recommend a good restaurant",
    "How do I cook dumplings", "Book me a flight to Shanghai", "What's your favourite colour",
    "Sing me a song", "What is two plus two", "When is the Qingdao beer festival",
    "How do I get to Zhanqiao pier", "Who won the football match", "Recommend a movie",
    "I have a headache", "How old are you", "Write me a poem", "Why do cats hate water",
    "When does the subway stop running", "Which stock will go up", "Should I buy bitcoin",
    "Will house prices fall", "Call me a taxi", "What day is it today", "What's the latest news",
    "How do I lose weight", "Where can I fix my phone screen", "My parcel hasn't arrived",
    "How do I apply for a passport", "What's the capital of France", "Translate this into French",
    "Play some music",
)


class _Memo:
    """Embedder wrapper that embeds each text once: the grid re-runs every query."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self._seen: dict[str, np.ndarray] = {}
        self.name, self.dim = inner.name, inner.dim

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._seen]
        for start in range(0, len(missing), 64):
            part = missing[start:start + 64]
            self._seen.update(zip(part, self._inner.embed_queries(part), strict=True))
        return np.stack([self._seen[t] for t in texts]) if texts else np.zeros((0, self.dim))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._inner.embed_passages(texts)


def homophone_noise(text: str, rate: float, rng: random.Random) -> str:
    """Swap Chinese characters for common characters that sound the same (no tones)."""
    import jieba
    from pypinyin import Style, lazy_pinyin, pinyin_dict

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    if not hasattr(homophone_noise, "table"):
        table: dict[str, list[str]] = {}
        for code in sorted(pinyin_dict.pinyin_dict):
            ch = chr(code)
            if jieba.dt.FREQ.get(ch, 0) >= 2000:  # common characters only
                table.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
        homophone_noise.table = table  # type: ignore[attr-defined]
    table = homophone_noise.table  # type: ignore[attr-defined]
    out = []
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff" and rng.random() < rate:
            alts = [c for c in table.get(lazy_pinyin(ch, style=Style.NORMAL)[0], []) if c != ch]
            ch = rng.choice(alts) if alts else ch
        out.append(ch)
    return "".join(out)


def split(entries: Sequence[Entry]) -> tuple[list[Entry], list[tuple[str, str, str]]]:
    """(entries without their last example per language, [(entry id, lang, held-out text)])."""
    kept, held = [], []
    for e in entries:
        questions = {}
        for lang, qs in e.questions.items():
            if len(qs) >= 2:
                held.append((e.id, lang, qs[-1]))
                qs = qs[:-1]
            questions[lang] = qs
        kept.append(replace(e, questions=questions))
    return kept, held


def _features(index: KnowledgeIndex, text: str) -> tuple[str, float, float, float]:
    """(top entry id, its fused score, margin over the runner-up, 1.0 if English)."""
    found = index.search(text, k=2)
    margin = found[0].score - found[1].score if len(found) > 1 else 0.0
    return found[0].entry.id, found[0].score, margin, float(_HAN.search(text) is None)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """[bias, w1, w2, ...] by Newton's method on standardised features."""
    mean, std = x.mean(0), x.std(0) + 1e-12
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    w = np.zeros(z.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        grad = z.T @ (p - y) + l2 * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    slopes = w[1:] / std
    return np.concatenate([[w[0] - (slopes * mean).sum()], slopes])


def main(argv: Sequence[str] | None = None) -> None:
    from . import demo_kb_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kb", nargs="?", default=str(demo_kb_path()))
    ap.add_argument("--embedder", default="e5-small")
    ap.add_argument("--grid", action="store_true", help="also search the fusion weights")
    args = ap.parse_args(argv)

    entries = load_jsonl(args.kb)
    embedder = _Memo(load_embedder(args.embedder))
    kept, held = split(entries)
    rng = random.Random(7)
    noisy = [(k, "zh, homophone noise", homophone_noise(q, 0.25, rng)) for k, lang, q in held if lang == "zh"]
    left_out = {e.id for i, e in enumerate(entries) if i % 2}
    with tempfile.TemporaryDirectory() as tmp:
        full = KnowledgeIndex(Path(tmp) / "a", embedder)
        full.build(kept)
        half = KnowledgeIndex(Path(tmp) / "b", embedder)
        half.build([e for e in kept if e.id not in left_out])
        answerable = held + noisy
        params = DEFAULT_PARAMS
        if args.grid:
            params = _grid(full, answerable)
        full.params = half.params = params
        rows = []
        for k, _, q in answerable:
            top, *features = _features(full, q)
            rows.append((*features, float(top == k)))
        rows += [(*_features(full, q)[1:], 0.0) for q in OFF_TOPIC]
        rows += [(*_features(half, q)[1:], 0.0) for k, _, q in held if k in left_out]
    data = np.array(rows)
    bias, s_slope, m_slope, e_shift = fit_logistic(data[:, :3], data[:, 3])
    params = replace(params, bias=round(float(bias), 1), score_slope=round(float(s_slope), 1),
                     margin_slope=round(float(m_slope), 1), english_shift=round(float(e_shift), 1))
    top1 = data[: len(answerable), 3].mean()
    print(f"top-1 on held-out questions (clean + noisy): {top1:.3f}  ({len(answerable)} queries)")
    by_kind: dict[str, list[float]] = {}
    for (_, kind, _), label in zip(answerable, data[: len(answerable), 3], strict=True):
        by_kind.setdefault(kind, []).append(label)
    print("  " + "; ".join(f"{kind}: {int(sum(v))}/{len(v)}" for kind, v in by_kind.items()))
    print(f"fitted: {params}")
    conf = np.array([params.confidence(f, m, bool(e)) for f, m, e, _ in rows])
    n_ans, n_off = len(answerable), len(OFF_TOPIC)
    right = data[:n_ans, 3] == 1
    print("threshold  answered  precision  off-topic accepted  left-out accepted")
    chosen = None
    for t in np.arange(0.30, 0.951, 0.05):
        said = conf[:n_ans] >= t
        prec = float(right[said].mean()) if said.any() else float("nan")
        if chosen is None and prec >= 0.95:
            chosen = round(float(t), 2)
        print(f"  {t:.2f}     {said.mean():6.3f}    {prec:6.3f}        "
              f"{(conf[n_ans:n_ans + n_off] >= t).mean():6.3f}             "
              f"{(conf[n_ans + n_off:] >= t).mean():6.3f}")
    print(f"lowest threshold with precision >= 0.95: {chosen}")
    print("\n" + settings_block(args.embedder, params, chosen))


def settings_block(embedder: str, params: ScoringParams, threshold: float | None) -> str:
    """The fitted figures as the server's TOML settings (top-level keys before the table)."""
    lines = ["# digital-teller.toml (or DT_SCORING__BIAS=... etc.)", f'embedder = "{embedder}"']
    if threshold is not None:
        lines.append(f"handoff_threshold = {threshold}")
    lines.append("[scoring]")
    lines += [f"{f.name} = {getattr(params, f.name)}" for f in fields(ScoringParams)]
    return "\n".join(lines)


CENTROID_GRID = (0.5, 0.6, 0.67, 0.75, 0.8)
LEXICAL_GRID = (0.0, 0.01, 0.015, 0.02, 0.03, 0.05)
CLASSIFIER_GRID = (0.0, 0.02, 0.05, 0.1, 0.2, 0.5)


def grid_search(found: Sequence[tuple[str, Channels]], base: ScoringParams = DEFAULT_PARAMS,
                report: bool = False) -> tuple[float, ScoringParams]:
    """The fusion weights with the best top-1 over (expected id, channels) pairs; on a
    tie the earlier grid point (smaller weights) wins."""
    best = (-1.0, base)
    for cw in CENTROID_GRID:
        for lw in LEXICAL_GRID:
            for kw in CLASSIFIER_GRID:
                params = replace(base, centroid_weight=cw, lexical_weight=lw, classifier_weight=kw)
                acc = float(np.mean([c.entries[int(np.argmax(c.fused(params)))].id == k for k, c in found]))
                if report:
                    print(f"  centroid_weight={cw} lexical_weight={lw} classifier_weight={kw}: top-1 {acc:.3f}")
                if acc > best[0] + 1e-9:
                    best = (acc, params)
    return best


def _grid(index: KnowledgeIndex, queries: Sequence[tuple[str, str, str]]) -> ScoringParams:
    # Each query is searched once; the grid only re-weights its channel scores.
    found = [(k, index.channels(q, classifier=True)) for k, _, q in queries]
    return grid_search(found, report=True)[1]


if __name__ == "__main__":
    main()
