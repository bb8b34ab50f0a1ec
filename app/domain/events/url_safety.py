"""Webhook URLs must not reach inside the platform's network (SSRF).

The rule is an allow rule: an address may be called only when it is public unicast. IPv4
must be outside every special-purpose range (IANA's registry: private, loopback, link-local,
carrier-grade NAT, documentation, benchmarking, multicast, reserved, ...). IPv6 must be
global unicast (2000::/3) outside its special-purpose blocks; an IPv6 address that carries
an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96, 6to4, ISATAP) is judged by the IPv4
address inside it, which must itself be public, since that is where the packets end up.
Forms with no legitimate use for a webhook (IPv4-compatible ::/96, local-use NAT64, Teredo)
are refused whatever they carry. The standard library's `is_global` must agree as well.

A host is resolved once per connection, by `resolve`; `transport.py` checks every address
of that one answer and connects only to those addresses, so a name cannot answer a public
address to the check and an inside one to the connection (DNS rebinding). Registration
runs the same check, to refuse early. Plain http needs the same opt-in as private ranges.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from urllib.parse import urlsplit

from app.domain.errors import Unprocessable

RESOLVE_TIMEOUT_SECONDS = 3.0
MAX_ADDRESSES = 32  # a resolver's answer is far smaller; a hostile one gets cut short

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_v4, _v6 = ipaddress.IPv4Network, ipaddress.IPv6Network

# Every IPv4 range that is not public unicast, with what it is.
_REFUSED_V4 = (
    (_v4("0.0.0.0/8"), "'this network' (0.0.0.0 reaches the local host)"),
    (_v4("10.0.0.0/8"), "private"),
    (_v4("100.64.0.0/10"), "shared address space (carrier-grade NAT)"),
    (_v4("127.0.0.0/8"), "loopback"),
    (_v4("169.254.0.0/16"), "link-local (cloud metadata)"),
    (_v4("172.16.0.0/12"), "private"),
    (_v4("192.0.0.0/24"), "IETF protocol assignments"),
    (_v4("192.0.2.0/24"), "documentation"),
    (_v4("192.88.99.0/24"), "6to4 relay anycast (deprecated)"),
    (_v4("192.168.0.0/16"), "private"),
    (_v4("198.18.0.0/15"), "benchmarking"),
    (_v4("198.51.100.0/24"), "documentation"),
    (_v4("203.0.113.0/24"), "documentation"),
    (_v4("224.0.0.0/4"), "multicast"),
    (_v4("240.0.0.0/4"), "reserved (and broadcast)"),
)
_GLOBAL_UNICAST_V6 = _v6("2000::/3")
# Inside 2000::/3, the blocks that are not public unicast (6to4, 2002::/16, is unwrapped).
_REFUSED_V6 = (
    (_v6("2001::/32"), "Teredo"),
    (_v6("2001::/23"), "IETF protocol assignments"),
    (_v6("2001:db8::/32"), "documentation"),
    (_v6("3fff::/20"), "documentation"),
)
# Outside 2000::/3 everything is refused; these names make the refusal readable.
_NAMED_V6 = (
    (_v6("::/128"), "unspecified"),
    (_v6("::1/128"), "loopback"),
    (_v6("::/96"), "IPv4-compatible (deprecated)"),
    (_v6("64:ff9b:1::/48"), "local-use NAT64"),
    (_v6("100::/64"), "discard-only"),
    (_v6("fc00::/7"), "unique local (private)"),
    (_v6("fe80::/10"), "link-local"),
    (_v6("fec0::/10"), "site-local (deprecated)"),
    (_v6("ff00::/8"), "multicast"),
)
_NAT64 = _v6("64:ff9b::/96")
_SIXTOFOUR = _v6("2002::/16")
_ISATAP_IDS = (0x0000_5EFE, 0x0200_5EFE)  # the interface id's upper half, then an IPv4 address
_LOW_32_BITS = 0xFFFF_FFFF

# A host made only of numbers (decimal, octal, hex) that inet_aton would read as IPv4.
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}", re.I)


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
    host = parts.hostname
    if _NUMERIC_HOST.fullmatch(host.removesuffix(".")) and not _is_dotted_quad(host):
        raise UnsafeUrl(
            f"The webhook host {host!r} is an IPv4 address in an unusual spelling; "
            "write it as four decimal numbers (a.b.c.d)."
        )
    return host, port or (443 if parts.scheme == "https" else 80)


def _is_dotted_quad(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that packets to `ip` are delivered to, for the forms that route
    to one (IPv4-mapped, NAT64, 6to4, ISATAP); None for every other address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & _LOW_32_BITS)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if (int(ip) >> 32) & _LOW_32_BITS in _ISATAP_IDS:
        return ipaddress.IPv4Address(int(ip) & _LOW_32_BITS)
    return None


def _named(ip: IPAddress, table: tuple[tuple[Network, str], ...]) -> str | None:
    for network, name in table:
        if ip in network:
            return f"{name}, {network}"
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not a public unicast address, or None when it is."""
    if isinstance(ip, ipaddress.IPv4Address):
        reason = _named(ip, _REFUSED_V4)
        if reason is None and not ip.is_global:
            reason = "not globally reachable"
        return reason
    if ip.scope_id:
        return "scoped (link-local)"
    inner = _embedded_ipv4(ip)
    if inner is not None:
        inner_reason = refusal(inner)
        if inner_reason is not None:
            return f"carries {inner}: {inner_reason}"
        if ip in _NAT64 or ip in _SIXTOFOUR or ip.ipv4_mapped is not None:
            return None  # the wrapper is only a way to reach the public IPv4 address
    if ip not in _GLOBAL_UNICAST_V6:
        return _named(ip, _NAMED_V6) or "not global unicast (outside 2000::/3)"
    reason = _named(ip, _REFUSED_V6)
    if reason is None and not ip.is_global:
        reason = "not globally reachable"
    return reason


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, once each, in the resolver's order of preference
    (as getaddrinfo returns them, so an IPv6 zone stays attached), or UnsafeUrl."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
        )
    except (OSError, TimeoutError, UnicodeError):
        raise UnsafeUrl(f"The webhook host {host!r} does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))[:MAX_ADDRESSES]
    if not addresses:
        raise UnsafeUrl(f"The webhook host {host!r} does not resolve.")
    return addresses


def require_public(host: str, addresses: list[str]) -> None:
    """UnsafeUrl unless every one of the host's addresses is public unicast."""
    for address in addresses:
        reason = refusal(ipaddress.ip_address(address))
        if reason is not None:
            raise UnsafeUrl(
                f"The webhook host {host!r} resolves to {address}, which is not a public "
                f"address ({reason}); webhooks may only call the public internet."
            )


async def check(url: str, *, allow_private: bool) -> None:
    """Refuse, at registration, a URL whose host is not public now. Delivery checks again,
    at each connection, with the answer it connects to (transport.py)."""
    host, port = parse(url, allow_private=allow_private)
    if allow_private:
        return
    require_public(host, await resolve(host, port))
