"""Output formats, with exact expected output on a small track."""

import pytest

from avatar_bridge import FORMATS, LipSync, Viseme, Word, render, to_azure, to_polly, to_rhubarb, to_talkinghead

TRACK = LipSync(
    [Viseme("sil", 0.0, 40.4), Viseme("PP", 40.4, 50.2), Viseme("aa", 90.6, 120.0),
     Viseme("SS", 210.6, 60.0), Viseme("sil", 270.6, 40.0)],
    [Word("pass", 40.4, 230.2)],
)


def test_talkinghead():
    assert to_talkinghead(TRACK) == {
        "visemes": ["sil", "PP", "aa", "SS", "sil"],
        "vtimes": [0, 40, 91, 211, 271],
        "vdurations": [40, 51, 120, 60, 40],
        "words": ["pass"], "wtimes": [40], "wdurations": [231],
    }


def test_talkinghead_rounds_boundaries_so_durations_sum_to_span():
    # each duration is x.5-ish; rounding durations would drift, rounding boundaries cannot
    visemes, t = [], 0.0
    for i in range(40):
        d = 40.5 + (i % 3) * 0.3
        visemes.append(Viseme(("aa", "PP")[i % 2], t, d))
        t += d
    out = to_talkinghead(LipSync(visemes))
    assert sum(out["vdurations"]) == round(t)
    assert all(a + d == b for a, d, b in zip(out["vtimes"], out["vdurations"], out["vtimes"][1:]))


def test_talkinghead_drops_visemes_that_round_to_nothing():
    track = LipSync([Viseme("aa", 0, 100.2), Viseme("PP", 100.2, 0.2), Viseme("U", 100.4, 50)])
    out = to_talkinghead(track)
    assert out["visemes"] == ["aa", "U"] and out["vdurations"] == [100, 50]


def test_azure():
    assert to_azure(TRACK) == [
        {"visemeId": 0, "audioOffset": 0},
        {"visemeId": 21, "audioOffset": 404000},
        {"visemeId": 2, "audioOffset": 906000},
        {"visemeId": 15, "audioOffset": 2106000},
        {"visemeId": 0, "audioOffset": 2706000},
    ]


def test_azure_ids_round_trip_through_reference_map():
    from avatar_bridge.formats import AZURE_IDS
    reference = "sil aa aa O E RR I U O O O I kk RR nn SS CH TH FF DD kk PP".split()   # Azure ID → Oculus
    assert {name: reference[i] for name, i in AZURE_IDS.items()} == {n: n for n in AZURE_IDS}
    assert len(AZURE_IDS) == 15


def test_polly():
    assert to_polly(TRACK, "A pass.") == [
        {"time": 0, "type": "viseme", "value": "sil"},
        {"time": 40, "type": "word", "start": 2, "end": 6, "value": "pass"},
        {"time": 40, "type": "viseme", "value": "p"},
        {"time": 91, "type": "viseme", "value": "a"},
        {"time": 211, "type": "viseme", "value": "s"},
        {"time": 271, "type": "viseme", "value": "sil"},
    ]


def test_polly_word_offsets_are_utf8_bytes_in_order():
    text = "余额多少？余额"
    track = LipSync([], [Word("余额", 0, 100), Word("多少", 100, 100), Word("余额", 300, 100), Word("五元", 400, 50)])
    marks = to_polly(track, text)
    assert [(m["start"], m["end"]) for m in marks] == [(0, 6), (6, 12), (15, 21), (21, 21)]
    marks = to_polly(LipSync([], [Word("hello", 0, 10)]), "Hello there")
    assert (marks[0]["start"], marks[0]["end"], marks[0]["value"]) == (0, 5, "hello")


def test_rhubarb():
    assert to_rhubarb(TRACK) == {"mouthCues": [
        {"start": 0.0, "end": 0.04, "value": "X"},
        {"start": 0.04, "end": 0.09, "value": "A"},
        {"start": 0.09, "end": 0.21, "value": "D"},
        {"start": 0.21, "end": 0.27, "value": "B"},
        {"start": 0.27, "end": 0.31, "value": "X"},
    ]}


def test_rhubarb_fuses_shapes_that_map_alike():
    track = LipSync([Viseme("DD", 0, 50), Viseme("SS", 50, 50), Viseme("kk", 100, 50), Viseme("U", 150, 50)])
    assert to_rhubarb(track) == {"mouthCues": [
        {"start": 0.0, "end": 0.15, "value": "B"}, {"start": 0.15, "end": 0.2, "value": "F"}]}


def test_registry_and_render():
    assert {"oculus", "azure", "polly", "rhubarb"} <= set(FORMATS)
    assert render(TRACK, "oculus") == to_talkinghead(TRACK)
    assert render(TRACK, "azure") == to_azure(TRACK)
    assert render(TRACK, "polly", text="A pass.") == to_polly(TRACK, "A pass.")
    assert render(TRACK, "rhubarb") == to_rhubarb(TRACK)
    with pytest.raises(ValueError) as err:
        render(TRACK, "viseme-xml")
    for name in ("oculus", "azure", "polly", "rhubarb"):
        assert name in str(err.value)


def test_every_oculus_name_has_a_mapping_in_every_format():
    from avatar_bridge import OCULUS_VISEMES
    track = LipSync([Viseme(n, 10.0 * i, 10.0) for i, n in enumerate(OCULUS_VISEMES)])
    for fmt in FORMATS:
        render(track, fmt)
