"""Property tests of how a match ratio is read: every form means the same exact ratio, and
whatever is refused says why, in words."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.pledges.ratio import (
    MAX_MATCH_RATIO,
    RATIO_PATTERN,
    RatioError,
    parse_match_ratio,
    ratio_bps,
)

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
basis_points = st.integers(1, 1_000_000)


@given(basis_points)
def test_the_decimal_number_and_string_forms_read_alike_and_round_trip(bps: int) -> None:
    ratio = Decimal(bps) / 10_000
    text = format(ratio, "f")
    assert parse_match_ratio(text) == ratio
    assert parse_match_ratio(float(text)) == ratio
    assert parse_match_ratio(ratio) == ratio
    assert ratio_bps(parse_match_ratio(text)) == bps


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_matched_to_contributed_is_their_quotient_or_refused_when_inexact(
    matched: int, contributed: int
) -> None:
    exact = Fraction(matched, contributed)
    text = f"{matched}:{contributed}"
    if exact > MAX_MATCH_RATIO or (exact * 10_000).denominator != 1:
        with pytest.raises(RatioError):
            parse_match_ratio(text)
    else:
        assert Fraction(parse_match_ratio(text)) == exact
        assert re.match(RATIO_PATTERN, text)


@given(st.text(max_size=40))
def test_any_text_is_a_ratio_or_a_sentence_never_a_crash(text: str) -> None:
    said = ""
    try:
        ratio = parse_match_ratio(text)
    except RatioError as error:
        said = str(error)
    if said:
        assert said.startswith("match_ratio")
        assert "Decimal(" not in said
        assert "['" not in said
    else:
        assert 0 < ratio <= MAX_MATCH_RATIO
        assert re.match(RATIO_PATTERN, text)


@pytest.mark.parametrize(
    ("written", "ratio"),
    [(1, "1"), (1.0, "1"), ("1", "1"), ("1.5", "1.5"), ("1:1", "1"), ("1:2", "0.5"),
     ("3:4", "0.75"), (0.1, "0.1"), ("100", "100"), ("1:10000", "0.0001")],
)  # fmt: skip
def test_the_documented_forms(written: object, ratio: str) -> None:
    assert parse_match_ratio(written) == Decimal(ratio)


@pytest.mark.parametrize(
    ("written", "says"),
    [
        (10_000, "basis points are not a ratio: 10000 bps is 1.0"),
        ("10000", "basis points are not a ratio"),
        (0, "must be above 0 and at most 100"),
        ("1:0", "matches against nothing contributed"),
        ("1:3", "at most 4 decimal places; 1:3 is not exact in them (the nearest below is 0.3333)"),
        ("1.00001", "at most 4 decimal places"),
        ("one to one", 'matched:contributed such as "1:1"'),
        ("-1", 'got "-1"'),
        (True, "got true"),
        ([1, 1], "got a list"),
        (float("nan"), "got nan"),
    ],
)
def test_refusals_say_what_a_ratio_may_be(written: object, says: str) -> None:
    with pytest.raises(RatioError) as refused:
        parse_match_ratio(written)
    assert says in str(refused.value)


def test_the_published_schema_states_the_same_forms_and_bounds() -> None:
    pledge = json.loads(OPENAPI.read_text())["components"]["schemas"]["PledgeCreate"]
    forms = pledge["properties"]["match_ratio"]["anyOf"][0]["anyOf"]
    number = next(form for form in forms if form["type"] == "number")
    text = next(form for form in forms if form["type"] == "string")
    assert (number["exclusiveMinimum"], number["maximum"]) == (0, float(MAX_MATCH_RATIO))
    assert text["pattern"] == RATIO_PATTERN
    for example in pledge["properties"]["match_ratio"]["anyOf"][0]["examples"]:
        assert parse_match_ratio(example) > 0
