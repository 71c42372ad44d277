"""The staff API under /v1/kb, and the customers' feedback endpoint /v1/feedback.

The app provides `app.state.kb_store` (a KnowledgeStore) and the live index as
`app.state.services.index` (or `app.state.kb_index`). Every /v1/kb endpoint except
login needs a staff bearer token (from login) or API key; a kiosk token, a customer or
no header at all gets 401, a staff member without the role 403. Handlers are plain `def`:
SQLite and the embedder block, so FastAPI runs them in its thread pool.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .api_models import (SQL_INT_MAX, AuditOut, ChainOut, CandidateOut, CreateRequest, EntryOut, FeedbackOut, OperatingPointOut,
                         FeedbackRequest, ImportRequest, ImportResponse, LoginRequest, LoginResponse, Me,
                         PasswordChange, PasswordChanged,
                         ReviewRequest, RollbackRequest, TestRequest, TestResponse, UpdateRequest, VersionOut,
                         BODY_REFUSALS, refusals)
from .entry import Entry, EntryError
from .gaps import GapsReport
from .scoring import DEFAULT_CONFIDENCE_THRESHOLD
from .staff import AccountLocked, AuthError, Lockout, Role, Staff, StaffError
from .store import (EntryExists, InvalidState, KnowledgeStore, NotFound, PermissionDenied, SelfApproval,
                    StaleVersion, StoreError)
from .transfer import ImportFailed, TransferError, export_text, import_text

router = APIRouter(prefix="/v1/kb", tags=["knowledge base (staff)"])
feedback_router = APIRouter(tags=["customer feedback"])
_bearer = HTTPBearer(auto_error=False, description="staff token from POST /v1/kb/login, or an API key")
_STATUS: dict[type[StoreError], int] = {NotFound: 404, EntryExists: 409, StaleVersion: 409, InvalidState: 409,
                                        SelfApproval: 403, PermissionDenied: 403}

# The refusals of the routes below, each named once; a route's `responses=` combines those it can
# give, so the OpenAPI lists every status code a client may get (tests/test_api_schemathesis.py).
STORE_CLOSED = {503: "the knowledge store is not open yet (the server is starting)"}
SIGNED_IN = {401: "no staff credential, or an invalid, expired or revoked one", **STORE_CLOSED}
ROLE = {403: "the staff member's role is below what this needs"}
NO_ENTRY = {404: "no such entry, or no such version of it"}
CONFLICT = {409: "the entry exists already, `base_version` is no longer its head, or the change is not in "
                 "a state that allows this"}
INVALID_ENTRY = {422: "invalid parameters, or an entry the contract refuses (the field and the reason)"}
REVIEW = {403: "the role is below reviewer, or the reviewer wrote this change (another must decide)"}


class _Window:
    """Per-address sliding window: slows password guessing and feedback flooding."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now, hits = time.monotonic(), self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        if len(self._hits) > 10_000:  # bounded memory: forget idle addresses
            self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < 60}
        return True


def _limiter(request: Request, name: str, per_minute: int) -> _Window:
    state = request.app.state
    if getattr(state, "kb_limiters", None) is None:
        state.kb_limiters = {}
    limits: dict[str, _Window] = state.kb_limiters
    return limits.setdefault(name, _Window(getattr(request.app.state, f"kb_{name}_per_minute", per_minute)))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def store_of(request: Request) -> KnowledgeStore:
    store = getattr(request.app.state, "kb_store", None)
    if store is None:
        raise HTTPException(503, "knowledge store is not open")
    return store


def index_of(request: Request) -> Any:
    index = getattr(request.app.state, "kb_index", None)
    services = getattr(request.app.state, "services", None)
    index = index or getattr(services, "index", None)
    if index is None:
        raise HTTPException(503, "models are still loading")
    return index


def staff_with(role: Role) -> Callable[..., Staff]:
    def check(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Staff:
        if creds is None:
            raise HTTPException(401, "staff credentials required", headers={"WWW-Authenticate": "Bearer"})
        try:
            staff = store_of(request).staff.authenticate(creds.credentials)
        except AuthError as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
        if staff.role < role:
            raise HTTPException(403, f"needs the {role.name} role or above")
        return staff
    return check


Viewer, Editor = Depends(staff_with(Role.viewer)), Depends(staff_with(Role.editor))
Reviewer, Admin = Depends(staff_with(Role.reviewer)), Depends(staff_with(Role.admin))


@contextmanager
def _http_errors() -> Iterator[None]:
    try:
        yield
    except EntryError as exc:
        raise HTTPException(422, {"field": exc.field, "reason": exc.reason, "entry_id": exc.entry_id}) from None
    except ImportFailed as exc:
        raise HTTPException(422, {"message": str(exc), "errors": [e.__dict__ for e in exc.errors]}) from None
    except TransferError as exc:
        raise HTTPException(422, str(exc)) from None
    except StoreError as exc:
        raise HTTPException(_STATUS.get(type(exc), 400), str(exc)) from None


def _entry(body: Any) -> Entry:
    return Entry.from_dict(body.model_dump(exclude={"version"}))


def lockout_of(request: Request) -> Lockout:
    """The lockout rule of the server's settings (`staff_login`); the defaults without them."""
    rule = getattr(getattr(request.app.state, "settings", None), "staff_login", None)
    return Lockout(rule.max_failures, rule.lockout_minutes * 60) if rule is not None else Lockout()


def locked(exc: AccountLocked) -> HTTPException:
    return HTTPException(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)})


