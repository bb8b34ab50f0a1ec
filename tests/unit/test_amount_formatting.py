"""Property tests: a formatted amount reads back as exactly the integer it came from."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.money.formatting import format_amount

EXPONENTS = {"USD": 2, "JPY": 0, "BHD": 3, "EUR": 2}


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (3_000_000, "USD", "USD 30,000.00"),
        (5, "USD", "USD 0.05"),
        (-123_405, "USD", "USD -1,234.05"),
        (1_000, "JPY", "JPY 1,000"),
        (1_234_567, "BHD", "BHD 1,234.567"),
        (0, "EUR", "EUR 0.00"),
    ],
)
def test_amounts_read_as_people_write_them(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


@given(st.integers(-(10**15), 10**15), st.sampled_from(sorted(EXPONENTS)))
def test_the_text_reads_back_as_the_same_minor_units(amount: int, currency: str) -> None:
    code, number = format_amount(amount, currency).split(" ")
    assert code == currency
    assert Decimal(number.replace(",", "")).scaleb(EXPONENTS[currency]) == amount


def test_a_code_without_minor_units_is_refused() -> None:
    with pytest.raises(ValueError, match="minor unit"):
        format_amount(1, "XAU")
