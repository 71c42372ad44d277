"""Entry validation and the JSONL contract."""

from __future__ import annotations

import json

import pytest

from knowledge import Entry, EntryError, dump_jsonl, load_jsonl, parse_jsonl

GOOD = {
    "id": "lost-card",
    "questions": {"zh": ["银行卡丢了怎么办", "卡丢了咋办"], "en": ["I lost my card"]},
    "answer": {"zh": "请立即挂失。", "en": "Please block the card right away."},
    "disclosure": {"zh": "提示", "en": "Note"},
    "tags": ["cards"],
}


def row(**changes):
    data = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_round_trip_dict_and_jsonl(tmp_path):
    entry = Entry.from_dict(GOOD)
    assert entry.questions["zh"] == ("银行卡丢了怎么办", "卡丢了咋办")
    assert entry.version == 1 and entry.tags == ("cards",)
    assert Entry.from_dict(entry.to_dict()) == entry
    zh_only = Entry.from_dict(row(id="balance", questions={"zh": ["余额怎么查"]},
                                  answer={"zh": "在手机银行查看。"},
                                  disclosure=None, tags=None, version=3))
    assert zh_only.languages == ("zh",) and zh_only.version == 3
    path = tmp_path / "kb.jsonl"
    dump_jsonl([entry, zh_only], path)
    assert load_jsonl(path) == [entry, zh_only]
    # The contract's optional parts stay optional in the output.
    assert "disclosure" not in zh_only.to_dict() and "version" not in entry.to_dict()


def test_entry_is_immutable_and_hashable():
    source = row()
    entry = Entry.from_dict(source)
    source["questions"]["zh"].append("changed later")
    assert len(entry.questions["zh"]) == 2
    with pytest.raises(AttributeError):
        entry.id = "other"  # type: ignore[misc]
    assert len({entry, Entry.from_dict(GOOD)}) == 1


def test_answer_in_falls_back_to_the_language_it_has():
    entry = Entry("only-zh", {"zh": ("你好",)}, {"zh": "您好"})
    assert entry.answer_in("en") == ("zh", "您好", "")
    full = Entry.from_dict(GOOD)
    assert full.answer_in("en") == ("en", "Please block the card right away.", "Note")


@pytest.mark.parametrize("changes, field, reason", [
    ({"id": "Lost_Card"}, "id", "[a-z0-9-]"),
    ({"id": "x" * 65}, "id", "[a-z0-9-]"),
    ({"id": None}, "id", "missing"),
    ({"questions": {"zh": [], "en": []}}, "questions", "at least one question"),
    ({"questions": {"zh": "not a list"}}, "questions.zh", "list"),
    ({"questions": {"zh": ["ok", ""]}}, "questions.zh[1]", "empty"),
    ({"questions": {"zh": ["同一个", "同一个"]}}, "questions.zh[1]", "duplicate"),
    ({"questions": {"fr": ["bonjour"]}}, "questions.fr", "unsupported language"),
    ({"answer": {}}, "answer", "at least one language"),
    ({"answer": {"zh": "好", "en": "x" * 2001}}, "answer.en", "2000"),
    ({"answer": {"zh": 5, "en": "ok"}}, "answer.zh", "string"),
    ({"disclosure": {"zh": "只有中文"}}, "disclosure.en", "missing"),
    ({"tags": ["Cards!"]}, "tags[0]", "[a-z0-9-]"),
    ({"tags": "cards"}, "tags", "list"),
    ({"version": 0}, "version", ">= 1"),
    ({"version": "2"}, "version", "integer"),
    ({"answers": {"zh": "typo"}}, "answers", "unknown field"),
])
def test_bad_rows_name_line_and_field(changes, field, reason):
    bad = row(id="second")
    bad.update(changes)
    bad = {k: v for k, v in bad.items() if v is not None}
    lines = [json.dumps(GOOD, ensure_ascii=False), "", json.dumps(bad, ensure_ascii=False)]
    with pytest.raises(EntryError) as info:
        parse_jsonl(lines)
    err = info.value
    assert err.line == 3 and err.field == field and reason in err.reason
    assert str(err).startswith("line 3: ") and repr(field) in str(err)


def test_invalid_json_and_duplicate_ids_report_lines():
    with pytest.raises(EntryError) as info:
        parse_jsonl([json.dumps(GOOD), "{not json"])
    assert info.value.line == 2 and "invalid JSON" in info.value.reason
    with pytest.raises(EntryError) as info:
        parse_jsonl([json.dumps(GOOD), json.dumps(GOOD)])
    assert info.value.line == 2 and info.value.field == "id" and "line 1" in info.value.reason
    with pytest.raises(EntryError) as info:
        parse_jsonl(["[1, 2]"])
    assert info.value.line == 1 and "object" in info.value.reason


def test_constructor_validates_too():
    with pytest.raises(EntryError) as info:
        Entry("ok-id", {"en": ("q",)}, {"en": "a" * 2001})
    assert info.value.field == "answer.en" and info.value.entry_id == "ok-id"
    with pytest.raises(EntryError):
        Entry("ok-id", {"en": ("q",)}, "not a mapping")  # type: ignore[arg-type]
