import pytest

from voices.english_numbers import cardinal, ordinal, year
from voices.normalize_en import normalize, spoken

NUMBERS = [
    (cardinal, 0, "zero"), (cardinal, 15, "fifteen"), (cardinal, 40, "forty"), (cardinal, 101, "one hundred one"),
    (cardinal, 1200, "one thousand two hundred"), (cardinal, 12500, "twelve thousand five hundred"),
    (cardinal, 2_000_005, "two million five"), (ordinal, 1, "first"), (ordinal, 22, "twenty-second"),
    (ordinal, 28, "twenty-eighth"), (ordinal, 30, "thirtieth"), (ordinal, 12, "twelfth"),
    (year, 2026, "twenty twenty-six"), (year, 2005, "two thousand five"), (year, 1990, "nineteen ninety"),
]

TEXTS = [
    ("$1,200.50", "one thousand two hundred dollars and fifty cents"),
    ("$1", "one dollar"),
    ("$0.50", "fifty cents"),
    ("$1.5 million", "one point five million dollars"),
    ("¥12,500.00", "twelve thousand five hundred yuan"),
    ("¥12.05", "twelve yuan and five fen"),
    ("RMB 500", "five hundred yuan"),
    ("500 RMB", "five hundred yuan"),
    ("€20", "twenty euros"),
    ("3.5%", "three point five percent"),
    ("rate 0.35% p.a.", "rate zero point three five percent per year."),
    ("2026-11-28", "November twenty-eighth, twenty twenty-six"),
    ("by Nov 28.", "by November twenty-eighth."),
    ("on 28 November 2026", "on November twenty-eighth, twenty twenty-six"),
    ("9:00", "nine a.m."),
    ("17:30", "five thirty p.m."),
    ("9am", "nine a.m."),
    ("12:05 pm", "twelve oh five p.m."),
    ("open 9:00-17:00", "open nine a.m. to five p.m."),
    ("3-5 working days", "three to five working days"),
    ("call 400-000-0000", "call four zero zero, zero zero zero, zero zero zero zero"),
    ("hotline 95588", "hotline nine five five eight eight"),
    ("the card ending in 1234", "the card ending in one two three four"),
    ("card 6222 0212 3456 7890 is blocked", "card ending in seven eight nine zero is blocked"),
    ("card 6222021234567890123", "card ending in zero one two three"),
    ("ATM and APP", "A.T.M and app"),
    ("your ETC card", "your E.T.C card"),
    ("your ID and PIN", "your I.D and pin"),
    ("since 2020", "since twenty twenty"),
    ("2000 customers", "two thousand customers"),
    ("fees, etc.", "fees, et cetera."),
    ("Hello there.", "Hello there."),
]


@pytest.mark.parametrize("fn,n,expected", NUMBERS)
def test_number_words(fn, n, expected):
    assert fn(n) == expected


@pytest.mark.parametrize("text,expected", TEXTS)
def test_normalize_table(text, expected):
    assert normalize(text) == expected


def test_written_words_are_kept_beside_their_spoken_form():
    said = spoken("Pay $1,200.50 by Nov 28, card 6222 0212 3456 7890.")
    assert [w.written for w in said.words] == ["Pay", "$1,200.50", "by", "Nov 28", "card", "****7890"]
    for word, offset in zip(said.words, said.offsets):
        assert said.text[offset : offset + len(word.spoken)] == word.spoken
    assert "6222" not in said.text  # the card number is never spoken
