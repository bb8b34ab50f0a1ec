"""Words for messages: lists as people write them, money in its currency's units."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import Unprocessable
from app.domain.money.currency import minor_units, spoken, validate_currency
from app.domain.wording import listed, quoted

MONEY = re.compile(r"^([A-Z]{3}) (-?)([0-9]{1,3}(?:,[0-9]{3})*)(?:\.([0-9]+))?$")


@given(st.integers(-(10**15), 10**15), st.sampled_from(["USD", "JPY", "BHD", "EUR", "KES"]))
def test_money_in_words_reads_back_as_the_same_minor_units(amount: int, currency: str) -> None:
    text = spoken(amount, currency)
    found = MONEY.match(text)
    assert found is not None, text
    code, sign, whole, fraction = found.groups()
    exponent = minor_units(currency) or 0
    assert code == currency
    assert len(fraction or "") == exponent
    digits = int(whole.replace(",", "") + (fraction or ""))
    assert (-digits if sign else digits) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [(33_900_000, "USD", "USD 339,000.00"), (1_500, "JPY", "JPY 1,500"), (5, "BHD", "BHD 0.005"),
     (0, "USD", "USD 0.00"), (-1_234_56, "EUR", "EUR -1,234.56")],
)  # fmt: skip
def test_money_in_words(amount: int, currency: str, text: str) -> None:
    assert spoken(amount, currency) == text


@given(st.lists(st.text(alphabet="abc.-_ ", min_size=1, max_size=5), max_size=6))
def test_a_list_in_words_names_every_item_once_and_never_looks_like_python(
    items: list[str],
) -> None:
    text = listed(items)
    assert "[" not in text
    assert "'" not in text
    if len(items) >= 2:
        assert text.endswith(f" and {items[-1]}")
    assert text.count(", ") >= max(0, len(items) - 2)


def test_lists_and_quotes() -> None:
    assert listed([]) == ""
    assert listed(["deadline"]) == "deadline"
    assert listed(["deadline", "threshold_amount"]) == "deadline and threshold_amount"
    assert listed(["a", "b", "c"], conjunction="or") == "a, b or c"
    assert quoted("6.99") == '"6.99"'


def test_a_currency_code_nobody_knows_is_quoted_not_repr() -> None:
    with pytest.raises(Unprocessable) as refused:
        validate_currency("usd")
    assert refused.value.detail == (
        '"usd" is not an ISO 4217 currency code (three capital letters, e.g. USD).'
    )
