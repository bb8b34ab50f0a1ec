"""Real uvicorn servers in their own OS processes, for tests of several app instances."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import ADMIN_TOKEN
from tests.support.signing import SIGNING_KEY


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "TRIBUTARY_ADMIN_TOKEN": ADMIN_TOKEN,
        "TRIBUTARY_LOG_LEVEL": "WARNING",
        "TRIBUTARY_RATE_LIMIT_PER_SECOND": "0",
        # One key for every instance, as a real deployment has (PostgreSQL refuses to start
        # without one); "" unsets it.
        "TRIBUTARY_LEDGER_SIGNING_KEY": SIGNING_KEY,
    }
    if os.environ.get("PYTHONPATH"):  # the child runs the code under test, from any folder
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra)
    return env


def start_server(database_url: str, log_dir: Path, port: int | None = None, **extra: str) -> Server:
    port = port or free_port()
    log_path = log_dir / f"server-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=server_env(database_url, **extra),
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = Server(port, process, log_path)
    wait_ready(server)
    return server


def wait_ready(server: Server, timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited; log:\n{server.log_path.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready; log:\n{server.log_path.read_text()}")


def stop_server(server: Server, sig: int = signal.SIGTERM) -> None:
    if server.process.poll() is None:
        server.process.send_signal(sig)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextmanager
def servers(
    database_url: str, log_dir: Path, count: int = 2, **extra: str
) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for _ in range(count):
            started.append(start_server(database_url, log_dir, **extra))
        yield started
    finally:
        for server in started:
            stop_server(server)
