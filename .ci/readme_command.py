"""Print one of the README's two commands exactly as written, so CI runs what a person copies.

    python3 .ci/readme_command.py start   # the Quick start's start command
    python3 .ci/readme_command.py test    # the command that installs and runs the test suite

Each is the first fenced block after its lead-in sentence in README.md; a README that loses
either sentence or block fails here, loudly, instead of CI silently running something else.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
LEAD_INS = {
    "start": "Start the server on embedded defaults",
    "test": "Install and run the whole test suite",
}


def readme_command(which: str, text: str | None = None) -> str:
    text = README.read_text(encoding="utf-8") if text is None else text
    lead = LEAD_INS[which]
    at = text.find(lead)
    if at < 0:
        raise SystemExit(f"README.md no longer says {lead!r}")
    opening = text.find("```", at)
    closing = text.find("```", opening + 3)
    if opening < 0 or closing < 0:
        raise SystemExit(f"no code block after {lead!r} in README.md")
    lines = [line for line in text[opening + 3:closing].splitlines()[1:] if line.strip()]
    if len(lines) != 1:
        raise SystemExit(f"the block after {lead!r} must be one command line, found {len(lines)}")
    return lines[0].strip()


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in LEAD_INS:
        raise SystemExit(f"usage: {sys.argv[0]} {'|'.join(LEAD_INS)}")
    print(readme_command(sys.argv[1]))
