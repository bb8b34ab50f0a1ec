"""Cursor pagination: opaque cursors and the shared `limit` parameter."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query

from app.domain.errors import Unprocessable

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1-200).")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
]


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise Unprocessable(
            "The cursor is not one this API issued.", code="invalid_cursor"
        ) from None


def decode_int_cursor(cursor: str | None) -> int | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    if not position.isdigit() or len(position) > 19:
        raise Unprocessable("The cursor is not one this API issued.", code="invalid_cursor")
    return int(position)


def encode_position(created_at: datetime, item_id: uuid.UUID) -> str:
    """A cursor after the item with this creation time and id (lists ordered by both)."""
    return encode_cursor(f"{created_at.isoformat()}|{item_id}")


def decode_position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        stamp, raw_id = position.split("|", 1)
        return datetime.fromisoformat(stamp), uuid.UUID(raw_id)
    except ValueError:
        raise Unprocessable(
            "The cursor is not one this API issued.", code="invalid_cursor"
        ) from None
