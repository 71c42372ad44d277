"""A lexical retrieval channel: Chinese as jieba words read aloud, English as stems.

Whisper's errors on Mandarin bank questions are mostly homophones (余额 → 鱼鹅,
青岛 → 清导, 身份证 → 身分证, 挂失 → 挂是): the characters are wrong but the sound
is right. So Chinese is segmented into words by jieba (with the bank's compound
terms added, so 手机银行 stays one word), and every word is indexed by its toneless
pinyin: its syllables, the syllable bigrams of the sentence (word order, and the
whole of a two-syllable word), and each longer word as one term. A homophone
transcript then matches its example question where a character index, or the
embedding, would not: the word terms where jieba cuts the misspelling as it cuts
the word (身分证), the syllables and bigrams where it does not (鱼/鹅). Question
and function words (怎么, 可以, 你们) are dropped as whole words. English is indexed
as lower-cased, lightly stemmed words. Scoring is Okapi BM25, normalised per query
so that the number is comparable across queries and can be fused with a cosine
similarity.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from pypinyin import Style, lazy_pinyin
from scipy import sparse

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN_RE = re.compile(rf"[{_HAN}]+|[a-z0-9]+(?:'[a-z]+)?")
_HAN_RE = re.compile(rf"[{_HAN}]")

# Words dropped from Chinese text: sentence-final particles (frequent, and toneless
# homophones of content syllables: 吗 ma / 码 ma), and question and function words of
# two or more characters. One-character function words (是, 在, 有, 要) stay: Whisper
# writes them for content syllables too (挂失 heard as 挂是). Measured with BM25 alone
# on the demo KB's held-out questions (`python -m knowledge.calibrate`'s split): 70/91
# with this list, 65/91 dropping particles only, 64/91 dropping one-character words too.
_ZH_STOPWORDS = frozenset("""
的 了 吗 呢 吧 啊 呀 嘛 哦 哈 啦 么
怎么 什么 怎么办 怎样 如何 为什么 你们 我们 可以 能不能 是不是 有没有
请问 一下 这个 那个 哪里 哪些 的话
""".split())
# Banking compounds jieba's general dictionary cuts in two. Kept whole, one of three or
# more syllables also gives a word term (below), so the phrase counts for more than its
# parts said apart (same measure: 70/91 with them, 69/91 without; the demo KB uses
# only a few of them).
BANK_WORDS: tuple[str, ...] = tuple("""
手机银行 网上银行 网银 电子账户 二类账户 睡眠账户 久悬户 数字人民币
补卡 绑卡 解绑 年费 对账单 银行流水 交易明细 短信验证码 动态密码
登录密码 支付密码 取款密码 转账限额 跨行转账 境外汇款 跨境汇款 外币兑换
大额存单 存款保险 风险测评 风险评估 经营贷 消费贷 车贷 提前还款 最低还款
还款日 账单日 大额取现 预约取现 视频柜员 视频柜台 远程柜台 自助柜员机 存取款机
""".split())
_EN_STOPWORDS = frozenset("""
a an the i me my mine we our you your it its is are am was were be been do does did
to of in on at for from by with and or if so this that these those there here
can could would should will shall may might please just im i'm it's what's
i've i'd i'll you're we're they're that's there's
""".split())

_segmenter = None
_segmenter_lock = threading.Lock()


def _load_segmenter():
    global _segmenter
    with _segmenter_lock:
        if _segmenter is None:
            import jieba  # lazy: loading its dictionary takes about a second

            jieba.setLogLevel(logging.WARNING)
            # A private instance, so the bank's words never change the global
            # jieba.dt that homophones.py and terms.py read as general Chinese. Its
            # dictionary cache is jieba's default (jieba.cache in the temp dir,
            # shared with jieba.dt, written atomically by jieba).
            segmenter = jieba.Tokenizer()
            segmenter.initialize()
            for word in BANK_WORDS:
                segmenter.add_word(word)
            # Published only once complete: after this, cutting only reads the
            # dictionary, so worker threads can share it without a lock.
            _segmenter = segmenter
        return _segmenter


def segment(run: str) -> list[str]:
    """jieba's words of a Chinese text: precise mode, deterministic.

    HMM off: its guesses at unknown words glue a misspelling to a neighbour
    (鱼鹅在 as one word) and make a word of debris (办卡要); it made no difference to
    the retrieval figures.
    """
    return (_segmenter or _load_segmenter()).lcut(run, HMM=False)


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


def _zh_terms(run: str) -> list[str]:
    words = []
    for word in segment(run):
        if word not in _ZH_STOPWORDS:
            # NORMAL = no tone marks; "v" stands for ü so 绿/lv stays ASCII.
            sounds = [s for s in lazy_pinyin(word, style=Style.NORMAL, errors="ignore") if s]
            if sounds:
                words.append(sounds)
    syllables = [s for sounds in words for s in sounds]
    return (["p:" + s for s in syllables]
            # Across word boundaries too: a misspelling jieba cuts apart (鱼/鹅) still
            # gives the bigram of the word it stands for.
            + [f"b:{a}_{b}" for a, b in pairwise(syllables)]
            # Longer words only: a two-syllable word's term would repeat its bigram
            # (same measure as above: 70/91; 67/91 with two-syllable words, 67/91 with none).
            + ["z:" + "_".join(sounds) for sounds in words if len(sounds) >= 3])


def tokenize(text: str) -> list[str]:
    """Index terms of `text`, whatever its language or mix of languages.

    Chinese runs give ``p:syllable``, ``b:syl1_syl2`` and, for words of three or
    more syllables, ``z:syl1_syl2_syl3`` terms; Latin runs give ``w:stem`` terms
    (an "APP" or "ATM" inside a Chinese sentence then matches the English one).
    """
    norm = unicodedata.normalize("NFKC", text).lower()
    terms: list[str] = []
    for run in _RUN_RE.findall(norm):
        if _HAN_RE.match(run):
            terms.extend(_zh_terms(run))
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

