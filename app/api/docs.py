"""OpenAPI declarations of the problem responses each route can give."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from app.api.problems import PROBLEM_MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"loc": {"type": "array", "items": {}}, "msg": {"type": "string"}},
            },
        },
        "limit": {
            "type": "integer",
            "description": "balance_limit: the most one account may hold, in minor units.",
        },
        "requested": {
            "type": "integer",
            "description": "balance_limit: the credit that was refused; insufficient_funds: "
            "the amount the action needs; in minor units.",
        },
        "available": {
            "type": "integer",
            "description": "insufficient_funds: what the wallet (or the eligible pledges) "
            "holds, in minor units.",
        },
        "currency": {
            "type": "string",
            "description": "insufficient_funds: the currency of `available` and `requested`.",
        },
        "balance": {
            "type": "integer",
            "description": "balance_limit: what the account holds now, in minor units (only "
            "when the caller may see it).",
        },
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status documented as problem+json."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status in statuses
    }
