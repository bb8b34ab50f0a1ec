"""Batches: many items of one kind in one unit of work, all done or none.

A batch runs in the caller's transaction; when an item is refused, `ItemRefused` names it
and the caller rolls the whole transaction back, so no item of a refused batch leaves a
trace. The API answers the refusal as the item's own error, located at its index.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.domain.errors import DomainError, ItemRefused

MAX_DEPOSITS = 1_000  # a bank statement's import
MAX_PLEDGES = 100  # a funder's portfolio


@contextmanager
def item(index: int) -> Iterator[None]:
    """Work on the batch's item `index`: a domain error it raises refuses the batch."""
    try:
        yield
    except ItemRefused:
        raise
    except DomainError as error:
        raise ItemRefused(index, error) from error
