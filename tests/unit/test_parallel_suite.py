"""The suite's parallel set-up is what README and .ci/run promise: pytest-xdist in the test
extra, the whole suite by default in parallel, `slow` registered and put on the end-to-end
folders, database names unique per worker."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests import conftest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_xdist_is_a_test_dependency_and_the_default_run_is_parallel() -> None:
    extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    assert any(requirement.startswith("pytest-xdist") for requirement in extra)
    options = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert "-n auto" in options["addopts"]
    assert "--dist loadgroup" in options["addopts"]
    assert any(marker.startswith("slow:") for marker in options["markers"])
    assert "-m" not in options["addopts"].split(), "the default run is the whole suite"


def test_readme_and_ci_run_the_whole_suite() -> None:
    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/pip install -e '.[test]' && .venv/bin/pytest\n" in readme
    assert (ROOT / ".ci" / "run").read_text().count(".venv/bin/pytest\n") == 1


def test_every_end_to_end_folder_exists_and_is_marked_slow() -> None:
    for folder in conftest.SLOW_FOLDERS:
        assert (ROOT / "tests" / folder).is_dir(), folder
    for module in conftest.ONE_WORKER_MODULES:
        assert (ROOT / module).is_file(), module


def test_worker_names_make_database_names_unique_per_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert conftest.worker_name() == "main"
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert conftest.worker_name() == "gw1"


def test_this_run_marks_items_by_folder(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("slow") is None
