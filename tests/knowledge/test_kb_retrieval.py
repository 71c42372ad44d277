"""Retrieval quality on the demo KB, with the real embedder and a real Chroma index.

The questions come from kb_cases.py and are not example questions of the KB. The
bounds sit just under what was measured (MIN_TOP1) so that a real regression fails
while the test stays honest about what the model can do.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from kb_cases import HOMOPHONES_ZH, OFF_TOPIC, PARAPHRASES_EN, PARAPHRASES_ZH

from knowledge import DEFAULT_CONFIDENCE_THRESHOLD, KnowledgeIndex

# Measured on the demo KB: zh 29/35 (0.83), en 34/35 (0.97) top-1. The brief's target
# was 0.85; multilingual-e5-small (4-bit) confuses some close Mandarin siblings
# (fx-buy / coin-exchange, international-wire / receive-international), always with
# the right entry second or third, which the second assertion below pins down.
MIN_TOP1 = {"zh": 0.80, "en": 0.90}


def top1_rate(index, cases):
    misses = [(q, want, index.search(q, k=1)[0].entry.id) for q, want in cases
              if index.search(q, k=1)[0].entry.id != want]
    return 1 - len(misses) / len(cases), misses


def test_cases_are_not_copied_from_the_examples(demo_entries):
    examples = {q for e in demo_entries for _, _, q in e.example_questions()}
    ids = {e.id for e in demo_entries}
    for question, want in PARAPHRASES_ZH + PARAPHRASES_EN + HOMOPHONES_ZH:
        assert question not in examples and want in ids
    assert len(PARAPHRASES_ZH) >= 20 and len(PARAPHRASES_EN) >= 20


@pytest.mark.parametrize("lang, cases", [("zh", PARAPHRASES_ZH), ("en", PARAPHRASES_EN)])
def test_paraphrases_find_their_entry(demo_index, lang, cases):
    rate, misses = top1_rate(demo_index, cases)
    assert rate >= MIN_TOP1[lang], misses
    # Where top-1 misses, the right entry is still among the first five offered.
    for question, want, _ in misses:
        assert want in [c.entry.id for c in demo_index.search(question, k=5)], question


@pytest.mark.parametrize("question, want", HOMOPHONES_ZH)
def test_homophone_transcripts_find_their_entry(demo_index, question, want):
    found = demo_index.search(question, k=3)
    assert found[0].entry.id == want, [(c.entry.id, round(c.score, 3)) for c in found]
    assert found[0].confidence >= DEFAULT_CONFIDENCE_THRESHOLD


def test_off_topic_is_low_confidence_real_questions_high(demo_index):
    for question in OFF_TOPIC:
        best = demo_index.search(question, k=1)[0]
        assert best.confidence < DEFAULT_CONFIDENCE_THRESHOLD, (question, best.entry.id)
    right = [c for q, want in PARAPHRASES_ZH + PARAPHRASES_EN
             for c in demo_index.search(q, k=1) if c.entry.id == want]
    confident = sum(c.confidence >= DEFAULT_CONFIDENCE_THRESHOLD for c in right)
    # Measured 52/63: the threshold favours handing off over a wrong answer.
    assert confident / len(right) >= 0.75
    # Asking with an example question itself is as sure as it gets.
    assert demo_index.search("银行卡丢了怎么办", k=1)[0].confidence > 0.95


def test_candidates_are_ranked_and_bounded(demo_index):
    found = demo_index.search("How do I reset my PIN", k=5)
    assert len(found) == 5 and found[0].entry.id == "pin-reset"
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert all(0.0 <= c.confidence <= 1.0 for c in found)
    assert found[0].confidence > max(c.confidence for c in found[1:])
    assert found[0].matched in found[0].entry.questions["en"]
    assert demo_index.search("   ") == [] and demo_index.search("hello", k=0) == []


def single_language_copy(entry, lang):
    return replace(entry, questions={lang: entry.questions[lang]},
                   answer={lang: entry.answer[lang]},
                   disclosure={k: v for k, v in entry.disclosure.items() if k == lang})


@pytest.mark.parametrize("kept, asked", [("zh", "en"), ("en", "zh")])
def test_cross_lingual_both_ways(tmp_path, embedder, demo_entries, kept, asked):
    # Measured: English questions → Chinese-only copies 22/24, Chinese → English-only
    # copies 21/24. A *mixed* index is
    # another matter: there a Chinese-only entry loses to English entries on nearby
    # topics (e5-small's same-language pull is as large as a topic difference), so
    # production entries should carry both languages, as the demo KB does.
    by_id = {e.id: e for e in demo_entries}
    subset = [want for _, want in PARAPHRASES_EN[:12]] + [want for _, want in PARAPHRASES_ZH[12:24]]
    index = KnowledgeIndex(tmp_path / f"only-{kept}", embedder)
    index.build([single_language_copy(by_id[i], kept) for i in subset])
    cases = [c for c in (PARAPHRASES_EN if asked == "en" else PARAPHRASES_ZH) if c[1] in subset]
    rate, misses = top1_rate(index, cases)
    assert rate >= 0.80, misses
    assert all(c.entry.languages == (kept,) for c in index.search(cases[0][0], k=3))


def test_prompt_terms_hold_domain_words(demo_index):
    zh = demo_index.prompt_terms("zh")
    assert len(zh) <= 200
    for word in ("挂失", "身份证", "转账", "理财", "开户"):
        assert word in zh
    for common in ("可以", "怎么", "什么"):
        assert common not in zh.split("、")
    en = demo_index.prompt_terms("en", max_chars=120)
    assert 0 < len(en) <= 120 and "card" in en


def test_query_normalisation_restores_kb_words(demo_index):
    assert demo_index.normalise_query(" 我的鱼鹅是多少 ") == "我的余额是多少"
    assert demo_index.normalise_query("事实上我想问一下") == "事实上我想问一下"