LOCKED = {429: "the account is locked after repeated wrong passwords (`staff_login`); `Retry-After` says "
               "for how many seconds"}


@router.post("/login", response_model=LoginResponse, summary="exchange name and password for a bearer token",
             responses=refusals({**BODY_REFUSALS, 401: "wrong name or password, or a disabled account",
                                 429: "too many login attempts from this address (wait a minute), or "
                                      f"{LOCKED[429]}", **STORE_CLOSED}))
def login(body: LoginRequest, request: Request) -> LoginResponse:
    if not _limiter(request, "login", 10).allow(_client(request)):
        raise HTTPException(429, "too many login attempts; wait a minute", headers={"Retry-After": "60"})
    try:
        issued = store_of(request).staff.login(body.name, body.password, lockout=lockout_of(request))
    except AccountLocked as exc:
        raise locked(exc) from None
    except AuthError as exc:
        raise HTTPException(401, str(exc)) from None
    return LoginResponse(token=issued.token, expires_at=issued.expires_at, name=issued.staff.name,
                         role=issued.staff.role.name)


@router.post("/logout", status_code=204, responses=refusals(SIGNED_IN))
def logout(request: Request, staff: Staff = Viewer,
           creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Response:
    store_of(request).staff.revoke(creds.credentials if creds else "", by=staff.name)
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=refusals(SIGNED_IN))
def me(staff: Staff = Viewer) -> Me:
    return Me(name=staff.name, role=staff.role.name)


@router.put("/me/password", response_model=PasswordChanged, summary="change your own password",
            responses=refusals({**BODY_REFUSALS, **SIGNED_IN, 403: "the current password is wrong", **LOCKED,
                                422: "a new password the rules refuse (too short, or the current one)"}))
def change_password(body: PasswordChange, request: Request, staff: Staff = Viewer) -> PasswordChanged:
    # A wrong current password is 403, not 401: the bearer credential is fine (a console must not
    # read the answer as "signed out"); it counts towards the lockout like a failed sign-in.
    try:
        revoked = store_of(request).staff.change_password(staff.name, body.current_password, body.new_password,
                                                          lockout=lockout_of(request))
    except AccountLocked as exc:
        raise locked(exc) from None
    except AuthError as exc:
        raise HTTPException(403, str(exc)) from None
    except StaffError as exc:
        raise HTTPException(422, str(exc)) from None
    return PasswordChanged(name=staff.name, revoked=revoked)


@router.get("/entries", response_model=list[EntryOut], summary="list or search entries (head version)",
            responses=refusals(SIGNED_IN))
def list_entries(request: Request, staff: Staff = Viewer, status: str | None = None, tag: str | None = None,
                 q: str | None = Query(None, description="substring of any field"),
                 limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=SQL_INT_MAX)) -> list[EntryOut]:
    rows = store_of(request).list_entries(status=status, tag=tag, text=q, limit=limit, offset=offset)
    return [EntryOut.of(record, head) for record, head in rows]


@router.get("/entries/{entry_id}", response_model=EntryOut, responses=refusals({**SIGNED_IN, **NO_ENTRY}))
def get_entry(entry_id: str, request: Request, staff: Staff = Viewer) -> EntryOut:
    store = store_of(request)
    with _http_errors():
        record = store.get(entry_id)
        return EntryOut.of(record, store.version(entry_id, record.head_version))


@router.post("/entries", response_model=VersionOut, status_code=201, summary="create an entry (a draft)",
             responses=refusals({**BODY_REFUSALS, **SIGNED_IN, **ROLE, **CONFLICT, **INVALID_ENTRY}))
def create_entry(body: CreateRequest, request: Request, staff: Staff = Editor) -> VersionOut:
    with _http_errors():
        return VersionOut.of(store_of(request).create(_entry(body.entry), author=staff.name, submit=body.submit))


