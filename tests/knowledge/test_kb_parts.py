"""The small parts: embedder, pinyin lexical channel, homophone corrector, boundaries."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from knowledge import EMBEDDERS, Embedder, load_embedder
from knowledge.homophones import HomophoneCorrector
from knowledge.lexical import LexicalIndex, tokenize

PACKAGE = Path(__file__).resolve().parents[2] / "knowledge"


def test_embedder_contract(embedder):
    assert isinstance(embedder, Embedder) and embedder.name == "e5-small" and embedder.dim == 384
    assert load_embedder("e5-small") is embedder  # loaded once per process
    q = embedder.embed_queries(["我的卡丢了", "I lost my card"])
    p = embedder.embed_passages(["Please block the card."])
    assert q.shape == (2, 384) and p.shape == (1, 384) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(np.vstack([q, p]), axis=1), 1.0, atol=1e-4)
    assert embedder.embed_queries([]).shape == (0, 384)
    assert float(q[0] @ q[1]) > 0.8  # multilingual: the same question across languages
    assert set(EMBEDDERS) == {"e5-small", "minilm", "minilm-int8"}  # minilm: tests/knowledge/test_embedders_transformers.py; minilm-int8: test_selfcal.py
    with pytest.raises(KeyError, match="unknown embedder"):
        load_embedder("nope")


def test_pinyin_tokens_ignore_characters_and_tones():
    assert tokenize("余额") == tokenize("鱼鹅") == ["p:yu", "p:e", "b:yu_e"]
    assert tokenize("青岛") == tokenize("清导")
    assert tokenize("身份证") == tokenize("身分证")
    # Particles are dropped, English is stemmed, and Latin words inside Chinese match.
    assert tokenize("卡丢了吗") == tokenize("卡丢")
    assert tokenize("Transferring cards") == tokenize("transfer card") == ["w:transfer", "w:card"]
    assert tokenize("I've been blocked") == tokenize("block")
    assert "w:app" in tokenize("手机APP打不开")


def test_bm25_scores_and_updates():
    index = LexicalIndex()
    index.set_documents("balance", ["怎么查余额", "How do I check my balance"])
    index.set_documents("branch", ["青岛哪里有网点"])
    hits = index.search("鱼鹅怎么查")
    assert hits[0].key == "balance" and hits[0].text == "怎么查余额" and 0 < hits[0].score <= 1
    assert index.search("怎么查余额")[0].score == pytest.approx(1.0)
    assert index.search("weather on Mars") == []
    index.remove("balance")
    assert [h.key for h in index.search("鱼鹅怎么查")] == [] and len(index) == 1
    index.set_documents("branch", [])
    assert len(index) == 0 and index.keys() == []


def test_homophone_corrector_fixes_only_non_words():
    fixer = HomophoneCorrector(["怎么查余额", "青岛哪里有网点", "开户要身份证吗", "我要挂失",
                                "实时到账吗", "账户被止付了怎么办", "你们有经营贷吗"])
    assert fixer.correct("我的鱼鹅是多少") == "我的余额是多少"
    assert fixer.correct("清导的网点") == "青岛的网点"
    assert fixer.correct("要带身分证吗") == "要带身份证吗"
    assert fixer.correct("帮我挂是") == "帮我挂失"
    for unchanged in ("事实上我想问一下", "账户被止付了", "经营贷吗", "How about 鱼", ""):
        assert fixer.correct(unchanged) == unchanged
    assert HomophoneCorrector().correct("鱼鹅") == "鱼鹅"


def test_knowledge_imports_nothing_of_ours():
    forbidden = {"assistant", "voices", "avatar_bridge", "web_demo"}
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            for name in names:
                assert name.split(".")[0] not in forbidden, (path.name, name)
