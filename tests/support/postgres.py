"""A PostgreSQL server for the test run: the configured one, or a throwaway cluster.

`TEST_DATABASE_URL` (default: the local server with trust auth) is used when it answers.
When nothing answers there, the suite starts its own cluster from the machine's PostgreSQL
binaries in a temporary directory, on a free port, and removes it at the end, so the suite
runs on any machine that has PostgreSQL installed, server running or not.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def configured_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


def _plain(url: str) -> str:
    """psycopg wants libpq URLs: drop SQLAlchemy's +driver suffix."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def answers(url: str) -> bool:
    try:
        with psycopg.connect(_plain(url), connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not found:
        raise RuntimeError("no PostgreSQL server binaries (initdb) found on this machine")
    return Path(found[0]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; run them as the postgres user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a private PostgreSQL cluster and yield its superuser URL."""
    bindir = _bindir()
    workdir = Path(tempfile.mkdtemp(prefix="tributary-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, user="postgres")
    datadir, port = workdir / "data", _free_port()
    subprocess.run(
        _as_postgres_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    )
    subprocess.run(
        _as_postgres_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-o",
                options,
                "-l",
                str(workdir / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while not answers(url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"throwaway PostgreSQL did not start; see {workdir / 'log'}")
            time.sleep(0.2)
        yield url
    finally:
        subprocess.run(
            _as_postgres_user(
                [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """The configured server if it answers, else a throwaway cluster."""
    url = configured_url()
    if answers(url):
        yield _plain(url)
        return
    with throwaway_cluster() as started:
        yield started


def create_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return parts._replace(path=f"/{name}").geturl()


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
