"""The suite runs in parallel on its own: two pytest-xdist workers, each with its own
databases, and (when no PostgreSQL answers at TEST_DATABASE_URL) each with its own
throwaway cluster, and `-m "not slow"` leaves out exactly the end-to-end folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY_LISTENS = "postgresql://postgres@127.0.0.1:9/postgres"


def pytest_run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        # The inner run is a run of its own, whether or not this one is a worker.
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.timeout(900)
def test_two_workers_with_throwaway_clusters_pass_a_database_subset() -> None:
    """No PostgreSQL answers at TEST_DATABASE_URL: each worker starts its own cluster, and
    the PostgreSQL half of the subset passes on both workers."""
    done = pytest_run(
        "-n", "2", "-v", "tests/api/test_match_ratio.py", "-k", "documented_form",
        TEST_DATABASE_URL=NOBODY_LISTENS,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "created: 2/2 workers" in done.stdout
    assert "10 passed" in done.stdout
    for worker in ("gw0", "gw1"):
        assert f"[{worker}] [" in done.stdout, f"{worker} ran nothing"
    assert "[postgresql-" in done.stdout


def test_not_slow_leaves_out_exactly_the_end_to_end_folders() -> None:
    done = pytest_run("-q", "-n", "0", "--collect-only", "-m", "slow", "tests")
    assert done.returncode == 0, done.stdout[-3000:]
    slow = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    assert slow, done.stdout[-2000:]
    folders = {path.split("/")[1] for path in slow}
    assert folders == {"chaos", "concurrency", "contract", "e2e"}
