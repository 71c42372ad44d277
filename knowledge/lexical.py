"""A lexical retrieval channel that is deaf to Mandarin tones and character choice.

Whisper's errors on Mandarin bank questions are mostly homophones (余额 → 鱼鹅,
青岛 → 清导, 身份证 → 身分证, 挂失 → 挂是): the characters are wrong but the sound
is right. Indexing Chinese as toneless pinyin syllables (and syllable bigrams, which
carry the word order that single syllables lose) lets such a transcript match its
example question exactly where a character index, or the embedding, would not.
English is indexed as lower-cased, lightly stemmed words. Scoring is Okapi BM25,
normalised per query so that the number is comparable across queries and can be
fused with a cosine similarity.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pypinyin import Style, lazy_pinyin
from scipy import sparse

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN_RE = re.compile(rf"[{_HAN}]+|[a-z0-9]+(?:'[a-z]+)?")
_HAN_RE = re.compile(rf"[{_HAN}]")

# Sentence-final particles and the like: frequent, toneless homophones of content
# syllables (吗 ma / 码 ma), so they are removed as characters, before pinyin.
_ZH_PARTICLES = frozenset("的了吗呢吧啊呀嘛哦哈啦么")
_EN_STOPWORDS = frozenset("""
a an the i me my mine we our you your it its is are am was were be been do does did
to of in on at for from by with and or if so this that these those there here
can could would should will shall may might please just im i'm it's what's
i've i'd i'll you're we're they're that's there's
""".split())


def _stem(word: str) -> str:
    # Deliberately crude: it only has to make "cards"/"card" and
    # "transferring"/"transfer" meet, not produce dictionary words.
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            # transferr(ing) -> transfer, stopp(ed) -> stop
            if word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]
            return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _pinyin(run: str) -> list[str]:
    kept = "".join(ch for ch in run if ch not in _ZH_PARTICLES)
    if not kept:
        return []
    # NORMAL = no tone marks; "v" stands for ü so 绿/lv stays ASCII.
    return [s for s in lazy_pinyin(kept, style=Style.NORMAL, errors="ignore") if s]


def tokenize(text: str) -> list[str]:
    """Index terms of `text`, whatever its language or mix of languages.

    Chinese runs give ``p:syllable`` and ``b:syl1_syl2`` terms; Latin runs give
    ``w:stem`` terms (an "APP" or "ATM" inside a Chinese sentence then matches
    the English one).
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    terms: list[str] = []
    for run in _RUN_RE.findall(norm):
        if _HAN_RE.match(run):
            syllables = _pinyin(run)
            terms.extend("p:" + s for s in syllables)
            terms.extend(f"b:{a}_{b}" for a, b in zip(syllables, syllables[1:], strict=False))
        elif run not in _EN_STOPWORDS:
            terms.append("w:" + _stem(run))
    return terms


@dataclass(frozen=True)
class LexicalHit:
    key: str
    score: float  # normalised to [0, 1]
    text: str     # the indexed text that scored best for this key


@dataclass(frozen=True)
class LexicalScores:
    """One query's BM25 score for every key of the index, as arrays.

    `scores[i]` belongs to `keys[i]`, normalised to [0, 1]; 0.0 means the key
    shares no term with the query (every shared term adds a positive amount).
    """

    keys: tuple[str, ...]
    scores: np.ndarray
    _doc_scores: np.ndarray  # per document, unnormalised
    _starts: np.ndarray      # first document of each key
    _texts: tuple[str, ...]

    def best_text(self, i: int) -> str:
        """The text of key i's best-scoring document (its first one on a tie)."""
        start, end = self._starts[i], self._starts[i + 1]
        return self._texts[start + int(np.argmax(self._doc_scores[start:end]))]


@dataclass(frozen=True)
class _KeyDocs:
    """One key's documents, already as term columns: a snapshot only concatenates."""

    texts: tuple[str, ...]
    columns: np.ndarray   # term column of every (document, term) pair, document by document
    tfs: np.ndarray       # its term frequency
    terms: np.ndarray     # distinct terms per document
    lengths: np.ndarray   # terms per document, repeats included