@router.put("/entries/{entry_id}", response_model=VersionOut, summary="change an entry (a draft on base_version)",
            responses=refusals({**BODY_REFUSALS, **SIGNED_IN, **ROLE, **NO_ENTRY, **CONFLICT, **INVALID_ENTRY}))
def update_entry(entry_id: str, body: UpdateRequest, request: Request, staff: Staff = Editor) -> VersionOut:
    if body.entry.id != entry_id:
        raise HTTPException(422, "entry.id differs from the id in the path")
    with _http_errors():
        return VersionOut.of(store_of(request).update(_entry(body.entry), base_version=body.base_version,
                                                      author=staff.name, submit=body.submit))


@router.delete("/entries/{entry_id}", response_model=VersionOut, summary="request deletion (reviewed)",
               responses=refusals({**SIGNED_IN, **ROLE, **NO_ENTRY, **CONFLICT}))
def delete_entry(entry_id: str, request: Request, base_version: int = Query(ge=1, le=SQL_INT_MAX),
                 staff: Staff = Editor) -> VersionOut:
    with _http_errors():
        return VersionOut.of(store_of(request).request_delete(entry_id, base_version=base_version,
                                                              author=staff.name))


@router.get("/entries/{entry_id}/history", response_model=list[VersionOut],
            responses=refusals({**SIGNED_IN, **NO_ENTRY}))
def history(entry_id: str, request: Request, staff: Staff = Viewer) -> list[VersionOut]:
    with _http_errors():
        return [VersionOut.of(v) for v in store_of(request).history(entry_id)]


@router.post("/entries/{entry_id}/rollback", response_model=VersionOut, summary="propose an earlier version again",
             responses=refusals({**BODY_REFUSALS, **SIGNED_IN, **ROLE, **NO_ENTRY, **CONFLICT}))
def rollback(entry_id: str, body: RollbackRequest, request: Request, staff: Staff = Editor) -> VersionOut:
    with _http_errors():
        return VersionOut.of(store_of(request).rollback(entry_id, body.to_version, base_version=body.base_version,
                                                        author=staff.name))


@router.get("/drafts", response_model=list[VersionOut], summary="open changes: drafts and pending reviews",
            responses=refusals(SIGNED_IN))
def drafts(request: Request, staff: Staff = Viewer,
           state: Literal["draft", "pending"] | None = None) -> list[VersionOut]:
    return [VersionOut.of(v) for v in store_of(request).open_changes() if state in (None, v.state)]


@router.post("/entries/{entry_id}/versions/{version}/submit", response_model=VersionOut,
             responses=refusals({**SIGNED_IN, **ROLE, **NO_ENTRY, **CONFLICT}))
def submit(entry_id: str, version: int, request: Request, staff: Staff = Editor) -> VersionOut:
    with _http_errors():
        return VersionOut.of(store_of(request).submit(entry_id, version, actor=staff.name))


@router.post("/entries/{entry_id}/versions/{version}/approve", response_model=VersionOut,
             summary="approve a pending change (not your own); it is served at once",
             responses=refusals({**BODY_REFUSALS, **SIGNED_IN, **REVIEW, **NO_ENTRY, **CONFLICT}))
def approve(entry_id: str, version: int, body: ReviewRequest, request: Request, staff: Staff = Reviewer) -> VersionOut:
    with _http_errors():
        return VersionOut.of(store_of(request).approve(entry_id, version, reviewer=staff.name, comment=body.comment))


@router.post("/entries/{entry_id}/versions/{version}/reject", response_model=VersionOut,
             responses=refusals({**BODY_REFUSALS, **SIGNED_IN, **REVIEW, **NO_ENTRY, **CONFLICT}))
def reject(entry_id: str, version: int, body: ReviewRequest, request: Request, staff: Staff = Reviewer) -> VersionOut:
    with _http_errors():
        return VersionOut.of(store_of(request).reject(entry_id, version, reviewer=staff.name, comment=body.comment))


@router.post("/import", response_model=ImportResponse, summary="import JSONL or CSV, all or nothing",
             responses=refusals({**BODY_REFUSALS, **SIGNED_IN,
                                 403: "below editor, or publishing at once (`approve`) below admin",
                                 422: "a row the contract refuses: every failing row, with its line and reason"}))
def import_entries(body: ImportRequest, request: Request, staff: Staff = Editor) -> ImportResponse:
    if body.approve and staff.role < Role.admin:
        raise HTTPException(403, "publishing an import at once needs the admin role")
    with _http_errors():
        report = import_text(store_of(request), body.content, body.format, author=staff.name,
                             approver=staff.name if body.approve else None, source=body.source)
    return ImportResponse(**report.__dict__)


