"""Mood hints, and the package's promise of purity (no I/O, standard library only)."""

import ast
import pathlib
import sys

import pytest

import avatar_bridge
from avatar_bridge import Mood, mood_for


@pytest.mark.parametrize("kind,mood", [
    ("greeting", "happy"), ("answer", "neutral"), ("apology", "apologetic"), ("lost-card", "apologetic"),
    ("lost_card", "apologetic"), ("disclosure", "serious"), ("handoff", "neutral"), ("error", "apologetic"),
    ("not_understood", "apologetic"), ("Greeting", "happy"), ("something-new", "neutral"),
])
def test_mood_for(kind, mood):
    assert mood_for(kind) == mood
    assert Mood(mood).value == mood


PACKAGE = pathlib.Path(avatar_bridge.__file__).parent


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_module_is_pure_and_small(path):
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) < 250
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            roots = [] if node.level else [(node.module or "").split(".")[0]]
        else:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"open", "exec", "eval", "__import__"}, path.name
            continue
        for root in roots:
            assert root in sys.stdlib_module_names, f"{path.name} imports {root}"
            assert root not in {"socket", "sqlite3", "subprocess", "os", "io", "pathlib", "urllib"}, path.name
