"""Knowledge entries: the unit the responder answers from, and their JSONL form.

An entry is validated when it is built, whichever way it is built, so the index and
the responder can rely on every `Entry` they see being well formed: a malformed row is
refused at import time with the line and field named, never discovered mid-conversation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANGUAGES: tuple[str, ...] = ("zh", "en")

ID_PATTERN = r"[a-z0-9-]{1,64}"   # an entry id, whole (also in the staff API's schema)
TAG_PATTERN = r"[a-z0-9-]{1,32}"
_ID_RE = re.compile(ID_PATTERN)
_TAG_RE = re.compile(TAG_PATTERN)
MAX_ANSWER_CHARS = 2000
MAX_DISCLOSURE_CHARS = 500
MAX_QUESTION_CHARS = 300
MAX_QUESTIONS_PER_LANG = 50
_KNOWN_KEYS = frozenset({"id", "questions", "answer", "disclosure", "tags", "version"})


class EntryError(ValueError):
    """A knowledge entry that cannot be accepted.

    `field` is a dotted path into the JSON object (``answer.zh``, ``questions.en[2]``)
    so that a reviewer can find the problem without reading a traceback.
    """

    def __init__(self, field: str, reason: str, *, line: int | None = None,
                 entry_id: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.line = line
        self.entry_id = entry_id
        where = f"line {line}: " if line is not None else ""
        who = f"entry {entry_id!r}: " if entry_id else ""
        super().__init__(f"{where}{who}field {field!r}: {reason}")

    def at_line(self, line: int) -> EntryError:
        return EntryError(self.field, self.reason, line=line, entry_id=self.entry_id)


@dataclass(frozen=True)
class Entry:
    """One approved question/answer unit, possibly in only one of the languages."""

    id: str
    questions: dict[str, tuple[str, ...]]
    answer: dict[str, str]
    disclosure: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    version: int = 1

    def __post_init__(self) -> None:
        # Copy the mappings so a caller mutating its own dict later cannot change an
        # entry that the index has already embedded (the object is frozen, its
        # contents would not be).
        for name in ("questions", "answer", "disclosure"):
            value = getattr(self, name)
            if not isinstance(value, Mapping) and not (name == "disclosure" and value is None):
                raise EntryError(name, "must be a mapping keyed by language",
                                 entry_id=_id_or_none(self.id))
        for lang, qs in self.questions.items():
            if isinstance(qs, str):  # tuple("abc") would silently make three questions
                raise EntryError(f"questions.{lang}", "must be a list of strings",
                                 entry_id=_id_or_none(self.id))
        if isinstance(self.tags, str):
            raise EntryError("tags", "must be a list of strings", entry_id=_id_or_none(self.id))
        object.__setattr__(self, "questions",
                           {k: tuple(v) for k, v in dict(self.questions).items()})
        object.__setattr__(self, "answer", dict(self.answer))
        object.__setattr__(self, "disclosure", dict(self.disclosure or {}))
        object.__setattr__(self, "tags", tuple(self.tags))
        _validate(self)

    # Dict fields make the generated hash fail; id+version identify an entry and
    # equal entries always share them, which is all a hash needs.
    def __hash__(self) -> int:
        return hash((self.id, self.version))

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages the entry can be answered in (those with an answer)."""
        return tuple(lang for lang in LANGUAGES if lang in self.answer)

    def example_questions(self) -> list[tuple[str, int, str]]:
        """(lang, index, text) for every example question, in a stable order."""
        return [(lang, i, q) for lang in LANGUAGES
                for i, q in enumerate(self.questions.get(lang, ()))]

    def answer_in(self, lang: str) -> tuple[str, str, str]:
        """(language used, answer, disclosure) preferring `lang`.

        Falls back to another language rather than failing, because a bilingual bank
        may approve an answer in one language first; the caller sees which one it got.
        """
        chosen = lang if lang in self.answer else self.languages[0]
        return chosen, self.answer[chosen], self.disclosure.get(chosen, "")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        if not isinstance(data, Mapping):
            raise EntryError("<row>", "expected a JSON object")
        raw_id = data.get("id")
        entry_id = raw_id if isinstance(raw_id, str) else None
        try:
            unknown = sorted(set(data) - _KNOWN_KEYS)
            if unknown:
                # Typos such as "answers" would otherwise silently drop content.
                raise EntryError(unknown[0], "unknown field")
            if "id" not in data:
                raise EntryError("id", "missing")
            if not isinstance(raw_id, str):
                raise EntryError("id", "must be a string")
            questions = _lang_map(data.get("questions"), "questions", list_values=True)
            answer = _lang_map(data.get("answer"), "answer", list_values=False)
            disclosure = _lang_map(data.get("disclosure", {}), "disclosure", list_values=False)
            tags = data.get("tags", [])
            if not isinstance(tags, list):
                raise EntryError("tags", "must be a list of strings")
            version = data.get("version", 1)
            if isinstance(version, bool) or not isinstance(version, int):
                raise EntryError("version", "must be an integer")
            return cls(id=raw_id, questions=questions, answer=answer,
                       disclosure=disclosure, tags=tuple(tags), version=version)
        except EntryError as err:
            if err.entry_id is None and entry_id:
                raise EntryError(err.field, err.reason, entry_id=entry_id) from None
            raise

    def to_dict(self) -> dict[str, Any]:
        """The JSONL object; empty optional parts are left out, as in the contract."""
        out: dict[str, Any] = {
            "id": self.id,
            "questions": {lang: list(qs) for lang, qs in self.questions.items() if qs},
            "answer": dict(self.answer),
        }
        if self.disclosure:
            out["disclosure"] = dict(self.disclosure)
        out["tags"] = list(self.tags)
        if self.version != 1:
            out["version"] = self.version
        return out


