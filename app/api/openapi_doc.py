"""The OpenAPI document says what the app really answers.

FastAPI documents validation failures as `application/json` `HTTPValidationError`; this
app answers every error as `application/problem+json`. After FastAPI builds the document,
every operation gets the errors any request can meet at the edge (400 malformed JSON, 413,
415 for bodies; 401 when a key is sent and is bad; 422; 429; 503 when the database is
busy or unreachable), all as problem+json, and the
unused default validation schemas are dropped. Clients and schemathesis then read a
contract that holds for every response.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.api.docs import error_responses

BODY_ERRORS = (400, 413, 415)
EVERY_ERROR = (401, 422, 429, 503)
_METHODS = {"get", "post", "put", "patch", "delete"}


def _fix_operation(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    wanted = EVERY_ERROR + (BODY_ERRORS if "requestBody" in operation else ())
    for status, response in error_responses(*wanted).items():
        responses.setdefault(str(status), response)
    responses["422"] = error_responses(422)[422]


def build(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method in _METHODS:
                    _fix_operation(operation)
        components = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: build(app)  # type: ignore[method-assign]
