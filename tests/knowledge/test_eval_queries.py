"""`kb eval`: figures computed by hand on canned search results, then the real command
on the demo index, on a `--kb` file and on the served index of a data directory."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from assistant import cli_kb
from assistant.cli import main
from knowledge import Candidate
from knowledge.evaluate import (
    EvalFileError,
    EvalQuery,
    evaluate,
    figures,
    parse_queries,
    threshold_curve,
)

# Ten questions, none an example question of the demo KB; the last three should hand off.
DEMO_QUERIES = """question,expected_entry_id
我的银行卡找不到了怎么办,lost-card
卡里还有多少钱怎么查,balance-inquiry
星期天你们营业吗,weekend-hours
信用卡账单怎么还,credit-card-repayment
I can't remember my card PIN,pin-reset
How do I send money to a bank overseas,international-wire
"Can I open an account for my son, he is 10",minor-account
今天青岛天气怎么样,
Who won the football match last night,
帮我订一张去上海的火车票,
"""


def run(*argv: str) -> int:
    return main(list(argv))


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


class CannedIndex:
    """Stands in for KnowledgeIndex: each question has a fixed top candidate."""

    def __init__(self, answers: dict[str, tuple[str, float]]) -> None:
        self.answers = answers

    def entries(self):
        return [SimpleNamespace(id=i) for i in ("a", "b")]

    def search(self, text: str, k: int = 5):
        entry_id, confidence = self.answers[text]
        return [Candidate(SimpleNamespace(id=entry_id), 0.0, confidence, text)]


def test_figures_by_hand():
    index = CannedIndex({
        "q1": ("a", 0.9),   # answered, right
        "q2": ("a", 0.8),   # answered, wrong entry
        "q3": ("b", 0.3),   # handed off, top-1 right
        "q4": ("b", 0.2),   # handed off, top-1 wrong
        "q5": ("a", 0.1),   # off-topic, handed off: right
        "q6": ("b", 0.7),   # off-topic, answered: wrong
        "q7": ("a", 0.6),   # exactly at the threshold counts as answered, right
    })
    queries = [EvalQuery(n + 2, q, want) for n, (q, want) in enumerate(
        [("q1", "a"), ("q2", "b"), ("q3", "b"), ("q4", "a"), ("q5", None), ("q6", None), ("q7", "a")])]
    outcomes = evaluate(index, queries, 0.6)
    assert [o.mistake for o in outcomes] == [
        None, "wrong answer", "handed off (top-1 right)", "handed off (top-1 wrong)",
        None, "answered, should hand off", None]
    got = figures(outcomes, 0.6)
    assert (got.questions, got.answerable) == (7, 5)
    assert got.top1_accuracy == pytest.approx(3 / 5)       # q1 q3 q7
    assert got.answered_accuracy == pytest.approx(2 / 4)   # answered q1 q2 q6 q7; right q1 q7
    assert got.handoff_rate == pytest.approx(3 / 7)        # q3 q4 q5
    assert got.wrong_answer_rate == pytest.approx(2 / 7)   # q2 q6
    assert got.offtopic_handoff_rate == pytest.approx(1 / 2)
    # No answerable question and nothing answered: the rates are unknown, not 0 or 1.
    none = figures(evaluate(index, [EvalQuery(2, "q5", None)], 0.6), 0.6)
    assert none.top1_accuracy is None and none.answered_accuracy is None
    assert none.to_json()["handoff_rate"] == 1.0


def test_the_threshold_curve_by_hand():
    index = CannedIndex({"q1": ("a", 0.9), "q2": ("a", 0.8), "q3": ("b", 0.3), "q6": ("b", 0.7)})
    queries = [EvalQuery(2, "q1", "a"), EvalQuery(3, "q2", "b"), EvalQuery(4, "q3", "b"), EvalQuery(5, "q6", None)]
    curve = {p.threshold: p for p in threshold_curve(evaluate(index, queries, 0.6), [0.3, 0.75, 0.85, 0.95])}
    assert (curve[0.3].answered, curve[0.3].wrong_of_answered, curve[0.3].wrong) == (1.0, 0.5, 0.5)
    assert (curve[0.75].answered, curve[0.75].wrong_of_answered) == (0.5, 0.5)   # q1 right, q2 wrong
    assert (curve[0.85].answered, curve[0.85].wrong_of_answered, curve[0.85].wrong) == (0.25, 0.0, 0.0)
    assert curve[0.95].answered == 0.0 and curve[0.95].wrong_of_answered is None


def test_unknown_expected_entry_is_an_error():
    index = CannedIndex({"q1": ("a", 0.9)})
    with pytest.raises(EvalFileError) as caught:
        evaluate(index, [EvalQuery(2, "q1", "a"), EvalQuery(3, "q1", "nope")], 0.6)
    assert [(p.line, p.field) for p in caught.value.problems] == [(3, "expected_entry_id")]


def test_parse_reports_every_bad_line():
    text = ("\ufeffquestion,expected_entry_id\n"
            "how do I check my balance,balance-inquiry\n"
            ",lost-card\n"
            "\n"
            "too,many,fields\n"
            "bad id,Lost Card\n"
            "\"a question\nover two lines\",lost-card\n"
            "off topic,\n")
    with pytest.raises(EvalFileError) as caught:
        parse_queries(text)
    problems = [(p.line, p.field) for p in caught.value.problems]
    assert problems == [(3, "question"), (5, "row"), (6, "expected_entry_id")]
    assert "line 6: field 'expected_entry_id'" in str(caught.value)
    ok = parse_queries(text.splitlines(keepends=True)[0] + "".join(text.splitlines(keepends=True)[6:]))
    assert [(q.line, q.question, q.expected) for q in ok] == [
        (2, "a question\nover two lines", "lost-card"), (4, "off topic", None)]
    for bad in ("", "q,id\nx,y\n", "question,expected_entry_id\n"):
        with pytest.raises(EvalFileError):
            parse_queries(bad)


def test_eval_command_on_the_demo_index(tmp_path, capsys, monkeypatch, demo_index):
    monkeypatch.setattr(cli_kb, "_eval_index", lambda args, settings, tmp: demo_index)
    path = tmp_path / "queries.csv"
    path.write_text(DEMO_QUERIES, encoding="utf-8")
    assert run("kb", "eval", str(path), "--threshold", "0.6") == 0
    out = capsys.readouterr().out
    got = last_json(out)
    assert (got["questions"], got["answerable"], got["threshold"]) == (10, 7, 0.6)
    # Recount from the index itself: the printed figures must match the searches.
    tops = [demo_index.search(q.question, k=1)[0] for q in parse_queries(DEMO_QUERIES)]
    wants = [q.expected for q in parse_queries(DEMO_QUERIES)]
    answered = [c.confidence >= 0.6 for c in tops]
    right = [c.entry.id == w for c, w in zip(tops, wants, strict=True)]
    assert got["top1_accuracy"] == round(sum(right) / 7, 4)
    assert got["handoff_rate"] == round(answered.count(False) / 10, 4)
    wrong = sum(a and not r for a, r in zip(answered, right, strict=True))
    assert got["wrong_answer_rate"] == round(wrong / 10, 4)
    # Sanity on the demo KB: paraphrases are found, the off-topic lines are handed off.
    assert got["top1_accuracy"] >= 6 / 7
    assert got["offtopic_handoff_rate"] == 1.0
    assert got["wrong_answer_rate"] <= 0.1
    assert "top-1 accuracy:" in out and "hand-off rate:" in out
    # Every mistake the figures count is listed, with its line.
    mistakes = [line for line in out.splitlines() if line.startswith("  line ")]
    assert len(mistakes) == sum(not (a and r) and not (w is None and not a)
                                for a, r, w in zip(answered, right, wants, strict=True))


TINY_KB = [
    {"id": "lost-card", "questions": {"zh": ["银行卡丢了怎么办", "卡丢了"], "en": ["I lost my card"]},
     "answer": {"zh": "请立即挂失。", "en": "Report it lost at once."}},
    {"id": "opening-hours", "questions": {"zh": ["你们几点开门"], "en": ["What are your opening hours"]},
     "answer": {"zh": "九点开门。", "en": "We open at nine."}},
    {"id": "fx-buy", "questions": {"zh": ["怎么换美元"], "en": ["How do I buy US dollars"]},
     "answer": {"zh": "请到柜台办理。", "en": "At the counter."}},
]
TINY_QUERIES = "question,expected_entry_id\nmy card is lost,lost-card\n银行几点开门,opening-hours\n我想换点美元,fx-buy\n"


def test_eval_command_with_kb_file_and_served_index(tmp_path, capsys, monkeypatch, embedder):
    kb = tmp_path / "tiny.jsonl"
    kb.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in TINY_KB), encoding="utf-8")
    queries = tmp_path / "q.csv"
    queries.write_text(TINY_QUERIES, encoding="utf-8")
    assert run("kb", "eval", str(queries), "--kb", str(kb)) == 0
    from_file = last_json(capsys.readouterr().out)
    assert from_file["top1_accuracy"] == 1.0 and from_file["questions"] == 3
    # The served index of a fresh data directory is seeded from DT_KNOWLEDGE_FILE.
    monkeypatch.setenv("DT_KNOWLEDGE_FILE", str(kb))
    assert run("kb", "eval", str(queries), "--data-dir", str(tmp_path / "data")) == 0
    served = last_json(capsys.readouterr().out)
    assert served == from_file
    assert (tmp_path / "data" / "chroma").is_dir()


@pytest.mark.slow  # loads a real model in its body
def test_eval_command_errors(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("question,expected_entry_id\n,lost-card\nok,NOT AN ID\n", encoding="utf-8")
    assert run("kb", "eval", str(bad), "--kb", "unused.jsonl") == 2
    err = capsys.readouterr().err
    assert "bad.csv: line 2: field 'question': empty" in err
    assert "bad.csv: line 3: field 'expected_entry_id'" in err and "2 bad line(s)" in err
    assert run("kb", "eval", str(tmp_path / "missing.csv")) == 2
    assert "cannot read" in capsys.readouterr().err
    good = tmp_path / "good.csv"
    good.write_text(TINY_QUERIES, encoding="utf-8")
    assert run("kb", "eval", str(good), "--threshold", "1.5") == 2
    broken_kb = tmp_path / "broken.jsonl"
    broken_kb.write_text('{"id": "x"}\n', encoding="utf-8")
    assert run("kb", "eval", str(good), "--kb", str(broken_kb)) == 2
    assert "cannot open the knowledge base" in capsys.readouterr().err
