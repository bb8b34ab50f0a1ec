"""JSON responses with a strong ETag, so dashboards can poll cheaply: an unchanged view
answers 304 with no body."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or tag in (part.strip() for part in header.split(","))


def etag_of(body: bytes) -> str:
    """A strong ETag: the first 128 bits of the body's SHA-256."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def json_with_etag(request: Request, model: BaseModel, *, max_age: int = 0) -> Response:
    body = model.model_dump_json().encode("utf-8")
    return body_with_etag(request, body, etag_of(body), max_age=max_age)


def body_with_etag(request: Request, body: bytes, tag: str, *, max_age: int = 0) -> Response:
    """A JSON body already rendered, with its tag: 304 when the client holds it."""
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}, must-revalidate"}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
