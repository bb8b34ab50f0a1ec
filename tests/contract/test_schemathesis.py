"""Schemathesis against the committed OpenAPI document (openapi/openapi.json), on a real
server process over each database engine: every operation, as the admin and as an
organisation holding every role, with generated valid and invalid input. No response may be
a server error, and every response must match what the document declares: status code,
content type, body schema, headers (including `Allow` on 405).

Checks about the *input* side are left out on purpose: `positive_data_acceptance` expects
every schema-valid request to succeed, but random ids rightly get 404 and random transitions
409; `negative_data_rejection` and `missing_required_header` cannot hold when the test adds
the credentials itself (the credential rules have their own matrix, test_authz_matrix.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
)

from app.db import Database
from tests.support.factories import ADMIN, bearer
from tests.support.servers import Server, server_env, start_server, stop_server

OPENAPI = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
EXAMPLES = int(os.environ.get("TRIBUTARY_SCHEMATHESIS_EXAMPLES", "15"))
EXCLUDED = [positive_data_acceptance, negative_data_rejection, missing_required_header]

schema = schemathesis.openapi.from_path(OPENAPI)
HYPOTHESIS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@pytest.fixture(scope="module")
def live(
    database_url: str, migrated_database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, str]]:
    """A server over the run's database holding the demo market, and a key of an
    organisation with every role."""
    folder = tmp_path_factory.mktemp("schemathesis")
    seeded = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo"],
        env=server_env(database_url),
        capture_output=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr.decode()
    server = start_server(database_url, folder)
    try:
        with httpx.Client(base_url=server.url, headers=ADMIN, timeout=10) as http:
            roles = ["funder", "actor", "verifier", "steward"]
            org = http.post("/v1/orgs", json={"name": f"all-{folder.name}", "roles": roles})
            key = http.post(f"/v1/orgs/{org.json()['id']}/api-keys", json={})
            deposit = {"amount": 10**9, "currency": "USD", "external_ref": f"st-{folder.name}"}
            http.post(f"/v1/orgs/{org.json()['id']}/deposits", json=deposit)
        yield server, str(key.json()["secret"])
    finally:
        stop_server(server)


def _check(case: Any, server: Server, headers: dict[str, str]) -> None:
    response = case.call_and_validate(
        base_url=server.url, headers=headers, excluded_checks=EXCLUDED, timeout=30
    )
    assert response.status_code < 500


@schema.parametrize()
@HYPOTHESIS
def test_as_the_admin(case: Any, live: tuple[Server, str]) -> None:
    _check(case, live[0], ADMIN)


@schema.parametrize()
@HYPOTHESIS
def test_as_an_organisation_with_every_role(case: Any, live: tuple[Server, str]) -> None:
    _check(case, live[0], bearer(live[1]))
