"""Request and response bodies of the staff API (they are what /openapi.json documents)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .audit import AuditRecord
from .entry import (ID_PATTERN, LANGUAGES, MAX_ANSWER_CHARS, MAX_DISCLOSURE_CHARS, MAX_QUESTION_CHARS,
                    MAX_QUESTIONS_PER_LANG, TAG_PATTERN)
from .staff import MIN_PASSWORD
from .store import EntryRecord, Version

# The largest integer a database column holds (SQLite and PostgreSQL BIGINT): a larger one is a 422,
# not a driver error.
SQL_INT_MAX = 2**63 - 1


class ErrorOut(BaseModel):
    """The body of every refusal (FastAPI's own shape, which the staff console reads)."""

    detail: str | dict[str, Any] | list[Any] = Field(description=(
        "what was wrong: a sentence; for a rejected entry or import, an object with the field, reason "
        "or the failing rows; for invalid parameters, the list of them with where and why"))


def refusals(described: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: each status code it may refuse with, what it means there, and the
    body, so the OpenAPI lists every answer a client can get (tests/test_api_schemathesis.py)."""
    return {code: {"description": text, "model": ErrorOut} for code, text in sorted(described.items())}


# What any route that reads a JSON body may answer before looking at it: FastAPI's 400 (not 422,
# as for malformed JSON) for bytes that are not UTF-8, and the 413 of `assistant.body_limit`.
BODY_REFUSALS = {400: "the body is not text (JSON must be UTF-8)",
                 413: "the body is larger than the route's limit (`limits.max_body_bytes`, "
                      "`max_staff_body_bytes`, `max_import_bytes`)"}


def _text(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit, "pattern": r"\S"}


def _by_language(value: dict[str, Any]) -> dict[str, Any]:
    return {"propertyNames": {"enum": list(LANGUAGES)}, "additionalProperties": value}


class EntryIn(BaseModel):
    """One entry in the JSONL contract's shape; validated by `Entry.from_dict` (a 422 naming the
    field and the reason). Its rules are also in the schema (`json_schema_extra`, not enforced
    here, so the 422 keeps that shape), for clients and for generated tests to see them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "id": "lost-card", "questions": {"zh": ["银行卡丢了怎么办"], "en": ["I lost my card"]},
        "answer": {"zh": "请立即致电…挂失。", "en": "Please call … to report it."}, "tags": ["cards"]}})
    id: str = Field(json_schema_extra={"pattern": f"^{ID_PATTERN}$"})
    questions: dict[str, list[str]] = Field(json_schema_extra={"minProperties": 1, **_by_language({
        "type": "array", "items": _text(MAX_QUESTION_CHARS), "maxItems": MAX_QUESTIONS_PER_LANG,
        "uniqueItems": True})})
    answer: dict[str, str] = Field(json_schema_extra={"minProperties": 1, **_by_language(_text(MAX_ANSWER_CHARS))})
    disclosure: dict[str, str] = Field(default_factory=dict, json_schema_extra=_by_language(
        _text(MAX_DISCLOSURE_CHARS)))
    tags: list[str] = Field(default_factory=list, json_schema_extra={
        "items": {"type": "string", "pattern": f"^{TAG_PATTERN}$"}, "uniqueItems": True})
    version: int | None = Field(None, description="ignored: the store assigns versions")


class LoginRequest(BaseModel):
    name: str = Field(max_length=64)
    password: str = Field(max_length=256)


class LoginResponse(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: float | None
    name: str
    role: str


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256, description=f"at least {MIN_PASSWORD} characters",
                              json_schema_extra={"minLength": MIN_PASSWORD})


class PasswordChanged(BaseModel):
    name: str
    revoked: int = Field(description="session tokens of the account ended by the change, the caller's own "
                                     "among them: sign in again with the new password")


class Me(BaseModel):
    name: str
    role: str


class CreateRequest(BaseModel):
    entry: EntryIn
    submit: bool = Field(False, description="send straight to review instead of keeping a draft")


class UpdateRequest(CreateRequest):
    base_version: int = Field(ge=0, le=SQL_INT_MAX, description="the head version the change was made on (409 if stale)")


class ReviewRequest(BaseModel):
    comment: str = Field("", max_length=2000, description="required when rejecting")


class RollbackRequest(BaseModel):
    to_version: int = Field(ge=1, le=SQL_INT_MAX)
    base_version: int = Field(ge=1, le=SQL_INT_MAX)


class VersionOut(BaseModel):
    entry_id: str
    version: int
    kind: str
    entry: dict[str, Any]
    base_version: int | None
    rollback_of: int | None
    author: str
    created_at: float
    state: str
    reviewer: str | None
    review_comment: str | None
    reviewed_at: float | None

    @classmethod
    def of(cls, v: Version) -> VersionOut:
        return cls(**{**v.__dict__, "entry": v.entry.to_dict()})


class EntryOut(BaseModel):
    id: str
    status: str
    head_version: int
    served_version: int | None
    created_at: float
    updated_at: float
    head: VersionOut | None = None

    @classmethod
    def of(cls, record: EntryRecord, head: Version | None = None) -> EntryOut:
        return cls(**record.__dict__, head=VersionOut.of(head) if head else None)


class ImportRequest(BaseModel):
    format: Literal["jsonl", "csv"] = "jsonl"
    content: str = Field(max_length=20_000_000)
    approve: bool = Field(False, description="publish at once (admin only, audited)")
    source: str = Field("", max_length=200, description="file name, recorded in the audit log")


class ImportResponse(BaseModel):
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    approved: bool


class AuditOut(BaseModel):
    seq: int
    ts: str
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    texts: dict[str, str] = Field(default_factory=dict, description=(
        "customer texts kept beside the chain (details.text_sha256 holds their digests): the "
        "masked question, or \"[purged]\" once its retention period ended"))

    @classmethod
    def of(cls, r: AuditRecord) -> AuditOut:
        return cls(**r.to_dict())


class ChainOut(BaseModel):
    ok: bool
    records: int
    head_hash: str
    broken_seq: int | None
    reason: str


class TestRequest(BaseModel):
    question: str = Field(min_length=1, max_length=500)
    k: int = Field(5, ge=1, le=20)


class CandidateOut(BaseModel):
    entry_id: str
    version: int
    score: float
    confidence: float
    matched: str
    would_answer: bool


class OperatingPointOut(BaseModel):
    """What the threshold means on this knowledge base, forecast by self-calibration from its
    own held-out example questions (knowledge.selfcal.OperatingPoint)."""

    answered: float
    expected_wrong: float
    target: float
    top1: float
    off_topic_accepted: float
    not_in_base_accepted: float
    questions: int
    summary: str
    clarified: float | None = None                 # share asked which entry they mean (None: not forecast)
    clarified_with_expected: float | None = None   # of those, share offered their own entry


class TestResponse(BaseModel):
    question: str
    searched_as: str
    threshold: float
    candidates: list[CandidateOut]
    operating_point: OperatingPointOut | None = None  # None: scoring fitted offline, not self-calibrated


class FeedbackRequest(BaseModel):
    response_id: str | None = Field(None, max_length=64)
    question: str | None = Field(None, max_length=500)
    entry_id: str | None = Field(None, max_length=64)
    helpful: bool


class FeedbackOut(BaseModel):
    id: int
    recorded: bool = True