@router.get("/export", summary="served entries as JSONL or CSV", response_class=Response,
            responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}},
                       **refusals({**SIGNED_IN,
                                   422: "invalid parameters, or a question CSV cannot hold (export JSONL)"})})
def export(request: Request, format: Literal["jsonl", "csv"] = "jsonl", staff: Staff = Viewer) -> Response:
    with _http_errors():
        text = export_text(store_of(request).served_entries(), format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson; charset=utf-8"
    return Response(text, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="knowledge.{format}"'})


@router.get("/audit", response_model=list[AuditOut], summary="query the audit log",
            responses=refusals({**SIGNED_IN, **ROLE}))
def audit_query(request: Request, staff: Staff = Reviewer, actor: str | None = None,
                action: str | None = Query(None, description="exact, or a prefix ending in '.'"),
                subject: str | None = None, since: str | None = None, until: str | None = None,
                after_seq: int = Query(0, ge=0, le=SQL_INT_MAX), limit: int = Query(100, ge=1, le=1000),
                newest_first: bool = False) -> list[AuditOut]:
    records = store_of(request).audit.query(actor=actor, action=action, subject=subject, since=since,
                                            until=until, after_seq=after_seq, limit=limit,
                                            newest_first=newest_first)
    return [AuditOut.of(r) for r in records]


@router.get("/audit/verify", response_model=ChainOut, summary="check the audit hash chain",
            responses=refusals({**SIGNED_IN, **ROLE}))
def audit_verify(request: Request, staff: Staff = Admin) -> ChainOut:
    return ChainOut(**store_of(request).audit.verify().__dict__)


def _threshold(request: Request) -> float:
    settings = getattr(request.app.state, "settings", None)
    return float(getattr(settings, "handoff_threshold", DEFAULT_CONFIDENCE_THRESHOLD))


@router.post("/test", response_model=TestResponse, summary="test a question against the served index",
             responses=refusals({**BODY_REFUSALS, **SIGNED_IN,
                                 503: "the knowledge store or the models are not loaded yet"}))
def test_question(body: TestRequest, request: Request, staff: Staff = Viewer) -> TestResponse:
    index, threshold = index_of(request), _threshold(request)
    found = index.search(body.question, k=body.k)
    point = getattr(index, "operating_point", None)
    return TestResponse(question=body.question, searched_as=index.normalise_query(body.question),
                        threshold=threshold, operating_point=None if point is None else OperatingPointOut(
                            answered=point.answered, expected_wrong=point.wrong, target=point.target,
                            top1=point.top1, off_topic_accepted=point.off_topic_accepted,
                            not_in_base_accepted=point.not_in_base_accepted, questions=point.questions,
                            summary=point.summary(), clarified=point.clarified,
                            clarified_with_expected=point.clarified_with_expected),
                        candidates=[
                            CandidateOut(entry_id=c.entry.id, version=c.entry.version, score=c.score,
                                         confidence=c.confidence, matched=c.matched,
                                         would_answer=(i == 0 and c.confidence >= threshold))
                            for i, c in enumerate(found)])


@router.get("/gaps", summary="questions handed off, low-confidence or marked unhelpful, grouped",
            responses=refusals(SIGNED_IN))
def gaps(request: Request, staff: Staff = Viewer, since: str | None = None,
         threshold: float | None = Query(None, ge=0, le=1), limit: int = Query(50, ge=1, le=500)) -> dict[str, Any]:
    store = store_of(request)
    return GapsReport(store.db, store.audit).report(
        threshold=_threshold(request) if threshold is None else threshold, since=since, limit=limit)


@feedback_router.post("/v1/feedback", response_model=FeedbackOut, status_code=201,
                      summary="a customer's verdict on an answer (anonymous, rate-limited per address)",
                      responses=refusals({**BODY_REFUSALS, 404: "no served answer has this `response_id`",
                                          422: "invalid body, or neither `response_id` nor `question` given",
                                          429: "too much feedback from this address", **STORE_CLOSED}))
def feedback(body: FeedbackRequest, request: Request) -> FeedbackOut:
    if not _limiter(request, "feedback", 30).allow(_client(request)):
        raise HTTPException(429, "too much feedback from this address; wait a minute")
    if not body.response_id and not body.question:
        raise HTTPException(422, "give response_id (from the answer) or question")
    store = store_of(request)
    with _http_errors():
        saved = GapsReport(store.db, store.audit).add_feedback(
            helpful=body.helpful, response_id=body.response_id, question=body.question, entry_id=body.entry_id,
            channel="web")
    return FeedbackOut(id=saved.id)
