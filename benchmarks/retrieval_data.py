"""The retrieval benchmark's data: banking77 intents split into KB examples and held-out
questions, an embedder over a vector table, and synthetic knowledge bases of any size."""

from __future__ import annotations

import csv
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge import Entry
from knowledge.entry import MAX_QUESTION_CHARS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "dev_sample_from_train.csv"
NOISE_COSINE = 0.95  # how close a synthetic entry's vectors sit to the real ones they copy


class VectorTable:
    """An Embedder over a table: each real text is embedded once, synthetic texts get the
    vectors they were registered with, so the index and every configuration share vectors."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.table: dict[str, np.ndarray] = {}
        self.embed_seconds = 0.0
        self.embedded = 0

    def fill(self, texts: Sequence[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self.table]
        for start in range(0, len(missing), 64):
            part = missing[start:start + 64]
            t0 = time.perf_counter()
            vectors = self.inner.embed_queries(part)
            self.embed_seconds += time.perf_counter() - t0
            self.embedded += len(part)
            self.table.update(zip(part, vectors, strict=True))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.fill(texts)
        return np.stack([self.table[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    embed_passages = embed_queries


def load_intents(path: Path) -> dict[str, list[str]]:
    intents: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            intents.setdefault(row["category"], []).append(row["text"].strip())
    return intents


def entry_id(intent: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", intent.lower()).strip("-")


def make_entry(key: str, questions: Sequence[str], answer: str) -> Entry:
    # Entries cap a question at 300 characters; a few banking77 texts are longer.
    capped = tuple(q if len(q) <= MAX_QUESTION_CHARS else q[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0]
                   for q in questions)
    return Entry(id=key, questions={"en": capped}, answer={"en": answer})


def split(intents: dict[str, list[str]], k: int) -> tuple[list[Entry], list[tuple[str, str]]]:
    """(entries with 3 examples each, [(held-out question, entry id)]) for split k."""
    entries, queries = [], []
    for intent, texts in intents.items():
        asked = {k % len(texts), (k + 1) % len(texts)}
        entries.append(make_entry(entry_id(intent), [t for i, t in enumerate(texts) if i not in asked],
                                  intent.replace("_", " ")))
        queries += [(texts[i], entry_id(intent)) for i in sorted(asked)]
    return entries, queries


def perturb(text: str, vocabulary: Sequence[str], rng: random.Random) -> str:
    words = text.split()
    words[rng.randrange(len(words))] = rng.choice(vocabulary)
    return " ".join(words)


def noisy(vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # Noise orthogonal-ish to a unit vector with norm tan(acos(c)) gives cosine ~c.
    noise = rng.standard_normal(vector.shape[0]).astype(np.float32)
    noise *= np.tan(np.arccos(NOISE_COSINE)) / np.linalg.norm(noise)
    out = vector + noise
    return out / np.linalg.norm(out)


def synthetic_kb(base: list[Entry], size: int, table: VectorTable, seed: int = 11) -> list[Entry]:
    """`base` plus size - len(base) perturbed copies, their vectors registered in `table`."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    vocabulary = sorted({w for e in base for q in e.questions["en"] for w in q.split()})
    entries = list(base)
    for j in range(size - len(base)):
        source = base[j % len(base)]
        questions = []
        for q in source.questions["en"]:
            text = perturb(q, vocabulary, rng)
            while text in table.table:  # every synthetic text new, so it owns its vector
                text = perturb(text, vocabulary, rng)
            table.table[text] = noisy(table.table[q], nrng)
            questions.append(text)
        entries.append(make_entry(f"{source.id}-syn{j}", questions, source.answer["en"]))
    return entries
