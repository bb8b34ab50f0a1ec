"""`tributary --help` and each command's --help read cleanly: every option that takes a value
names it (`--port PORT`), nothing shows a type in angle brackets (`--help <bool>`), and no
default is shown that is not the real one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from app.cli import cli

TRIBUTARY = Path(sys.executable).parent / "tributary"  # the console script a newcomer runs
COMMANDS = sorted(typer.main.get_command(cli).commands)  # type: ignore[attr-defined]
TYPE_IN_BRACKETS = re.compile(r"<[a-z][a-z ]*>")
OPTION_LINE = re.compile(r"^\s+(--[a-z-]+)(?: ([A-Z][A-Z_]*))?\s{2,}\S")


def help_of(*command: str) -> str:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(
        [str(TRIBUTARY), *command, "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def options_of(text: str) -> dict[str, str | None]:
    """`--option` -> its metavar (None for a flag), from the Options section."""
    found: dict[str, str | None] = {}
    for line in text.split("Options:", 1)[1].splitlines():
        matched = OPTION_LINE.match(line)
        if matched:
            found[matched[1]] = matched[2]
    return found


def test_the_top_level_help_lists_every_command_with_what_it_does() -> None:
    text = help_of()
    assert TYPE_IN_BRACKETS.search(text) is None, text
    assert text.startswith("Usage: tributary [OPTIONS] COMMAND [ARGS]...")
    assert options_of(text) == {"--help": None}
    listed = text.split("Commands:", 1)[1]
    for name in COMMANDS:
        assert re.search(rf"^  {name}\s{{2,}}[A-Z]\w", listed, re.MULTILINE), (name, text)
    assert "..." not in listed  # no description cut short


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_names_its_values_and_shows_no_types(command: str) -> None:
    text = help_of(command)
    assert TYPE_IN_BRACKETS.search(text) is None, text
    assert text.startswith(f"Usage: tributary {command} [OPTIONS]"), text
    assert "[default: None]" not in text
    assert "╭" not in text  # plain text: readable in a pipe, a log or a screen reader
    options = options_of(text)
    assert options["--help"] is None
    for option, metavar in options.items():
        if option != "--help":
            assert metavar is not None, (option, text)


def test_serve_and_worker_name_their_values_and_their_real_defaults() -> None:
    serve = help_of("serve")
    assert options_of(serve) == {
        "--host": "ADDRESS",
        "--port": "PORT",
        "--workers": "COUNT",
        "--help": None,
    }
    words = " ".join(serve.split())
    assert "[default: 127.0.0.1]" in words
    assert "[default: 8000; 1<=x<=65535]" in words
    worker = help_of("worker")
    assert options_of(worker) == {"--interval": "SECONDS", "--help": None}
    assert "TRIBUTARY_DUE_WORK_INTERVAL_SECONDS" in worker
