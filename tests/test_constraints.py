"""Reproducible installs: constraints.txt pins what pyproject.toml admits, and every install uses it.

A new release of FastAPI, Chroma or faster-whisper must not change a bank's install silently:
the README's commands and the Dockerfile install with `-c constraints.txt`, and upgrading is the
deliberate `bash .ci/refresh-constraints`. These tests fail when the two files drift apart (a
dependency added to pyproject.toml but not pinned, a pin outside its range) or when an install
command forgets the constraints.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
SELF = "digital-teller"


def pins() -> dict[str, Version]:
    found: dict[str, Version] = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version, f"constraints.txt:{number}: not NAME==VERSION: {line!r}"
        key = canonicalize_name(name)
        assert key not in found, f"constraints.txt:{number}: {name} pinned twice"
        found[key] = Version(version)
    return found


def requirements() -> list[Requirement]:
    """Every requirement of the project, its extras included (the self-reference expanded)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra if canonicalize_name(Requirement(r).name) != SELF]
    return reqs


def test_every_dependency_is_pinned_within_its_range():
    pinned = pins()
    for req in requirements():
        key = canonicalize_name(req.name)
        assert key in pinned, f"{req} is in pyproject.toml but not in constraints.txt (bash .ci/refresh-constraints)"
        assert req.specifier.contains(pinned[key], prereleases=True), \
            f"constraints.txt pins {req.name}=={pinned[key]}, outside pyproject.toml's {req}"


def test_the_project_itself_is_not_pinned():
    assert canonicalize_name(SELF) not in pins()   # an editable install of this checkout


def test_every_install_command_uses_the_constraints():
    readme = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    docker = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install [^&`\n]*", readme) + re.findall(r"pip install [^&\\\n]*", docker)
    assert len(installs) >= 6, installs
    unconstrained = [cmd for cmd in installs if "-c constraints.txt" not in cmd]
    assert not unconstrained, f"install commands without -c constraints.txt: {unconstrained}"
    assert re.search(r"^COPY .*constraints\.txt", docker, re.M)


QUICK_START = {"start": "Start the server on embedded defaults", "test": "Install and run the whole test suite"}


def quick_start_commands() -> dict[str, str]:
    """The README's start and test commands: the one-line block after each lead-in sentence."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = {}
    for name, lead in QUICK_START.items():
        assert lead in text, f"README.md no longer says {lead!r}"
        block = text.split(lead, 1)[1].split("```", 2)[1]
        lines = [line.strip() for line in block.splitlines()[1:] if line.strip()]
        assert len(lines) == 1, f"the block after {lead!r} must be one command line: {lines}"
        found[name] = lines[0]
    return found


def test_ci_runs_the_readme_commands_as_written():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    for name, command in quick_start_commands().items():
        assert command in ci_lines, f".ci/run does not run the README's {name} command as written: {command}"


def test_this_environment_runs_the_pinned_versions():
    """What the suite runs on is what constraints.txt says (so CI passing vouches for the pins)."""
    pinned = pins()
    wrong = []
    for req in requirements():
        key = canonicalize_name(req.name)
        try:
            installed = Version(importlib.metadata.version(req.name))
        except importlib.metadata.PackageNotFoundError:
            continue   # an extra this environment did not install
        if installed != pinned[key]:
            wrong.append(f"{req.name} {installed} (pinned {pinned[key]})")
    assert not wrong, f"installed without the constraints? {wrong}"
