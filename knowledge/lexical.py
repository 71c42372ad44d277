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

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin

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


class LexicalIndex:
    """BM25 over short documents, each belonging to a key (a knowledge entry).

    Every example question is its own document and a key scores as its best
    document, as the dense channel does: a long list of examples neither dilutes
    nor inflates an entry.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._docs: dict[str, list[tuple[str, Counter[str], int]]] = {}
        # term -> {(key, doc number): term frequency}; its length is the df.
        self._postings: dict[str, dict[tuple[str, int], int]] = {}
        self._n_docs = 0
        self._total_len = 0

    def __len__(self) -> int:
        return self._n_docs

    def set_documents(self, key: str, texts: Iterable[str]) -> None:
        """Replace the documents of `key` (an empty list removes it)."""
        self.remove(key)
        docs = []
        for i, text in enumerate(texts):
            counts = Counter(tokenize(text))
            length = sum(counts.values())
            docs.append((text, counts, length))
            for term, tf in counts.items():
                self._postings.setdefault(term, {})[(key, i)] = tf
            self._n_docs += 1
            self._total_len += length
        if docs:
            self._docs[key] = docs

    def remove(self, key: str) -> None:
        for i, (_, counts, length) in enumerate(self._docs.pop(key, [])):
            for term in counts:
                posting = self._postings[term]
                del posting[(key, i)]
                if not posting:
                    del self._postings[term]
            self._n_docs -= 1
            self._total_len -= length

    def _idf(self, term: str) -> float:
        df = len(self._postings.get(term, ()))
        # The "+1" form is never negative, so a term in most documents still adds
        # a little instead of penalising the documents that contain it.
        return math.log(1.0 + (self._n_docs - df + 0.5) / (df + 0.5))

    def _tf_part(self, tf: int, length: int, avg_len: float) -> float:
        norm = self.k1 * (1.0 - self.b + self.b * length / avg_len)
        return tf * (self.k1 + 1.0) / (tf + norm)

    def search(self, text: str, limit: int | None = None) -> list[LexicalHit]:
        """Keys by normalised BM25, best first; keys that share no term are absent.

        The score is divided by what a document identical to the query would get,
        so 1.0 means "this query is (a paraphrase-free copy of) an indexed text",
        and words the index has never seen pull the score down, which is what
        makes an off-topic question look off-topic here too.
        """
        query = Counter(tokenize(text))
        if not query or not self._n_docs:
            return []
        avg_len = self._total_len / self._n_docs
        q_len = sum(query.values())
        idf = {t: self._idf(t) for t in query}
        ideal = sum(idf[t] * self._tf_part(tf, q_len, avg_len) for t, tf in query.items())
        per_doc: dict[tuple[str, int], float] = {}
        for t in query:
            for doc, tf in self._postings.get(t, {}).items():
                length = self._docs[doc[0]][doc[1]][2]
                per_doc[doc] = per_doc.get(doc, 0.0) + idf[t] * self._tf_part(tf, length, avg_len)
        best: dict[str, tuple[float, int]] = {}
        for (key, i), s in per_doc.items():
            if key not in best or s > best[key][0]:
                best[key] = (s, i)
        hits = [LexicalHit(key, min(1.0, s / ideal), self._docs[key][i][0])
                for key, (s, i) in best.items()]
        hits.sort(key=lambda h: (-h.score, h.key))
        return hits[:limit] if limit is not None else hits

    def keys(self) -> Sequence[str]:
        return list(self._docs)
