"""Session-scoped knowledge fixtures: the embedder is loaded once, the demo index
is embedded once (the slow part, ~1,100 example questions) into a fresh folder
per test session, so tests never touch a developer's real index."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import Embedder, KnowledgeIndex, demo_kb_path, load_embedder, load_jsonl


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return load_embedder("e5-small")


@pytest.fixture(scope="session")
def demo_entries():
    return load_jsonl(demo_kb_path())


@pytest.fixture(scope="session")
def demo_index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kb-demo-index")


@pytest.fixture(scope="session")
def demo_index(demo_index_path: Path, embedder: Embedder, demo_entries) -> KnowledgeIndex:
    index = KnowledgeIndex(demo_index_path, embedder)
    report = index.build(demo_entries)
    assert report.embedded == sum(len(e.example_questions()) for e in demo_entries)
    return index
