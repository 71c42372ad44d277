"""The knowledge base: approved entries, and an index that finds them from speech.

Public surface (see docs/contracts.md); everything else is private to the package.
`knowledge` imports nothing else of ours.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .embedders import EMBEDDERS, Embedder, load_embedder
from .entry import Entry, EntryError, dump_jsonl, load_jsonl, parse_jsonl
from .index import BuildReport, Candidate, KnowledgeIndex
from .scoring import DEFAULT_CONFIDENCE_THRESHOLD, ScoringParams
from .staff import AuthError, Role, Staff, StaffError
from .store import (EntryExists, EntryRecord, InvalidState, KnowledgeStore, NotFound, PermissionDenied,
                    SelfApproval, StaleVersion, StoreError, Version)
from .sync import IndexFollower, SyncReport, sync
from .transfer import ImportFailed, ImportReport, RowError, TransferError, export_text, import_text


def demo_kb_path() -> Path:
    """The bundled demo knowledge base (fictional content, see README-demo.md)."""
    return Path(str(resources.files(__package__).joinpath("demo_kb.jsonl")))


__all__ = [
    "DEFAULT_CONFIDENCE_THRESHOLD", "EMBEDDERS", "BuildReport", "Candidate", "Embedder",
    "Entry", "EntryError", "KnowledgeIndex", "ScoringParams", "demo_kb_path", "dump_jsonl",
    "load_embedder", "load_jsonl", "parse_jsonl",
    # the store (docs/knowledge-store.md)
    "AuthError", "EntryExists", "EntryRecord", "ImportFailed", "ImportReport", "IndexFollower",
    "InvalidState", "KnowledgeStore", "NotFound", "PermissionDenied", "Role", "RowError", "SelfApproval",
    "Staff", "StaffError", "StaleVersion", "StoreError", "SyncReport", "TransferError", "Version",
    "export_text", "import_text", "sync",
]
