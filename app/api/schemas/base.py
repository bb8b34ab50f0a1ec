"""Base classes and field types shared by every schema.

Request models forbid unknown fields, so no caller can smuggle in ids, owners, roles or
amounts (mass assignment). Amounts are strict integers: `"100"` and `100.0` are refused.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints

T = TypeVar("T")

MAX_AMOUNT_EXCLUSIVE = 10**15

AmountMinor = Annotated[
    int,
    Strict(),
    Field(gt=0, lt=MAX_AMOUNT_EXCLUSIVE, description="Integer count of minor units, > 0."),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class RequestModel(BaseModel):
    """Every request body: unknown fields are a 422, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """A page of a list: follow `next_cursor` until it is null."""

    items: list[T]
    next_cursor: str | None
