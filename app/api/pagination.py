"""Cursor pagination: opaque cursors and the shared `limit` parameter.

A cursor comes back from the client, so it is input like any other: whatever it decodes
to, a cursor this API did not issue is a 422 `invalid_cursor`, never a value handed on to
the database (a date outside what it stores, a naive time, a number beyond a bigint).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from app.domain.errors import Unprocessable

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_ROW_ID = 2**63 - 1  # the largest bigint: row ids beyond it were never issued

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-200).")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
]
_ROW_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits only: "²".isdigit() is true


def _invalid() -> Unprocessable:
    return Unprocessable("The cursor is not one this API issued.", code="invalid_cursor")


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise _invalid() from None


def decode_int_cursor(cursor: str | None) -> int | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    if not _ROW_ID.fullmatch(position) or int(position) > MAX_ROW_ID:
        raise _invalid()
    return int(position)


def encode_position(created_at: datetime, item_id: uuid.UUID) -> str:
    """A cursor after the item with this creation time and id (lists ordered by both)."""
    return encode_cursor(f"{created_at.isoformat()}|{item_id}")


def decode_position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (UTC creation time, id) of an issued cursor; anything else is `invalid_cursor`."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        stamp, raw_id = position.split("|", 1)
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:  # issued cursors always carry the offset
            raise ValueError("naive time")
        return created_at.astimezone(UTC), uuid.UUID(raw_id)
    except (ValueError, OverflowError):
        raise _invalid() from None


def decode_uuid_cursor(cursor: str | None) -> uuid.UUID | None:
    """A cursor that is the id of the last item seen (the event feed's `after`)."""
    if cursor is None:
        return None
    try:
        return uuid.UUID(cursor)
    except ValueError:
        raise _invalid() from None
