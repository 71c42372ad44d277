"""A plain install (`pip install -e .`) has everything the product imports.

`digital-teller transcribe` once failed on a plain install because `soundfile` came only with the
`test` extra, and the test environment, which has every extra, could not see it. This test reads
every import in the product's packages and checks that the distribution providing it is a base
dependency (or one of theirs); the product's own extras (`postgres`, `transformers`) may provide a
module only to a lazy import inside a function, which their commands guard with a clear message.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("assistant", "knowledge", "voices", "avatar_bridge", "web_demo")
PRODUCT_EXTRAS = ("postgres", "transformers")


def closure(dist: str, extra: str = "") -> set[str]:
    """`dist` and what it requires (with `extra` switched on for `dist` itself), recursively."""
    seen: set[str] = set()
    todo = [(dist, extra)]
    while todo:
        name, active = todo.pop()
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue   # an optional dependency this environment lacks
        for text in requires:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({"extra": active}):
                continue
            key = canonicalize_name(req.name)
            for sub in req.extras or [""]:
                if (key, sub) not in seen:
                    seen.add((key, sub))
                    todo.append((req.name, sub))
    return {canonicalize_name(dist)} | {key for key, _ in seen}


def imports(path: Path) -> list[tuple[str, bool]]:
    """(top-level module, imported at module level?) for every absolute import in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lazy = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name.split(".")[0], id(node) not in lazy) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], id(node) not in lazy))
    return found


def test_the_product_imports_only_what_a_plain_install_brings():
    providers = importlib.metadata.packages_distributions()
    base = closure("digital-teller")
    extras = set().union(*(closure("digital-teller", e) for e in PRODUCT_EXTRAS)) - base
    problems = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for module, top_level in imports(path):
                if module in PRODUCT or module in sys.stdlib_module_names or module == "__future__":
                    continue
                dists = {canonicalize_name(d) for d in providers.get(module, [])}
                where = f"{path.relative_to(ROOT)}: import {module}"
                if not dists:
                    problems.append(f"{where}: no installed distribution provides it")
                elif dists & base:
                    continue
                elif dists & extras and not top_level:
                    continue
                elif dists & extras:
                    problems.append(f"{where}: from an extra, so it must be imported lazily")
                else:
                    problems.append(f"{where}: {sorted(dists)} is not a dependency of a plain install")
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_test_only_dependency():
    # The regression this file exists for: soundfile only in the test extra would be caught.
    assert "soundfile" in closure("digital-teller")
    assert "pytest" not in closure("digital-teller") and "pytest" in closure("digital-teller", "test")
