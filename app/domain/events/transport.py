"""The HTTP connections of webhook deliveries go only to addresses that were checked.

Checking a URL and then letting an HTTP client connect resolves its host twice, and a
hostile DNS server (zero TTL) can answer a public address to the check and 127.0.0.1 to
the connection: DNS rebinding. So deliveries use a connection pool (httpcore, the engine
under httpx, which takes a network backend where httpx's client does not) whose backend
resolves the host once, refuses it unless every address of that answer is public, and
dials only those addresses. Everything above TCP still uses the host name: TLS sends it as
SNI and verifies the certificate against it, and the Host header carries it, exactly as a
client that resolved the name itself. No proxy is used (a proxy would resolve the name on
its own) and redirects are never followed (httpcore does not follow them).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from app.domain.events import url_safety

MAX_ADDRESSES_DIALLED = 3  # of one answer, in the resolver's order, until one connects

# What a failed delivery can raise besides UnsafeUrl; each is recorded as the attempt's error.
DELIVERY_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpx.InvalidURL,
)


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Connects to what it checked: one resolution, every address judged, then a dial to
    an address of that same answer (never to the name, which would resolve again)."""

    def __init__(
        self, *, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._allow_private = allow_private
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await url_safety.resolve(host, port)
        if not self._allow_private:
            url_safety.require_public(host, addresses)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses[:MAX_ADDRESSES_DIALLED]:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None  # resolve() answers at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are delivered over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def connection_pool(*, allow_private: bool) -> httpcore.AsyncConnectionPool:
    """The pool of one delivery round. TLS trusts what httpx trusts by default (certifi's
    roots, or SSL_CERT_FILE / SSL_CERT_DIR when set)."""
    return httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=CheckedBackend(allow_private=allow_private),
    )


def target(url: str) -> httpcore.URL:
    """The URL as httpx would send it (IDNA host, percent-encoded path), or InvalidURL."""
    parsed = httpx.URL(url)
    return httpcore.URL(
        scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path
    )
