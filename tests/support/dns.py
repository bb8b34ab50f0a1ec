"""A scripted resolver for tests: chosen names answer from a script, one step per lookup
(the last step repeats), as a hostile DNS server with a zero TTL would; every other name
goes to the real resolver. It replaces `socket.getaddrinfo`, which asyncio, anyio and
therefore httpx all resolve through."""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
from typing import Any

import pytest

Step = tuple[str, ...]  # the addresses of one answer


class ScriptedDns:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, scripts: dict[str, list[Step]]) -> None:
        self.lookups: Counter[str] = Counter()
        real = socket.getaddrinfo

        def getaddrinfo(
            host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
        ) -> Any:
            name = host.decode("ascii") if isinstance(host, bytes) else host
            if name not in scripts:
                return real(host, port, family, type, proto, flags)
            self.lookups[name] += 1
            script = scripts[name]
            step = script[min(self.lookups[name], len(script)) - 1]
            return [self._info(address, int(port or 0)) for address in step]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    @staticmethod
    def _info(address: str, port: int) -> tuple[Any, ...]:
        if ipaddress.ip_address(address).version == 4:
            return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
