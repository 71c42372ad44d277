"""The ASGI app: `WS /v1/session`, `POST /v1/ask`, health, readiness, metrics, the web demo."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from knowledge.api import feedback_router
from knowledge.api import router as kb_router
from knowledge.api_models import BODY_REFUSALS, ErrorOut, refusals
from knowledge.db import open_database
from knowledge.staff import API_KEY_PREFIX, SESSION_PREFIX, AuthError
from knowledge.staff_api import router as staff_router

from .admission import REFUSALS, Admission, Gate, RateLimiter, admit_request, busy
from .body_limit import BodyLimit
from .security_headers import SecurityHeaders
from .kiosks import KioskRegistry
from .resume import ResumeRegistry, resume_connection
from .answering import question_language
from .conversation import Conversations
from .scheduler import Priority, ServerBusy
from .services import Services
from .session import Session
from .settings import Settings
from .tts_routes import router as tts_router

log = logging.getLogger(__name__)
STAFF_PREFIXES = (SESSION_PREFIX, API_KEY_PREFIX)


async def presynthesize(services: Services, *, retry_s: float = 5.0) -> int:
    """Synthesise every approved answer into the disk cache in the background: sentence by
    sentence at the scheduler's lowest priority, so it only ever uses a TTS thread nobody is
    waiting for (and yields it between sentences). Returns how many sentences were made."""
    from .loading import approved_texts

    speaker, made = services.speaker, 0

    async def when_idle(lane: str, fn, *args):
        while True:   # evicted or expired: customers came first; try again later
            try:
                return await services.inference.run(lane, fn, *args, priority=Priority.BACKGROUND)
            except ServerBusy:
                await asyncio.sleep(retry_s)

    try:
        for language, sentence in await when_idle("light", speaker.missing, approved_texts(services.index)):
            await when_idle("tts", speaker.presynthesize_one, language, sentence)
            made += 1
        log.info("pre-synthesised %d answer sentences", made)
    except Exception:  # noqa: BLE001 - a failed warm-up only costs cache hits
        log.exception("pre-synthesis failed")
    return made


async def follow_other_processes(services: Services, every_s: float = 30.0) -> None:
    """Pick up knowledge changes approved by another process (the CLI, another replica)."""
    if services.kb_follower is None:
        return
    while True:
        await asyncio.sleep(every_s)
        try:
            await asyncio.to_thread(services.kb_follower.catch_up)
        except Exception:  # noqa: BLE001 - retried at the next tick
            log.exception("knowledge catch-up failed")


async def purge_expired_questions(services: Services, days: int, every_s: float = 24 * 3600.0) -> None:
    """Purge customers' question texts past their retention at start-up, then once a day (a
    server that runs for months must not keep them longer than a restart would)."""
    from knowledge.retention import purge

    if services.kb_store is None or days <= 0:
        return
    while True:
        try:
            report = await asyncio.to_thread(purge, services.kb_store.db, older_than_days=days, actor="system")
            if report.questions or report.feedback:
                log.info("purged %d question texts and %d feedback questions older than %s",
                         report.questions, report.feedback, report.before)
        except Exception:  # noqa: BLE001 - retried at the next tick; the texts only stay a day longer
            log.exception("purging expired question texts failed")
        await asyncio.sleep(every_s)


class Readiness(BaseModel):
    status: Literal["ready", "saturated", "loading"]
    sessions: int | None = Field(None, description="open WebSocket sessions (absent while loading)")
    max_sessions: int | None = None
    inference_queue: int | None = Field(None, description="model jobs running or waiting, all lanes")
    wait_estimate_s: float | None = Field(None, description="how long a customer who finishes a question now would wait for the transcriber")
    hold_after_s: float | None = Field(None, description="the wait above which the server reports itself saturated")


class AskRequest(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    language: Literal["zh", "en"] | None = None
    conversation_id: str | None = Field(None, max_length=64, description=(
        "the `conversation_id` of an earlier answer, so a follow-up question (\"what documents do I "
        "need for that\") is understood in its context; omitted, unknown or expired: a new conversation"))


class Candidate(BaseModel):
    entry_id: str
    confidence: float


class Related(BaseModel):
    id: str = Field(description="an approved entry the customer may ask next")
    question: str = Field(description="its question in the answer's language (send it back as a question)")


class AskResponse(BaseModel):
    text: str = Field(description="the approved entry's answer word for word, or the hand-off line")
    language: Literal["zh", "en"]
    kind: str = Field(description="answer | greeting | handoff | not_understood | clarify")
    handoff: bool
    confidence: float
    entry_id: str | None = Field(description="the cited entry; null on a hand-off")
    entry_version: int | None
    disclosure: str | None = Field(description="the entry's mandatory disclosure, to be shown or spoken in full")
    candidates: list[Candidate]
    related: list[Related]
    clarify: list[Related] = Field(default_factory=list, description=(
        "kind `clarify`: the entries the teller asks the customer to choose between; send one's "
        "question back (with this conversation_id), or say which (\"the second one\")"))
    response_id: str | None = Field(description="the served answer's id in the audit log (for feedback)")
    conversation_id: str = Field(description="send it with the next question of this conversation")
    followed_up: bool = Field(description="the conversation's context chose this entry")


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the app. Without `services`, models load at start-up (and a missing one stops it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        owned = None
        if app.state.services is None:
            from .loading import load_services

            owned = app.state.services = load_services(settings)
            app.state.gate, app.state.http_gate = admission_gates(owned)
        app.state.kb_store = app.state.services.kb_store
        catch_up = asyncio.create_task(follow_other_processes(app.state.services))
        retention = asyncio.create_task(purge_expired_questions(
            app.state.services, settings.privacy.question_retention_days))
        warm = asyncio.create_task(presynthesize(app.state.services)) if settings.presynthesize else None
        try:
            yield
        finally:
            catch_up.cancel()
            retention.cancel()
            if warm is not None:
                warm.cancel()
            if owned is not None:
                owned.close()

    app = FastAPI(title="Digital Teller", version="0.1.0", lifespan=lifespan)
    app.state.services = services
    app.state.settings = settings

    def admission_gates(svc: Services) -> tuple[Gate, Gate]:
        """(the WebSocket gate, the gate of POST /v1/ask and /v1/tts): the same rules, and a rate
        limit of their own for anonymous clients."""
        # Kiosk tokens live in the knowledge store's database, so replicas sharing it admit the
        # same kiosks; the store's Database (and its connection pool) is reused, not opened again.
        db = svc.kb_store.db if svc.kb_store is not None else open_database(settings.knowledge_db)
        kiosks = KioskRegistry(db)
        staff = svc.kb_store.staff if svc.kb_store is not None else None

        def staff_name(token: str) -> str | None:
            try:
                return staff.authenticate(token).name if staff is not None else None
            except AuthError:
                return None

        common = dict(allowed_origins=settings.allowed_origins, allow_anonymous=settings.allow_anonymous)
        return (Gate(kiosks, limiter=RateLimiter(settings.limits.anon_sessions_per_minute), **common),
                Gate(kiosks, limiter=RateLimiter(settings.limits.anon_requests_per_minute), staff=staff_name,
                     staff_prefixes=STAFF_PREFIXES, counted="requests", **common))

    # Without services the store is not open yet: the gates are made in the lifespan, once it is.
    app.state.gate, app.state.http_gate = admission_gates(services) if services is not None else (None, None)
    open_sessions = 0   # a count, not the sessions: nothing outside a session reaches into it
    # The sessions a client may resume. One whose connection dropped is still counted in
    # open_sessions (its endpoint still runs), so it keeps its place and cannot exceed the limits.
    resumable = ResumeRegistry()
    web_session_limit = max(1, settings.limits.max_sessions - settings.limits.kiosk_reserved_sessions)
    # The contexts of `POST /v1/ask` conversations (a WebSocket session keeps its own).
    conversations = Conversations(ttl_s=min(settings.limits.max_session_s, 30 * 60.0))

    def ready_services() -> Services:
        svc = app.state.services
        if svc is None:
            raise HTTPException(503, "models are still loading")
        return svc

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", response_model=Readiness, responses={
        503: {"model": Readiness, "description": "loading, or saturated: route new customers elsewhere"}})
    async def readyz() -> JSONResponse:
        svc = app.state.services
        if svc is None:
            return JSONResponse({"status": "loading"}, status_code=503)
        # Saturated: a load balancer should send new customers to another replica (503), while
        # the sessions already here go on.
        hold_after, sessions = settings.scheduling.hold_after_s, open_sessions
        wait = svc.inference.lanes["asr"].load().wait_estimate_s
        saturated = wait > hold_after or sessions >= settings.limits.max_sessions
        body = {"status": "saturated" if saturated else "ready", "sessions": sessions,
                "max_sessions": settings.limits.max_sessions, "inference_queue": svc.inference.pending,
                "wait_estimate_s": wait, "hold_after_s": hold_after}
        return JSONResponse(body, status_code=503 if saturated else 200)

    @app.get("/metrics", response_class=PlainTextResponse,
             responses={200: {"description": "Prometheus text exposition format"},
                        # The refusal is JSON, as everywhere; given as a `model` it would be listed
                        # under the route's own text/plain.
                        503: {"description": "the models are still loading",
                              "content": {"application/json": {"schema": ErrorOut.model_json_schema()}}}})
    async def metrics() -> Response:
        svc = ready_services()
        return PlainTextResponse(svc.metrics.exposition(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/ask", response_model=AskResponse, responses={**REFUSALS, **refusals({
        **BODY_REFUSALS, 413: f"{BODY_REFUSALS[413]}, or `text` longer than `limits.max_text_chars`"})})
    async def ask(body: AskRequest, admitted: Admission = Depends(admit_request)) -> dict[str, Any]:
        svc = ready_services()
        limit = settings.limits.max_text_chars
        if len(body.text) > limit:
            raise HTTPException(413, f"text longer than {limit} characters")
        language = question_language(body.text, body.language, settings.language)
        conversation_id, conversation = conversations.get(body.conversation_id)
        try:
            answer = await svc.answerer.answer(body.text, language, conversation)
            response_id = await svc.answerer.served(body.text, answer, channel=f"ask:{admitted.channel}",
                                                    conversation=conversation)
        except ServerBusy as exc:
            raise busy(exc) from None
        return {**svc.responder.to_json(answer), "response_id": response_id, "conversation_id": conversation_id,
                "followed_up": answer.followed_up}

    @app.websocket("/v1/session")
    async def session_endpoint(ws: WebSocket) -> None:
        nonlocal open_sessions
        client = ws.client.host if ws.client else "unknown"
        gate: Gate | None = app.state.gate
        # On a worker thread: a kiosk token is looked up in the database (see RateLimiter).
        verdict = (await asyncio.to_thread(gate.admit, ws.headers, client) if gate
                   else Admission(False, "models are still loading"))
        await ws.accept()
        svc = app.state.services
        reason = verdict.reason
        resume_id = ws.query_params.get("resume")
        if verdict.allowed and svc is not None and resume_id is not None:
            # Admitted like any connection, but no new place: the session it resumes holds one.
            await resume_connection(ws, resumable, verdict.channel, resume_id[:64],
                                    max_frame_bytes=settings.limits.max_frame_bytes, metrics=svc.metrics)
            return
        if verdict.allowed and svc is None:
            reason = "models are still loading"
        elif verdict.allowed and open_sessions >= settings.limits.max_sessions:
            reason = "server is at its session limit"
        elif verdict.channel == "web" and open_sessions >= web_session_limit:
            # The last `kiosk_reserved_sessions` places are the kiosks': a burst of web visitors
            # must not lock the bank's own counters out.
            reason = "server is at its session limit for web visitors"
        if reason:
            if svc is not None:
                svc.metrics.refused.labels(reason=reason.split(";")[0]).inc()
            await ws.close(code=1008, reason=reason)
            return
        open_sessions += 1
        gauge = svc.metrics.sessions.labels(channel=verdict.channel.split(":")[0])
        gauge.inc()
        try:
            await Session(ws, svc, verdict.channel, settings, resumable).run()
        finally:
            gauge.dec()
            open_sessions -= 1

    limits = settings.limits

    def body_limit(path: str) -> int:
        if path == "/v1/kb/import":
            return limits.max_import_bytes
        return limits.max_staff_body_bytes if path.startswith("/v1/kb/") else limits.max_body_bytes

    app.add_middleware(BodyLimit, limit_for=body_limit)
    # Added last, so outermost: a 413 from BodyLimit gets the headers too.
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
    app.state.kb_store = services.kb_store if services else None
    app.include_router(tts_router)
    app.include_router(kb_router)
    app.include_router(staff_router)
    app.include_router(feedback_router)

    demo = files("web_demo")
    if demo.joinpath("index.html").is_file():
        app.mount("/", StaticFiles(directory=str(demo), html=True), name="web_demo")
    return app
