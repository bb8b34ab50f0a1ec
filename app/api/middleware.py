"""The edge of the HTTP stack: everything every request goes through, in one ASGI layer.

It assigns the request id (echoed as `X-Request-ID`), bounds the body size (413), insists on
JSON for bodies (415), records metrics, one access-log line and the audit record of each
state-changing request (before the response leaves), and turns any exception that
escaped the app into a 500 problem that reveals nothing of the internals. Being a plain ASGI
middleware (not BaseHTTPMiddleware) it streams nothing through extra tasks and keeps the
request id context visible to the code it wraps.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.audit import record_request
from app.api.metrics import UNMATCHED_ROUTE, observe
from app.api.problems import problem_response
from app.logs import request_id_var

access_log = logging.getLogger("tributary.access")
error_log = logging.getLogger("tributary.errors")

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyTooLarge(Exception):
    """The client sent more bytes than the configured limit."""


def _request_id_from(headers: Headers) -> str:
    supplied = headers.get(REQUEST_ID_HEADER, "")
    return supplied if _VALID_REQUEST_ID.match(supplied) else uuid.uuid4().hex


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class EdgeMiddleware:
    """Request id, body limit, content type, metrics, access log and the last-resort 500."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = _request_id_from(headers)
        request_id_var.set(request_id)
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
                await record_request(scope, message["status"], request_id)
            await send(message)

        try:
            await self._handle(scope, receive, send_with_id, headers)
        except Exception:
            error_log.exception("unhandled error answering %s %s", scope["method"], scope["path"])
            if not state["started"]:
                response = problem_response(
                    status=500,
                    code="internal_error",
                    detail=f"An unexpected error occurred; quote request id {request_id}.",
                )
                await response(scope, receive, send_with_id)
        finally:
            self._record(scope, state["status"], time.perf_counter() - started)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._reject_size(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read_body(receive)
        except BodyTooLarge:
            await self._reject_size(scope, receive, send)
            return
        if body and not _is_json(headers.get("content-type", "")):
            response = problem_response(
                status=415,
                code="unsupported_media_type",
                detail="Request bodies must be JSON sent as Content-Type: application/json.",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _reject_size(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            status=413,
            code="payload_too_large",
            detail=f"Request bodies are limited to {self.max_body_bytes} bytes.",
        )
        await response(scope, receive, send)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
        observe(scope["method"], route, status, seconds)
        access_log.info(
            "%s %s %s",
            scope["method"],
            scope["path"],
            status,
            extra={"status": status, "duration_ms": round(seconds * 1000, 2), "route": route},
        )


def _replay(body: bytes, downstream: Receive) -> Receive:
    """A receive callable that hands the already-read body to the app once, then waits for
    the client's real disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await downstream()

    return receive