def _id_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _lang_map(value: Any, name: str, *, list_values: bool) -> dict[str, Any]:
    if value is None:
        raise EntryError(name, "missing")
    if not isinstance(value, Mapping):
        raise EntryError(name, "must be an object keyed by language")
    out: dict[str, Any] = {}
    for lang, item in value.items():
        if list_values:
            if not isinstance(item, list):
                raise EntryError(f"{name}.{lang}", "must be a list of strings")
            out[lang] = tuple(item)
        else:
            out[lang] = item
    return out


def _check_text(text: Any, where: str, limit: int) -> None:
    if not isinstance(text, str):
        raise EntryError(where, "must be a string")
    if not text.strip():
        raise EntryError(where, "is empty")
    if len(text) > limit:
        raise EntryError(where, f"longer than {limit} characters ({len(text)})")


def _validate(e: Entry) -> None:
    try:
        _validate_fields(e)
    except EntryError as err:
        if err.entry_id is None and isinstance(e.id, str):
            raise EntryError(err.field, err.reason, entry_id=e.id) from None
        raise


def _validate_fields(e: Entry) -> None:
    if not isinstance(e.id, str) or not _ID_RE.fullmatch(e.id):
        raise EntryError("id", "must match [a-z0-9-]{1,64}")
    for name, mapping in (("questions", e.questions), ("answer", e.answer),
                          ("disclosure", e.disclosure)):
        for lang in mapping:
            if lang not in LANGUAGES:
                raise EntryError(f"{name}.{lang}",
                                 f"unsupported language (use {', '.join(LANGUAGES)})")
    total = 0
    for lang, qs in e.questions.items():
        if len(qs) > MAX_QUESTIONS_PER_LANG:
            raise EntryError(f"questions.{lang}", f"more than {MAX_QUESTIONS_PER_LANG} questions")
        seen: set[str] = set()
        for i, q in enumerate(qs):
            _check_text(q, f"questions.{lang}[{i}]", MAX_QUESTION_CHARS)
            if q.strip() in seen:
                raise EntryError(f"questions.{lang}[{i}]", "duplicate question")
            seen.add(q.strip())
        total += len(qs)
    if total == 0:
        raise EntryError("questions", "needs at least one question in some language")
    if not e.answer:
        raise EntryError("answer", "needs an answer in at least one language")
    for lang, text in e.answer.items():
        _check_text(text, f"answer.{lang}", MAX_ANSWER_CHARS)
    for lang, text in e.disclosure.items():
        _check_text(text, f"disclosure.{lang}", MAX_DISCLOSURE_CHARS)
    if e.disclosure:
        # A disclosure that exists in one language must be spoken in every language
        # the entry can be answered in; otherwise an English answer would go out
        # without the risk warning its Chinese twin carries.
        for lang in e.answer:
            if lang not in e.disclosure:
                raise EntryError(f"disclosure.{lang}", "missing while answer."
                                 f"{lang} exists and another language has a disclosure")
    for i, tag in enumerate(e.tags):
        if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
            raise EntryError(f"tags[{i}]", "must match [a-z0-9-]{1,32}")
    if len(set(e.tags)) != len(e.tags):
        raise EntryError("tags", "duplicate tag")
    if isinstance(e.version, bool) or not isinstance(e.version, int) or e.version < 1:
        raise EntryError("version", "must be an integer >= 1")


def parse_jsonl(lines: Iterable[str]) -> list[Entry]:
    """Entries from JSONL text; blank lines are skipped, ids must be unique."""
    entries: list[Entry] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise EntryError("<row>", f"invalid JSON ({err.msg})", line=number) from None
        try:
            entry = Entry.from_dict(data)
        except EntryError as err:
            raise err.at_line(number) from None
        if entry.id in first_line:
            raise EntryError("id", f"duplicate id, first seen on line {first_line[entry.id]}",
                             line=number, entry_id=entry.id)
        first_line[entry.id] = number
        entries.append(entry)
    return entries


def load_jsonl(path: str | Path) -> list[Entry]:
    with open(path, encoding="utf-8") as f:
        return parse_jsonl(f)


def dump_jsonl(entries: Iterable[Entry], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
