"""Base classes and field types shared by every schema.

Request models forbid unknown fields, so no caller can smuggle in ids, owners, roles or
amounts (mass assignment). Amounts are strict integers: `"100"` and `100.0` are refused.
Every field of every request model, whatever its type, also refuses what no database can
store (see `RequestModel`), so such a value is a 422 naming the field, never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")

MAX_AMOUNT_EXCLUSIVE = 10**15

AmountMinor = Annotated[
    int,
    Strict(),
    Field(gt=0, lt=MAX_AMOUNT_EXCLUSIVE, description="Integer count of minor units, > 0."),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


NUL = "\x00"
_CONTAINERS = (list, tuple, set, frozenset)


def contains_nul(value: object) -> bool:
    """True if a string anywhere in the value (keys included) holds U+0000, which
    PostgreSQL refuses in text and JSON."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, _CONTAINERS):
        return any(contains_nul(item) for item in value)
    return False


def unstorable_instant(value: object) -> bool:
    """True if a datetime anywhere in the value falls outside years 1 to 9999 once in UTC
    (e.g. 9999-12-31T23:59:59-14:00): no engine, nor Python, can hold it as a UTC time."""
    if isinstance(value, datetime):
        try:
            value.astimezone(UTC)
        except OverflowError:
            return True
        return False
    if isinstance(value, dict):
        return any(unstorable_instant(item) for item in value.values())
    if isinstance(value, _CONTAINERS):
        return any(unstorable_instant(item) for item in value)
    return False


class RequestModel(BaseModel):
    """Every request body: unknown fields are a 422, never silently dropped; and no field
    may carry a value the database cannot store (NUL in a string, a time outside years
    1-9999 in UTC), checked here once for every field of every request model."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="wrap")
    @classmethod
    def _storable(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, _info: ValidationInfo
    ) -> Any:
        # The field's own validation first, so its errors (and a nested model's, with their
        # exact location) win. NUL is looked for in the raw input, because parsing may drop
        # it (a URL parser strips trailing control characters); times once they are parsed.
        validated = handler(value)
        if contains_nul(value):
            raise PydanticCustomError(
                "nul_character", "must not contain the NUL character (U+0000)"
            )
        if unstorable_instant(validated):
            raise PydanticCustomError(
                "datetime_out_of_range",
                "must be a time between years 1 and 9999 once converted to UTC",
            )
        return validated


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """A page of a list: follow `next_cursor` until it is null."""

    items: list[T]
    next_cursor: str | None
