"""The speaker hands over a sentence's audio piece by piece as the voice makes it."""

from __future__ import annotations

import numpy as np


def test_uncached_mandarin_sentence_arrives_in_pieces_that_join_into_the_sentence(services):
    speaker = services.speaker
    sentence = "请您携带本人有效身份证件和银行卡，到就近网点办理挂失补卡手续。"
    pieces: list = []
    segments = speaker.synthesize(sentence, "zh", on_segment=pieces.append)
    assert len(pieces) >= 2, "the Mandarin voice streams a long sentence in pieces"
    assert [id(s) for s in pieces] == [id(s) for s in segments]
    whole = np.concatenate([s.audio for s in speaker.engines["zh"].synthesize(sentence)])
    assert np.array_equal(np.concatenate([s.audio for s in pieces]), whole)

    again: list = []
    assert speaker.synthesize(sentence, "zh", on_segment=again.append) is not None
    assert len(again) == len(pieces)  # from the cache, same pieces, same order
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(again, pieces))

