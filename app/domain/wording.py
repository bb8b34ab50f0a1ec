"""Pieces of sentences for error messages people read.

A message names things as a person would: "a threshold pledge needs threshold_amount and
deadline", not a Python list; "the role funder", not `'funder'`. The values a program needs
travel beside the words, in the problem's fields. No dependencies, so every domain package
may use it (money in words is `app.domain.money.currency.spoken`).
"""

from __future__ import annotations

from collections.abc import Iterable


def listed(items: Iterable[object], *, conjunction: str = "and") -> str:
    """ "a", "a and b", "a, b and c": each item as text, in the given order."""
    names = [str(item) for item in items]
    if len(names) < 3:
        return f" {conjunction} ".join(names)
    return ", ".join(names[:-1]) + f" {conjunction} " + names[-1]


def quoted(text: str) -> str:
    """A value the caller typed, in double quotes (never Python's repr quoting)."""
    return f'"{text}"'
