"""Webhook URLs must not reach inside the platform's network (SSRF).

A URL is allowed when every address its host resolves to is a public unicast address;
private, loopback, link-local, multicast, reserved and unspecified addresses are refused
unless the deployment allows them explicitly (tests, or an internal-only installation).
The check runs at registration and again before every delivery, so a name that later
resolves somewhere else (DNS rebinding) is still refused. Plain http needs the same opt-in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from app.domain.errors import Unprocessable

RESOLVE_TIMEOUT_SECONDS = 3.0


class UnsafeUrl(Unprocessable):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="webhook_url_refused")


def parse(url: str, *, allow_private: bool) -> tuple[str, int]:
    """The host and port of a well-formed webhook URL, or UnsafeUrl."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("The webhook URL is not a valid URL.") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise UnsafeUrl("Webhook URLs must be absolute https:// URLs.")
    if parts.username or parts.password:
        raise UnsafeUrl("Webhook URLs must not carry credentials.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def _addresses(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError):
        raise UnsafeUrl(f"The webhook host {host!r} does not resolve.") from None
    return sorted({str(info[4][0]) for info in infos})


async def check(url: str, *, allow_private: bool) -> None:
    host, port = parse(url, allow_private=allow_private)
    if allow_private:
        return
    for address in await _addresses(host, port):
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            raise UnsafeUrl(
                f"The webhook host {host!r} resolves to {address}, which is not a public "
                "address; webhooks may only call the public internet."
            )
