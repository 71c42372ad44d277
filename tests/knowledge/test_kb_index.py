"""Index lifecycle: fingerprint reuse, offline reopen, incremental change, upsert/remove."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge import Entry, KnowledgeIndex

SMALL = ("lost-card", "pin-reset", "opening-hours", "fx-buy", "greeting", "deposit-rates")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def small(demo_entries):
    return [e for e in demo_entries if e.id in SMALL]


def questions(entries):
    return sum(len(e.example_questions()) for e in entries)


def test_rebuild_reuses_the_stored_collection(tmp_path, embedder, small):
    first = KnowledgeIndex(tmp_path, embedder).build(small)
    assert not first.reused and first.embedded == questions(small)
    again = KnowledgeIndex(tmp_path, embedder).build(list(reversed(small)))
    assert again.reused and again.embedded == 0 and again.entries == len(small)


def test_only_changed_entries_are_embedded(tmp_path, embedder, small):
    index = KnowledgeIndex(tmp_path, embedder)
    index.build(small)
    changed = [replace(e, version=2) if e.id == "fx-buy" else e
               for e in small if e.id != "greeting"]
    report = index.build(changed)
    fx = next(e for e in small if e.id == "fx-buy")
    assert not report.reused and report.embedded == len(fx.example_questions())
    assert report.removed == 2  # the old fx-buy version and greeting
    assert index.search("hello", k=1)[0].entry.id != "greeting"
    # Editing only the answer keeps the vectors: the fingerprint covers what is embedded.
    reworded = [replace(e, answer={**e.answer, "en": "Reworded."}) for e in changed]
    assert index.build(reworded).reused
    assert index.get("lost-card").answer["en"] == "Reworded."
    forced = index.build(reworded, force=True)
    assert forced.embedded == questions(reworded)


def test_reopen_offline_in_a_fresh_process(tmp_path, embedder, small, demo_entries):
    KnowledgeIndex(tmp_path, embedder).build(small)
    script = textwrap.dedent(f"""
        import json, socket, sys
        def refuse(*args, **kwargs):
            raise OSError("network disabled for this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from knowledge import KnowledgeIndex, demo_kb_path, load_embedder, load_jsonl
        keep = {list(SMALL)!r}
        entries = [e for e in load_jsonl(demo_kb_path()) if e.id in keep]
        index = KnowledgeIndex({str(tmp_path)!r}, load_embedder())
        report = index.build(entries)
        best = index.search("我的卡丢了", k=1)[0]
        print(json.dumps({{"reused": report.reused, "best": best.entry.id}}))
    """)
    env = {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"reused": True, "best": "lost-card"}


def test_upsert_and_remove_change_results(tmp_path, embedder, small):
    index = KnowledgeIndex(tmp_path, embedder)
    index.build(small)
    question = "Can I bring my pet dog into the branch"
    assert index.search(question, k=1)[0].entry.id != "pets"
    pets = Entry("pets", {"en": ("Are dogs allowed in the branch", "Can I bring my pet inside"),
                          "zh": ("可以带宠物进网点吗",)},
                 {"en": "Only assistance dogs may enter branches.",
                  "zh": "网点仅允许导盲犬等服务犬进入。"},
                 tags=("demo", "branches"))
    index.upsert(pets)
    best = index.search(question, k=1)[0]
    assert best.entry.id == "pets" and best.matched in pets.questions["en"]
    assert index.get("pets") == pets and len(index) == len(small) + 1
    # Replacing an entry replaces its example questions too.
    index.upsert(replace(pets, version=2, questions={"en": ("Do you sell travel insurance",)}))
    assert index.search("Do you sell travel insurance", k=1)[0].entry.version == 2
    gone = "Are dogs allowed in the branch"
    assert index.search(gone, k=1)[0].matched != gone
    assert index.remove("pets") and not index.remove("pets")
    assert all(c.entry.id != "pets" for c in index.search("Do you sell travel insurance", k=5))
    with pytest.raises(KeyError):
        index.get("pets")
    # The stored fingerprint follows upserts and removals: a rebuild from the same
    # entries finds nothing to do.
    assert KnowledgeIndex(tmp_path, embedder).build(small).reused


def test_bad_build_input_and_parameters(tmp_path, embedder, small):
    index = KnowledgeIndex(tmp_path, embedder)
    with pytest.raises(ValueError, match="duplicate"):
        index.build(small + small[:1])
    assert index.search("anything") == []  # nothing built yet
    with pytest.raises(TypeError, match="unknown scoring"):
        KnowledgeIndex(tmp_path, embedder, lexical_wieght=0.1)
    tuned = KnowledgeIndex(tmp_path, embedder, lexical_weight=0.5, bias=-10.0)
    assert tuned.params.lexical_weight == 0.5 and tuned.params.bias == -10.0
    assert tuned.params.centroid_weight == KnowledgeIndex(tmp_path, embedder).params.centroid_weight
