"""Undo Whisper's Mandarin homophone errors using the knowledge base's own words.

The recogniser hears the right syllables and picks the wrong characters (鱼鹅 for
余额, 清导 for 青岛, 挂是 for 挂失). Where a stretch of the transcript sounds exactly
like a word the knowledge base uses (same toneless pinyin) but is written
differently, and the written form is a rarer word in general Chinese than the
knowledge-base word, the stretch is replaced by the knowledge-base word. The
frequency test is what keeps real words alone: 事实 (common) is never turned into
实时 even though both are "shi shi"; 鱼鹅 (not a word) becomes 余额.

The embedding model only sees characters, so this is what lets the dense channel
(not just the pinyin BM25 channel) understand a mis-transcribed question.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable

from pypinyin import Style, lazy_pinyin

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_MIN_LEN, _MAX_LEN = 2, 4
_MIN_WORD_FREQ = 10  # jieba dictionary count; 挂失 has 16, 余额 540
# A piece ending in a sentence-final particle is a phrase end, not a misspelt
# word: 经营贷吗 must not become 经营代码.
_PARTICLES = frozenset("吗呢吧啊呀嘛哦啦")


def _jieba():
    import jieba  # lazy: loading its dictionary takes about a second

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


class HomophoneCorrector:
    """Maps sound-alike spellings in a query onto knowledge-base vocabulary."""

    def __init__(self, texts: Iterable[str] = ()) -> None:
        self._by_sound: dict[tuple[str, ...], Counter[str]] = {}
        self._vocab: set[str] = set()
        self._freq: dict[str, int] = {}
        self.add_texts(texts)

    def add_texts(self, texts: Iterable[str]) -> None:
        jieba = _jieba()
        self._freq = jieba.dt.FREQ
        for text in texts:
            for word in jieba.lcut(text):
                if _HAN_RUN.fullmatch(word):
                    # Every word the KB itself writes is protected from "correction"
                    # (止付 stays 止付 although 支付 sounds the same and is commoner).
                    self._vocab.add(word)
                # Only established dictionary words: jieba glues unknown neighbours
                # into pseudo-words (有稳, 钱要), and near-absent entries (能取, 汇钱)
                # attract ordinary phrases that happen to sound the same.
                if (_MIN_LEN <= len(word) <= _MAX_LEN and _HAN_RUN.fullmatch(word)
                        and self._freq.get(word, 0) >= _MIN_WORD_FREQ):
                    sound = tuple(lazy_pinyin(word, style=Style.NORMAL))
                    self._by_sound.setdefault(sound, Counter())[word] += 1

    def __len__(self) -> int:
        return len(self._vocab)

    def correct(self, text: str) -> str:
        """`text` with sound-alike non-words replaced; unchanged when nothing fits."""
        if not self._by_sound:
            return text
        return _HAN_RUN.sub(lambda m: self._correct_run(m.group(0)), text)

    def _correct_run(self, run: str) -> str:
        sounds = lazy_pinyin(run, style=Style.NORMAL)
        if len(sounds) != len(run):  # a character pypinyin cannot read: leave the run
            return run
        # Boundaries of the real words jieba sees in the query: a replacement may
        # not cut one in half (里开 → 离开 inside 这里开个账户 would break 这里).
        cuts = {0}
        # HMM off: its guesses at unknown words glue the misspelling to a neighbour (鱼鹅在).
        for word in _jieba().lcut(run, HMM=False):
            cuts.add(max(cuts) + len(word))
        inside = {i for i in range(len(run) + 1) if i not in cuts}
        out: list[str] = []
        i = 0
        while i < len(run):
            step = 1
            # Longest match first, so 身分证 is tried as a whole before 身分.
            for length in range(min(_MAX_LEN, len(run) - i), _MIN_LEN - 1, -1):
                piece = run[i:i + length]
                candidates = self._by_sound.get(tuple(sounds[i:i + length]))
                if not candidates:
                    continue
                if i in inside or i + length in inside or piece[-1] in _PARTICLES:
                    continue
                if piece in self._vocab:
                    out.append(piece)
                else:
                    best = max(candidates, key=lambda w: (candidates[w], w))
                    keep = self._freq.get(piece, 0) >= max(1, self._freq.get(best, 0))
                    out.append(piece if keep else best)
                step = length
                break
            else:
                out.append(run[i])
            i += step
        return "".join(out)
