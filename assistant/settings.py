"""The one typed settings object: defaults, then an optional TOML file, then `DT_*` variables.

Every tunable of the server lives here so that a bank's operator has one place to look
(`docs/configuration.md` lists them). Engines never read the environment themselves: they get
explicit keyword arguments built from these settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

Language = Literal["auto", "zh", "en"]


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "digital-teller"


def _default_model_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "digital-teller" / "models"


class Limits(BaseModel):
    """Input limits; every one is enforced with a typed error, never a crash."""

    max_frame_bytes: int = Field(64 * 1024, ge=1024, description="largest WebSocket message")
    max_utterance_s: float = Field(30.0, gt=1, description="longest single customer turn")
    max_session_s: float = Field(30 * 60.0, gt=10, description="longest WebSocket session")
    idle_timeout_s: float = Field(120.0, gt=1, description="close a session silent this long")
    max_text_chars: int = Field(500, ge=10, description="longest typed question")
    anon_sessions_per_minute: int = Field(20, ge=1, description="anonymous connects per client address per minute")
    anon_requests_per_minute: int = Field(60, ge=1, description="anonymous POST /v1/ask and /v1/tts per client address per minute")
    max_sessions: int = Field(64, ge=1, description="concurrent WebSocket sessions per process")
    kiosk_reserved_sessions: int = Field(16, ge=0, description="of max_sessions, kept for kiosks: anonymous web sessions may use only the rest")
    max_audio_rate: float = Field(2.0, ge=1.0, description="audio may arrive at most this many times faster than real time")
    audio_burst_s: float = Field(3.0, ge=0.0, description="seconds of audio a client may send ahead of that pace (its buffer on connect)")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest HTTP request body (customer routes: /v1/ask, /v1/tts, /v1/feedback)")
    max_staff_body_bytes: int = Field(1024 * 1024, ge=1024, description="largest request body to the staff API (/v1/kb/...)")
    max_import_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="largest knowledge import (POST /v1/kb/import)")
    resume_window_s: float = Field(30.0, ge=0, le=600, description="a session whose connection drops is kept this long for its client to resume it (0 = no resuming)")
    resume_buffer_bytes: int = Field(2 * 1024 * 1024, ge=0, description="audio of the answer in progress kept per session so a resumed client gets the rest from where it stopped")


class Scheduling(BaseModel):
    """The inference scheduler (assistant/scheduler.py; docs/architecture.md, "Under load")."""

    tts_workers: int = Field(2, ge=1, description="speech synthesis threads (one per voice runs at a time)")
    light_workers: int = Field(2, ge=1, description="threads for retrieval and the turn-end model")
    max_waiting: int = Field(64, ge=4, description="jobs each lane's line holds; optional ones are evicted first")
    max_wait_s: float = Field(20.0, gt=0, description="a finished turn facing a longer wait is refused with server_busy and retry_after_ms")
    speculative_deadline_s: float = Field(2.0, gt=0, description="partials, speculation and pre-synthesis waiting longer are dropped")
    hold_after_s: float = Field(2.0, gt=0, description="a voice turn not answered this long after the customer finished hears a short 'one moment, please'")
    kiosk_weight: float = Field(2.0, ge=1, description="a kiosk's share of the CPU against one anonymous web session's")


class Endpointing(BaseModel):
    """Adaptive end of turn (see docs/endpointing.md)."""

    speech_threshold: float = Field(0.5, gt=0, lt=1)
    min_speech_ms: int = Field(160, ge=32, description="shorter blips are not a turn")
    speculate_after_ms: int = Field(160, ge=32, description="silence before a speculative transcript")
    commit_after_ms: int = Field(320, ge=64, description="silence after which a confident, complete question is answered")
    max_silence_ms: int = Field(1000, ge=200, description="silence after which the turn ends regardless")
    confident: float = Field(0.7, gt=0, lt=1, description="retrieval confidence that lets the early commit happen")
    unfinished_below: float = Field(0.05, ge=0, lt=1, description="no early commit while the turn-end model's probability that the customer is done is below this (0 = ignore the model)")
    turn_end_model: bool = Field(True, description="load Smart Turn v3.2 (assistant/turn_end.py) as one input to the early commit")


class Clarify(BaseModel):
    """Clarifying questions when the best entries are too close to choose between (see
    docs/knowledge.md, "Clarifying questions"); the margins are in fused-score units."""

    enabled: bool = Field(True, description="ask which entry is meant instead of guessing or handing off")
    max_options: int = Field(3, ge=2, le=3, description="most entries one clarifying question names")
    group_threshold: float = Field(0.45, ge=0, le=1, description="confidence that the right entry is among the options needed to ask")
    tie_margin: float = Field(0.0, ge=0, description="a confident top entry this close to its runner-up is a tie: ask (0 = never ask instead of a confident answer)")
    choice_margin: float = Field(0.005, ge=0, description="lead a phrase needs over the other options to pick one")
    choice_reach: float = Field(0.02, ge=0, description="how far below the turn's best reading in the whole index a picked option may score")


class SelfCalibration(BaseModel):
    """The index refits its scoring on the knowledge base's own example questions after every
    change (knowledge.selfcal; docs/knowledge.md, "Self-calibration"). Off when `[scoring]` sets
    any field: a manual fit overrides."""

    enabled: bool = Field(True, description="refit fusion weights, confidence and operating point whenever the served entries change")
    target_wrong_rate: float = Field(0.02, gt=0, lt=0.5, description="wrong answers allowed among answered held-out questions at the hand-off threshold")


class Scoring(BaseModel):
    """Retrieval scoring fitted on the bank's own knowledge base (`python -m knowledge.calibrate
    KB.jsonl [--grid]` prints this block); a field left unset keeps the fitted default of
    `knowledge.ScoringParams`, whose docstring says what each one means."""

    model_config = {"extra": "forbid"}

    centroid_weight: float | None = Field(None, ge=0, le=1)
    lexical_weight: float | None = Field(None, ge=0)
    classifier_weight: float | None = Field(None, ge=0)
    bias: float | None = None
    score_slope: float | None = None
    margin_slope: float | None = None
    english_shift: float | None = None
    english_weight: float | None = Field(None, ge=0, le=1)

    def overrides(self) -> dict[str, float]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class Privacy(BaseModel):
    """What is kept of what customers say (docs/knowledge-store.md, "Personal data")."""

    question_retention_days: int = Field(90, ge=0, description=(
        "days a customer's (masked) question text is kept in the audit store, feedback and the gaps "
        "report; then it is purged, its digest stays in the audit chain (0 = kept forever)"))


class StaffLogin(BaseModel):
    """Staff sign-in (docs/security.md, "Lockout"): an account locks after consecutive failed
    passwords, so guessing one account's password is bounded whatever addresses it comes from."""

    max_failures: int = Field(5, ge=1, le=100, description="consecutive wrong passwords that lock the account")
    lockout_minutes: float = Field(15.0, gt=0, le=24 * 60, description="how long a locked account refuses every password")


class Settings(BaseSettings):
    """Digital Teller settings (env prefix `DT_`, nested with `__`, e.g. `DT_LIMITS__MAX_UTTERANCE_S`)."""

    model_config = SettingsConfigDict(env_prefix="DT_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    data_dir: Path = Field(default_factory=_default_data_dir)
    model_dir: Path = Field(default_factory=_default_model_dir)
    config_file: Path | None = None

    language: Language = "auto"
    asr_model: Literal["whisper-base", "whisper-tiny-en"] = "whisper-base"
    asr_threads: int = Field(0, ge=0, description="0 = the usable cores")
    asr_min_window_s: float = Field(8.0, ge=1, le=30, description="shortest audio window Whisper encodes (30 = Whisper's fixed window)")
    embedder: str = Field("e5-small", description="sentence embedder for retrieval (knowledge.embedders.EMBEDDERS)")
    voice_en: str = "joe"
    voice_zh: str = "baker"
    handoff_threshold: float = Field(0.6, ge=0, le=1, description="below this retrieval confidence, hand off (chosen on data: docs/knowledge.md)")
    scoring: Scoring = Field(default_factory=Scoring, description="fusion weights and confidence fitted by knowledge.calibrate")
    self_calibration: SelfCalibration = Field(default_factory=SelfCalibration)
    english_embedder: str = Field("minilm-int8", description="second embedder for English questions, weighted by self-calibration ('' = none)")
    clarify: Clarify = Field(default_factory=Clarify)
    knowledge_file: Path | None = Field(None, description="JSONL seed; default: the bundled demo knowledge base")
    database_url: str = Field("", description="knowledge store: empty = SQLite file in data_dir; postgresql://... = PostgreSQL")

    allowed_origins: list[str] = Field(
        default_factory=list,
        description="other origins allowed to open anonymous sessions; the page this server serves is always allowed")
    frame_ancestors: list[str] = Field(
        default_factory=list,
        description="other origins that may show the customer page in a frame; the staff console never")
    allow_anonymous: bool = True
    presynthesize: bool = Field(True, description="synthesise every approved answer into the disk cache after start-up")
    partial_interval_ms: int = Field(1000, ge=200, description="at most one partial transcript this often")

    privacy: Privacy = Field(default_factory=Privacy)
    staff_login: StaffLogin = Field(default_factory=StaffLogin)
    limits: Limits = Field(default_factory=Limits)
    endpointing: Endpointing = Field(default_factory=Endpointing)
    scheduling: Scheduling = Field(default_factory=Scheduling)

    @field_validator("data_dir", "model_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(value).expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > environment > TOML file > defaults.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=_config_path(init_settings)))

    @property
    def db_path(self) -> Path:
        return self.data_dir / "teller.sqlite3"

    @property
    def knowledge_db(self) -> str | Path:
        """Where the knowledge store lives: the PostgreSQL URL when set, else the SQLite file."""
        return self.database_url or self.db_path

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"


def _config_path(init_settings: PydanticBaseSettingsSource) -> Path | None:
    """The TOML file: the `config_file` argument, else `DT_CONFIG_FILE`, else `./digital-teller.toml`
    when present. A file named explicitly must exist (a typo must not silently mean defaults)."""
    named = getattr(init_settings, "init_kwargs", {}).get("config_file") or os.environ.get("DT_CONFIG_FILE")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"the settings file {path} does not exist")
        return path
    default = Path("digital-teller.toml")
    return default if default.is_file() else None


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