class LexicalSnapshot:
    """The documents as a sparse document x term matrix of BM25 term weights (idf
    aside), documents grouped by key so a key's best document is a reduceat.

    Immutable once built, so a search can use it outside any lock while the
    index changes; any change builds a new one on the next search.
    """

    def __init__(self, docs: dict[str, _KeyDocs], columns: dict[str, int], k1: float, b: float) -> None:
        self.keys = tuple(docs)
        self.texts = tuple(text for d in docs.values() for text in d.texts)
        self.columns = dict(columns)
        self.n_docs = len(self.texts)
        parts = list(docs.values())
        lengths = np.concatenate([d.lengths for d in parts]) if parts else np.zeros(0)
        self.avg_len = float(lengths.mean()) if self.n_docs else 0.0
        terms = np.concatenate([d.terms for d in parts]) if parts else np.zeros(0, np.int64)
        rows = np.repeat(np.arange(self.n_docs), terms)
        cols = np.concatenate([d.columns for d in parts]) if parts else np.zeros(0, np.int64)
        tf = np.concatenate([d.tfs for d in parts]) if parts else np.zeros(0)
        norm = k1 * (1.0 - b + b * np.repeat(lengths, terms) / max(self.avg_len, 1e-12))
        weights = tf * (k1 + 1.0) / (tf + norm)
        # Column-major: a query selects its few terms' columns, not every row.
        self.matrix = sparse.csc_matrix((weights, (rows, cols)), shape=(self.n_docs, len(self.columns)))
        self.df = np.bincount(cols, minlength=len(self.columns))
        self.starts = np.cumsum([0] + [len(d.texts) for d in parts])
        self.k1, self.b = k1, b

    def scores(self, text: str) -> LexicalScores:
        """`LexicalIndex.scores` on this snapshot (see there)."""
        k1, b = self.k1, self.b
        doc_scores = np.zeros(self.n_docs)
        key_scores = np.zeros(len(self.keys))
        query = Counter(tokenize(text))
        # avg_len 0: every document is empty (stopwords only), so nothing can match.
        if query and self.avg_len > 0:
            cols = np.array([self.columns.get(t, -1) for t in query])
            known = cols >= 0
            df = np.where(known, self.df[np.maximum(cols, 0)], 0).astype(np.float64)
            # The "+1" form is never negative, so a term in most documents still adds
            # a little instead of penalising the documents that contain it.
            idf = np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))
            tf = np.array(list(query.values()), np.float64)
            q_norm = k1 * (1.0 - b + b * float(tf.sum()) / self.avg_len)
            ideal = float(idf @ (tf * (k1 + 1.0) / (tf + q_norm)))
            if known.any():
                doc_scores = self.matrix[:, cols[known]] @ idf[known]
                key_scores = np.minimum(1.0, np.maximum.reduceat(doc_scores, self.starts[:-1]) / ideal)
        return LexicalScores(self.keys, key_scores, doc_scores, self.starts, self.texts)


class LexicalIndex:
    """BM25 over short documents, each belonging to a key (a knowledge entry).

    Every example question is its own document and a key scores as its best
    document, as the dense channel does: a long list of examples neither dilutes
    nor inflates an entry.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._docs: dict[str, _KeyDocs] = {}
        # Grows only: a term whose documents are all gone keeps an empty column,
        # so no other key's columns need renumbering.
        self._columns: dict[str, int] = {}
        self._snapshot: LexicalSnapshot | None = None

    def __len__(self) -> int:
        return sum(len(d.texts) for d in self._docs.values())

    def set_documents(self, key: str, texts: Iterable[str]) -> None:
        """Replace the documents of `key` (an empty list removes it)."""
        self.remove(key)
        texts = tuple(texts)
        counts = [Counter(tokenize(text)) for text in texts]
        if texts:
            cols = [self._columns.setdefault(t, len(self._columns)) for c in counts for t in c]
            self._docs[key] = _KeyDocs(
                texts, np.array(cols, np.int64), np.array([n for c in counts for n in c.values()], np.float64),
                np.array([len(c) for c in counts], np.int64),
                np.array([sum(c.values()) for c in counts], np.float64))
            self._snapshot = None

    def remove(self, key: str) -> None:
        if self._docs.pop(key, None) is not None:
            self._snapshot = None

    def snapshot(self) -> LexicalSnapshot:
        # Built on first use after a change, not per change: a bulk load of many
        # entries then pays for one matrix, not one per entry.
        if self._snapshot is None:
            self._snapshot = LexicalSnapshot(self._docs, self._columns, self.k1, self.b)
        return self._snapshot

    def scores(self, text: str) -> LexicalScores:
        """Every key's normalised BM25 score for `text`.

        The score is divided by what a document identical to the query would get,
        so 1.0 means "this query is (a paraphrase-free copy of) an indexed text",
        and words the index has never seen pull the score down, which is what
        makes an off-topic question look off-topic here too.
        """
        return self.snapshot().scores(text)

    def search(self, text: str, limit: int | None = None) -> list[LexicalHit]:
        """Keys by normalised BM25, best first; keys that share no term are absent."""
        got = self.scores(text)
        hits = [LexicalHit(got.keys[i], float(got.scores[i]), got.best_text(i))
                for i in np.flatnonzero(got.scores > 0.0)]
        hits.sort(key=lambda h: (-h.score, h.key))
        return hits[:limit] if limit is not None else hits

    def keys(self) -> Sequence[str]:
        return list(self._docs)

