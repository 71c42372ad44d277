"""`kb pairs`: the rank AUC and best threshold checked by hand, then with the real embedder."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from assistant.cli import main
from knowledge import embedders
from knowledge.evaluate import (
    EvalFileError,
    best_threshold,
    pair_similarities,
    parse_pairs,
    rank_auc,
)

# Twelve pairs, Mandarin, English and across the two; label 1 = same meaning.
PAIRS_TSV = """sentence1\tsentence2\tlabel
银行卡丢了怎么办\t我的卡找不到了\t1
怎么查余额\t卡里还剩多少钱\t1
I lost my card\tMy bank card is missing\t1
How do I check my balance\tHow much money is in my account\t1
What are your opening hours\t你们几点开门\t1
怎么换美元\tHow do I buy US dollars\t1
银行卡丢了怎么办\t今天天气怎么样\t0
怎么查余额\t红烧肉怎么做\t0
I lost my card\tRecommend a good movie\t0
How do I check my balance\tWhen does the subway stop running\t0
What are your opening hours\t帮我写一首诗\t0
怎么换美元\tWhat's the capital of France\t0
"""


def run(*argv: str) -> int:
    return main(list(argv))


def pairwise_auc(scores, labels) -> float:
    """The definition, counted pair by pair: an independent check of rank_auc."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_and_threshold_by_hand():
    scores, labels = np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0])
    # Positive/negative pairs: 0.9>0.8, 0.9>0.6, 0.7<0.8, 0.7>0.6 -> 3 of 4.
    assert rank_auc(scores, labels) == pytest.approx(0.75)
    # Cuts: all same 2/4; >=0.65 3/4; >=0.75 2/4; >=0.85 3/4; none 2/4 -> the lower 0.65 wins.
    accuracy, threshold = best_threshold(scores, labels)
    assert accuracy == pytest.approx(0.75) and threshold == pytest.approx(0.65)
    assert rank_auc(np.array([0.5, 0.5]), np.array([1, 0])) == pytest.approx(0.5)  # a tie is half
    assert rank_auc(np.array([0.2, 0.1, 0.3]), np.array([1, 0, 1])) == 1.0
    assert rank_auc(np.array([0.2, 0.3]), np.array([1, 0])) == 0.0
    # Tied scores cannot be split by a threshold: the only cuts are around the tie.
    assert best_threshold(np.array([0.5, 0.5, 0.9]), np.array([1, 0, 1])) == (pytest.approx(2 / 3), 0.5)
    acc, thr = best_threshold(np.array([0.1, 0.2]), np.array([0, 0]))
    assert acc == 1.0 and thr > 0.2
    with pytest.raises(ValueError):
        rank_auc(np.array([0.1, 0.2]), np.array([1, 1]))


def test_rank_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(3)
    for _ in range(20):
        scores = np.round(rng.random(30), 1)  # rounded: plenty of ties
        labels = rng.integers(0, 2, 30)
        if 0 < labels.sum() < 30:
            assert rank_auc(scores, labels) == pytest.approx(pairwise_auc(scores, labels))


class AngleEmbedder:
    """"anchor" is (1, 0); "cos=c" is the unit vector whose cosine with it is c."""

    name, dim = "angle-stub", 2

    def embed_queries(self, texts):
        out = []
        for t in texts:
            c = 1.0 if t == "anchor" else float(t.removeprefix("cos="))
            out.append([c, math.sqrt(max(0.0, 1.0 - c * c))])
        return np.array(out, dtype=np.float32)

    embed_passages = embed_queries


def test_pairs_command_by_hand(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(embedders._loaded, "angle-stub", AngleEmbedder())
    path = tmp_path / "pairs.tsv"
    path.write_text("anchor\tcos=0.9\t1\nanchor\tcos=0.8\t0\ncos=0.7\tanchor\t1\nanchor\tcos=0.6\t0\n",
                    encoding="utf-8")
    assert run("kb", "pairs", str(path), "--embedder", "angle-stub", "--verbose") == 0
    out = capsys.readouterr().out
    got = json.loads(out.strip().splitlines()[-1])
    assert got == {"pairs": 4, "positives": 2, "auc": 0.75, "best_accuracy": 0.75,
                   "best_threshold": 0.65, "embedder": "angle-stub"}
    assert "line 3: 0.700 label 1" in out


def test_pairs_command_with_the_real_embedder(tmp_path, capsys, embedder):
    path = tmp_path / "pairs.tsv"
    path.write_text(PAIRS_TSV, encoding="utf-8")
    assert run("kb", "pairs", str(path), "--embedder", embedder.name) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    pairs = parse_pairs(PAIRS_TSV)
    scores = pair_similarities(embedder, pairs)
    labels = [p.label for p in pairs]
    assert (got["pairs"], got["positives"]) == (12, 6)
    assert got["auc"] == pytest.approx(pairwise_auc(list(scores), labels), abs=1e-4)
    predicted = scores >= got["best_threshold"]
    assert got["best_accuracy"] == pytest.approx(np.mean(predicted == np.array(labels, bool)), abs=1e-4)
    # Same-meaning bank questions sit well above unrelated ones, across languages too.
    assert got["auc"] >= 0.9 and got["best_accuracy"] >= 0.9


def test_parse_pairs_errors(tmp_path, capsys):
    with pytest.raises(EvalFileError) as caught:
        parse_pairs("a\tb\t1\nonly two\tfields\n\tb\t0\na\tb\tyes\na\tb\t0\n")
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "row"), (3, "sentence1"), (4, "label")]
    with pytest.raises(EvalFileError, match="label 0 and label 1"):
        parse_pairs("a\tb\t1\nc\td\t1\n")
    with pytest.raises(EvalFileError, match="no pairs"):
        parse_pairs("sentence1\tsentence2\tlabel\n")
    # Quotes are text, not TSV quoting.
    assert parse_pairs('say "hi"\t"hello"\t1\nx\ty\t0\n')[0].sentence1 == 'say "hi"'
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\t2\n", encoding="utf-8")
    assert run("kb", "pairs", str(bad)) == 2
    err = capsys.readouterr().err
    assert "bad.tsv: line 1: field 'label': must be 0 or 1, got '2'" in err
    good = tmp_path / "good.tsv"
    good.write_text("a\tb\t1\nc\td\t0\n", encoding="utf-8")
    assert run("kb", "pairs", str(good), "--embedder", "no-such-model") == 2
    assert "unknown embedder" in capsys.readouterr().err
