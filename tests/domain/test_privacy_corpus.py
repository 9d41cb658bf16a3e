"""Art. 17, both directions on letters as citizens write them (tests/data/privacy_corpus.json): every
personal datum is masked, and case numbers, dates, amounts, article numbers, hotlines and other
numbers that identify nobody stay readable. Masking errs towards hiding, so the cost of a false
mask is counted here, not guessed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from interact.domain import privacy

CORPUS = json.loads((Path(__file__).resolve().parents[1] / "data" / "privacy_corpus.json")
                    .read_text(encoding="utf-8"))["letters"]


def ids(letter: dict) -> str:
    """A readable test id: the letter's first words."""
    return letter["text"][:12]


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    """Every span where `value` occurs in `text`."""
    spans, at = [], text.find(value)
    while at >= 0:
        spans.append((at, at + len(value)))
        at = text.find(value, at + 1)
    return spans


def test_the_corpus_is_large_enough_and_covers_every_kind():
    assert len(CORPUS) >= 30
    assert {label for letter in CORPUS for label, _value in letter["personal"]} == set(privacy.LABELS) - {"manual"}
    assert sum(not letter["personal"] for letter in CORPUS) >= 10  # letters with nothing personal at all
    assert sum(len(letter["readable"]) for letter in CORPUS) >= 50
    for letter in CORPUS:
        for value in [v for _label, v in letter["personal"]] + letter["readable"]:
            assert value in letter["text"], value


@pytest.mark.parametrize("letter", CORPUS, ids=ids)
def test_every_personal_datum_is_masked_with_its_label(letter):
    text = letter["text"]
    assert [[m.label, m.text] for m in privacy.find(text)] == letter["personal"]
    masked = privacy.mask(text)
    for label, value in letter["personal"]:
        assert value not in masked and privacy.MASKS[label] in masked


@pytest.mark.parametrize("letter", CORPUS, ids=ids)
def test_numbers_that_identify_nobody_stay_readable(letter):
    text = letter["text"]
    matches = privacy.find(text)
    for value in letter["readable"]:
        assert value in privacy.mask(text), value
        for start, end in occurrences(text, value):
            assert all(end <= m.start or start >= m.end for m in matches), (value, matches)


def test_over_the_whole_corpus_nothing_is_missed_and_nothing_readable_is_masked():
    missed, masked_wrongly = [], []
    for letter in CORPUS:
        masked = privacy.mask(letter["text"])
        missed += [value for _label, value in letter["personal"] if value in masked]
        masked_wrongly += [value for value in letter["readable"] if value not in masked]
    assert (missed, masked_wrongly) == ([], [])
