"""SIGTERM lets a request that is in flight finish (and commit) before the server exits."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.support.factories import ADMIN
from tests.support.scratch_db import scratch_database
from tests.support.servers import start_server, stop_server

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def fresh_url(postgres_server_url: str) -> Iterator[str]:
    with scratch_database(postgres_server_url, "shutdown") as url:
        yield url


def _org(http: httpx.Client, role: str) -> tuple[str, dict[str, str]]:
    made = http.post("/v1/orgs", json={"name": f"{role}-{uuid.uuid4().hex[:6]}", "roles": [role]})
    key = http.post(f"/v1/orgs/{made.json()['id']}/api-keys", json={})
    return made.json()["id"], {"Authorization": f"Bearer {key.json()['secret']}"}


def test_sigterm_finishes_the_request_in_flight_then_exits(fresh_url: str, tmp_path: Path) -> None:
    server = start_server(fresh_url, tmp_path)
    try:
        with httpx.Client(base_url=server.url, headers=ADMIN, timeout=30) as http:
            _, steward = _org(http, "steward")
            funder_id, funder = _org(http, "funder")
            http.post(
                f"/v1/orgs/{funder_id}/deposits",
                json={"amount": 500, "currency": "USD", "external_ref": "s"},
            )
            challenge = http.post(
                "/v1/challenges",
                json={"title": "T", "currency": "USD", "sdg_targets": ["6.1"]},
                headers=steward,
            ).json()
            http.post(f"/v1/challenges/{challenge['id']}/open", headers=steward)
        answers: list[httpx.Response] = []
        with psycopg.connect(fresh_url.replace("+asyncpg", "")) as blocker:
            # Hold the challenge's row lock: the pledge below waits on it, in flight.
            blocker.execute("SELECT id FROM challenges FOR UPDATE")

            def pledge() -> None:
                with httpx.Client(base_url=server.url, timeout=60) as client:
                    answers.append(
                        client.post(
                            f"/v1/challenges/{challenge['id']}/pledges",
                            json={"amount": 300, "kind": "direct"},
                            headers=funder,
                        )
                    )

            worker = threading.Thread(target=pledge)
            worker.start()
            time.sleep(1.0)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(1.5)
            assert server.process.poll() is None, "it must wait for the request in flight"
            blocker.rollback()  # release the lock
        worker.join(timeout=30)
        # uvicorn re-raises the signal once it has shut down cleanly, as a shell expects
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Traceback" not in server.log_path.read_text()
        (answer,) = answers
        assert answer.status_code == 201, answer.text
        with psycopg.connect(fresh_url.replace("+asyncpg", "")) as check:
            count = check.execute("SELECT COUNT(*) FROM pledges").fetchone()
        assert count == (1,)
    finally:
        stop_server(server)
