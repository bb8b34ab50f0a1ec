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


def json_with_etag(request: Request, model: BaseModel, *, max_age: int = 0) -> Response:
    body = model.model_dump_json().encode("utf-8")
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return body_with_etag(request, body, tag, max_age=max_age)


def body_with_etag(request: Request, body: bytes, tag: str, *, max_age: int = 0) -> Response:
    """A JSON body already rendered, with its tag: 304 when the client holds it."""
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}, must-revalidate"}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
