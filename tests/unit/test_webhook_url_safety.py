"""Which webhook URLs the platform may call: only hosts whose every address is public unicast,
after unwrapping any IPv4 address that an IPv6 one carries, and only hosts spelled plainly."""

from __future__ import annotations

import ipaddress

import pytest

from app.domain.events import url_safety

REFUSED = [
    # 127.0.0.1 and friends inside IPv6 addresses
    "https://[64:ff9b::7f00:1]/h",  # NAT64 (RFC 6052) of 127.0.0.1
    "https://[2002:7f00:1::]/h",  # 6to4 of 127.0.0.1
    "https://[::127.0.0.1]/h",  # IPv4-compatible (deprecated)
    "https://[::8.8.8.8]/h",  # IPv4-compatible, even of a public address
    "https://[::ffff:127.0.0.1]/h",  # IPv4-mapped
    "https://[::ffff:169.254.169.254]/h",
    "https://[64:ff9b::a9fe:a9fe]/h",  # NAT64 of the cloud metadata address
    "https://[64:ff9b:1::a00:1]/h",  # local-use NAT64 (RFC 8215)
    "https://[2002:a00:1::1]/h",  # 6to4 of 10.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/h",  # Teredo
    "https://[2a00:1450:4001:81c:0:5efe:a00:1]/h",  # ISATAP of 10.0.0.1
    "https://[2a00:1450:4001:81c:200:5efe:7f00:1]/h",  # ISATAP (universal bit) of 127.0.0.1
    # IPv6 that is not global unicast
    "https://[fec0::1]/h",  # site-local (deprecated)
    "https://[::]/h",
    "https://[::1]/h",
    "https://[fc00::1]/h",
    "https://[fd12:3456::1]/h",
    "https://[fe80::1]/h",
    "https://[ff02::1]/h",
    "https://[ff0e::1]/h",
    "https://[100::1]/h",  # discard-only
    "https://[2001:db8::1]/h",  # documentation
    "https://[3fff::1]/h",  # documentation (RFC 9637)
    "https://[2001:2::1]/h",  # benchmarking
    "https://[2001:20::1]/h",  # ORCHIDv2
    # IPv4 that is not public unicast
    "https://0.0.0.0/h",
    "https://0.1.2.3/h",
    "https://10.1.2.3/h",
    "https://100.64.0.1/h",  # shared address space (carrier-grade NAT)
    "https://100.127.255.254/h",
    "https://127.0.0.2/h",
    "https://169.254.169.254/h",
    "https://172.16.0.1/h",
    "https://172.31.255.255/h",
    "https://192.0.0.8/h",  # IETF protocol assignments
    "https://192.0.0.170/h",
    "https://192.0.2.1/h",
    "https://192.88.99.1/h",  # 6to4 relay anycast (deprecated)
    "https://192.168.1.1/h",
    "https://198.18.0.1/h",  # benchmarking
    "https://198.19.255.255/h",
    "https://198.51.100.1/h",
    "https://203.0.113.1/h",
    "https://224.0.0.1/h",
    "https://239.255.255.250/h",
    "https://240.0.0.1/h",
    "https://255.255.255.255/h",
    # other spellings of an IPv4 address (inet_aton reads them all as 127.0.0.1 or 0.0.0.0)
    "https://2130706433/h",
    "https://0x7f.1/h",
    "https://0x7f000001/h",
    "https://0177.0.0.1/h",
    "https://017700000001/h",
    "https://127.1/h",
    "https://0/h",
    "https://localhost/h",
]

ALLOWED = [
    "https://93.184.215.14/h",
    "https://8.8.8.8:8443/h",
    "https://[2606:4700:4700::1111]/h",
    "https://[::ffff:8.8.8.8]/h",  # IPv4-mapped public address
    "https://[64:ff9b::808:808]/h",  # NAT64 of a public address (an IPv6-only network's DNS64)
    "https://[2002:808:808::1]/h",  # 6to4 of a public address
]


@pytest.mark.parametrize("url", REFUSED)
async def test_urls_that_reach_a_non_public_address_are_refused(url: str) -> None:
    with pytest.raises(url_safety.UnsafeUrl):
        await url_safety.check(url, allow_private=False)


@pytest.mark.parametrize("url", ALLOWED)
async def test_urls_of_public_unicast_addresses_are_allowed(url: str) -> None:
    await url_safety.check(url, allow_private=False)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "100.64.0.1",
        "169.254.169.254",
        "192.0.0.8",
        "224.0.0.1",
        "0.0.0.0",  # noqa: S104 (an address under test, not a bind)
    ],
)
def test_every_ipv6_wrapping_of_a_non_public_ipv4_address_is_refused(address: str) -> None:
    inner = int(ipaddress.IPv4Address(address))
    wrapped = {
        "mapped": 0xFFFF << 32 | inner,
        "compatible": inner,
        "nat64": 0x0064_FF9B << 96 | inner,
        "local nat64": 0x0064_FF9B_0001 << 80 | inner,
        "6to4": 0x2002 << 112 | inner << 80 | 1,
        "isatap": 0x2A00_1450_4001_081C << 64 | 0x5EFE << 32 | inner,
    }
    for form, value in wrapped.items():
        ip = ipaddress.IPv6Address(value)
        assert url_safety.refusal(ip) is not None, (form, str(ip))


def test_the_refusal_names_the_range() -> None:
    reason = url_safety.refusal(ipaddress.ip_address("64:ff9b::7f00:1"))
    assert reason is not None
    assert "127.0.0.1" in reason
    assert "loopback" in reason
