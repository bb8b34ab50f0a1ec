"""The container files keep secrets out of images, data out of containers, and run only
commands that exist.

No Docker engine runs here, so these read the files as Docker does: compose.yaml as YAML
(Compose interpolates `${NAME:?message}` from the environment or a .env file, and stops
with the message when NAME is unset or empty), .dockerignore by Docker's own matching
rules (tests/support/dockerignore.py), the Dockerfile instruction by instruction; every
`tributary` command they run is checked against the real command line.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from typer.main import get_command

from app.cli import cli
from tests.support.dockerignore import DockerIgnore

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"KEY|TOKEN|PASSWORD|SECRET", re.IGNORECASE)
POSTGRES_DATA = "/var/lib/postgresql/data"
KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # 32 zero bytes, base64


# --- reading the files ------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def instructions(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile() if name == keyword]


def exec_form(arguments: str) -> list[str]:
    form = json.loads(arguments)
    assert isinstance(form, list), arguments
    return [str(part) for part in form]


def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(document, dict)
    return document


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, from either of Compose's two spellings."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) for item in raw)
    return {name: "" if value is None else str(value) for name, value in raw.items()}


def running(command: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The compose services whose command is `tributary <command> ...`."""
    for name, service in services().items():
        if service.get("command", [None, None])[:2] == ["tributary", command]:
            yield name, service


def requires_from_environment(value: str, name: str) -> bool:
    """`${NAME:?message}`: Compose stops with the message when NAME is unset or empty."""
    return re.fullmatch(r"\$\{" + re.escape(name) + r":\?[^}]+\}", value) is not None


def entrypoint_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docker_entrypoint", ROOT / "docker/entrypoint.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- .dockerignore -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [  # cases from moby/patternmatcher's own tests: the matcher here is Docker's
        (["*.go"], "fileutils.go", True),
        (["*.db"], "data/x.db", False),
        (["**/*.txt"], "file.txt", True),
        (["**/**/*.txt"], "dir/dir/file.txt", True),
        (["**file"], "dir/dir/file", True),
        (["**/dir"], "dir/file", True),
        (["dir/**"], "dir/dir2/file", True),
        (["abc/**"], "abc", False),
        (["**/.foo"], "bar.foo", False),
        ([".*"], ".foo", True),
        (["a[b-d]e"], "aae", False),
        (["abc?def"], "abcdef", False),
        (["docs", "!docs/README.md"], "docs/README.md", False),
        (["!fileutils.go", "*.go"], "fileutils.go", True),
        (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    ],
)
def test_dockerignore_is_read_by_dockers_rules(
    patterns: list[str], path: str, excluded: bool
) -> None:
    assert DockerIgnore(patterns).excludes(path) is excluded


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".venv/lib/python3.11/site-packages/app.pth",
        "tributary.db",
        "tributary.db-wal",
        "tributary.db-shm",
        "data/tributary.db",
        "app/tributary.db-wal",
        "tributary-signing.key",
        "app/tributary-signing.key",
        "deploy/tls/server.key",
        "migrations/leaked.key",
        ".env",
        "app/.env",
        ".git",
        ".git/HEAD",
        "test-output/dashboard/home.png",
        "app/__pycache__/main.cpython-311.pyc",
        ".pytest_cache/README.md",
        ".mypy_cache/3.11/app/main.data.json",
        ".ruff_cache/content",
        ".hypothesis/examples/x",
        "build/lib/app/main.py",
        "dist/tributary-0.1.0-py3-none-any.whl",
        "tributary.egg-info/PKG-INFO",
        "tests/conftest.py",
    ],
)
def test_dockerignore_keeps_environments_databases_keys_and_caches_out_of_the_context(
    path: str,
) -> None:
    assert DockerIgnore.from_file(ROOT / ".dockerignore").excludes(path), path


def test_dockerignore_keeps_every_file_the_image_copies() -> None:
    ignore = DockerIgnore.from_file(ROOT / ".dockerignore")
    sources = [
        part
        for arguments in instructions("COPY")
        if "--from=" not in arguments
        for part in shlex.split(arguments)[:-1]
        if not part.startswith("--")
    ]
    assert {"pyproject.toml", "README.md", "app", "migrations"} <= set(sources)
    kept = []
    for source in sources:
        top = ROOT / source
        files = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        assert files, f"COPY {source}: nothing there"
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if "__pycache__" in relative.split("/"):
                continue  # compiled locally, rebuilt in the image
            assert not ignore.excludes(relative), f"the image needs {relative}"
            kept.append(relative)
    assert "migrations/script.py.mako" in kept
    assert any(path.startswith("app/templates/") for path in kept)
    assert any(path.startswith("app/static/vendor/") for path in kept)


# --- compose.yaml --------------------------------------------------------------------------


def test_compose_keeps_the_postgresql_data_in_a_named_volume() -> None:
    document = compose()
    (database,) = [
        service
        for service in document["services"].values()
        if str(service.get("image", "")).startswith("postgres:")
    ]
    mounts = [str(volume).split(":") for volume in database["volumes"]]
    named = [name for name, target, *_ in mounts if target == POSTGRES_DATA]
    assert len(named) == 1
    assert named[0] in document["volumes"], "a named volume, declared at the top level"
    assert not named[0].startswith(("/", ".")), "a volume, not a directory of the host"


def test_compose_requires_the_signing_key_and_admin_token_from_the_environment() -> None:
    servers = list(running("serve"))
    workers = list(running("worker"))
    assert servers
    assert workers
    for name, service in servers + workers:
        env = environment(service)
        key = env.get("TRIBUTARY_LEDGER_SIGNING_KEY", "")
        assert requires_from_environment(key, "TRIBUTARY_LEDGER_SIGNING_KEY"), name
        assert env.get("TRIBUTARY_LEDGER_SEALING", "on").lower() != "off", name
        assert env["DATABASE_URL"].startswith("postgresql://"), name
    for name, service in servers:
        token = environment(service).get("TRIBUTARY_ADMIN_TOKEN", "")
        assert requires_from_environment(token, "TRIBUTARY_ADMIN_TOKEN"), name


def test_compose_starts_the_app_and_worker_only_after_the_migration_succeeded() -> None:
    (migration,) = [name for name, _ in running("migrate")]
    migrate = services()[migration]
    assert migrate["command"] == ["tributary", "migrate"]
    assert migrate.get("restart", "no") == "no", "a one-shot step"
    for database, condition in migrate["depends_on"].items():
        assert condition == {"condition": "service_healthy"}
        assert services()[database]["healthcheck"]["test"]
    for name, service in [*running("serve"), *running("worker")]:
        assert service["depends_on"][migration] == {
            "condition": "service_completed_successfully"
        }, name


def test_compose_runs_due_work_in_a_worker_and_not_in_the_app() -> None:
    (app,) = [service for _, service in running("serve")]
    assert environment(app)["TRIBUTARY_DUE_WORK_INTERVAL_SECONDS"] == "0"
    for _, worker in running("worker"):
        assert worker["restart"] in {"always", "unless-stopped"}
        assert worker["healthcheck"] == {"disable": True}, "it serves no /readyz"


def test_compose_and_dockerfile_hard_code_no_secret() -> None:
    for name, service in services().items():
        for variable, value in environment(service).items():
            if SECRET_NAME.search(variable):
                assert requires_from_environment(value, variable), f"{name}: {variable}"
            if variable == "DATABASE_URL":
                password = value.split("://", 1)[1].rsplit("@", 1)[0].partition(":")[2]
                assert requires_from_environment(password, "POSTGRES_PASSWORD"), name
    for keyword in ("ENV", "ARG"):
        for arguments in instructions(keyword):
            assert not SECRET_NAME.search(arguments.split("=")[0]), arguments
    for path in ("compose.yaml", "Dockerfile"):
        text = (ROOT / path).read_text()
        assert not re.search(r"[A-Za-z0-9+/]{43}=", text), f"a signing key in {path}"
        assert "trb_" not in text, f"an API key in {path}"


# --- the Dockerfile ------------------------------------------------------------------------


def test_dockerfile_runs_one_process_as_a_non_root_user_checked_on_readyz() -> None:
    (user,) = instructions("USER")
    assert user not in {"root", "0"}
    names = [name for name, _ in dockerfile()]
    assert names.index("USER") < names.index("CMD")
    command = exec_form(instructions("CMD")[-1])
    assert command[:2] == ["tributary", "serve"]
    assert "--workers" not in command, "one process per container: scale with containers"
    port = command[command.index("--port") + 1]
    (healthcheck,) = instructions("HEALTHCHECK")
    assert f"http://127.0.0.1:{port}/readyz" in healthcheck
    assert port in instructions("EXPOSE")


def test_dockerfile_keeps_the_embedded_database_and_its_key_in_the_data_volume() -> None:
    env = " ".join(instructions("ENV"))
    assert "DATABASE_URL=sqlite+aiosqlite:////data/tributary.db" in env
    assert exec_form(instructions("ENTRYPOINT")[-1]) == [
        "python",
        "/usr/local/bin/tributary-entrypoint",
    ]
    assert "docker/entrypoint.py /usr/local/bin/tributary-entrypoint" in instructions("COPY")


def install_targets(arguments: str) -> list[str]:
    """What a `pip install` names: options and their values (`-r file`) aside."""
    words = shlex.split(arguments)
    targets = []
    for index, word in enumerate(words):
        follows_option = index > 0 and words[index - 1] in {"-r", "--requirement", "-c"}
        if not word.startswith("-") and not follows_option:
            targets.append(word)
    return targets


def test_dockerfile_installs_the_project_as_readme_does() -> None:
    readme = (ROOT / "README.md").read_text()
    readme_install = re.search(r"\.venv/bin/pip install (?:-e )?(\S+)", readme)
    assert readme_install is not None
    target = readme_install.group(1)
    assert target == ".", "the service runs the project without its test extras"
    installs = [
        spec
        for arguments in instructions("RUN")
        for command in arguments.split("&&")
        if "pip install " in command
        for spec in install_targets(command.split("pip install ", 1)[1])
    ]
    assert installs.count(target) == 1, installs
    assert not any("[" in spec for spec in installs), "no extras in the image"


def test_dockerfile_dependency_layer_installs_exactly_pyprojects_dependencies() -> None:
    (layer,) = [arguments for arguments in instructions("RUN") if "tomllib" in arguments]
    words = shlex.split(layer)
    code = words[words.index("-c") + 1]
    printed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert printed == declared
    assert "pip install -r /tmp/requirements.txt" in layer


# --- commands ------------------------------------------------------------------------------


def tributary_commands() -> list[list[str]]:
    commands = [exec_form(arguments) for arguments in instructions("CMD")]
    commands += [service["command"] for service in services().values() if "command" in service]
    return [command for command in commands if command and command[0] == "tributary"]


def test_every_tributary_command_the_containers_run_is_valid() -> None:
    commands = tributary_commands()
    assert len(commands) >= 4, commands  # the image's default; compose's migrate, serve, worker
    executable = shutil.which("tributary", path=str(Path(sys.executable).parent))
    assert executable is not None
    group = get_command(cli)
    for command in commands:
        shown = subprocess.run(
            [executable, *command[1:], "--help"], capture_output=True, text=True, timeout=60
        )
        assert shown.returncode == 0, (command, shown.stderr)
        assert shown.stdout.strip().startswith(f"Usage: tributary {command[1]} "), command
        # --help stops before values are checked: parse them too, as the command would.
        subcommand = group.commands[command[1]]  # type: ignore[attr-defined]
        subcommand.make_context(command[1], list(command[2:]))


# --- the entry point -----------------------------------------------------------------------

DATABASE_SETTINGS = (
    "DATABASE_URL",
    "TRIBUTARY_DATABASE_URL",
    "TRIBUTARY_LEDGER_SIGNING_KEY",
    "TRIBUTARY_LEDGER_SIGNING_KEY_FILE",
    "TRIBUTARY_LEDGER_SEALING",
)


@pytest.fixture
def container_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set the container's environment: only the given database settings."""

    def set_env(**values: str) -> None:
        for name in DATABASE_SETTINGS:
            monkeypatch.delenv(name, raising=False)
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def on_mounts(*mounts: str) -> Callable[[str], bool]:
    return lambda path: path in mounts


@pytest.mark.parametrize(
    ("url", "mounts"),
    [
        ("sqlite+aiosqlite:////data/tributary.db", ()),
        ("sqlite:////srv/db/tributary.db", ("/data",)),
    ],
)
@pytest.mark.parametrize("command", ["serve", "worker", "migrate", "demo", "verify"])
def test_entrypoint_refuses_an_embedded_database_that_would_vanish_with_the_container(
    container_env: Callable[..., None], url: str, mounts: tuple[str, ...], command: str
) -> None:
    container_env(DATABASE_URL=url)
    database = url.rsplit("///", 1)[1]
    refusal = entrypoint_module().refusal(["tributary", command], on_mounts(*mounts))
    assert refusal is not None
    assert database in refusal
    assert str(Path(database).parent / "tributary-signing.key") in refusal
    assert "-v tributary-data:/data" in refusal
    assert "DATABASE_URL" in refusal


@pytest.mark.parametrize(
    ("argv", "url", "mounts"),
    [
        (["tributary", "serve"], "sqlite+aiosqlite:////data/tributary.db", ("/data",)),
        (["/usr/local/bin/tributary", "demo"], "sqlite:////data/db/tributary.db", ("/data",)),
        (["tributary", "worker"], "postgresql://tributary:pw@db/tributary", ()),
        (["tributary", "migrate"], "postgresql://tributary:pw@db/tributary", ()),
        (["tributary", "keygen"], "sqlite:////data/tributary.db", ()),
        (["tributary", "version"], "sqlite:////data/tributary.db", ()),
        (["tributary", "openapi"], "sqlite:////data/tributary.db", ()),
        (["tributary", "--help"], "sqlite:////data/tributary.db", ()),
        (["tributary", "serve", "--help"], "sqlite:////data/tributary.db", ()),
        (["python", "-c", "print(1)"], "sqlite:////data/tributary.db", ()),
        (["tributary", "serve"], "mysql://nobody@db/x", ()),  # the command says what is wrong
    ],
)
def test_entrypoint_lets_through_volumes_postgresql_and_commands_without_a_database(
    container_env: Callable[..., None], argv: list[str], url: str, mounts: tuple[str, ...]
) -> None:
    container_env(DATABASE_URL=url)
    assert entrypoint_module().refusal(argv, on_mounts(*mounts)) is None


def test_entrypoint_refuses_a_generated_key_outside_a_volume(
    container_env: Callable[..., None],
) -> None:
    entrypoint = entrypoint_module()
    serve = ["tributary", "serve"]
    url = "sqlite:////data/tributary.db"
    container_env(DATABASE_URL=url, TRIBUTARY_LEDGER_SIGNING_KEY_FILE="/srv/tributary/s.key")
    refusal = entrypoint.refusal(serve, on_mounts("/data"))
    assert refusal is not None
    assert refusal.startswith("/srv/tributary/s.key would live inside this container")
    container_env(DATABASE_URL=url, TRIBUTARY_LEDGER_SEALING="off")
    assert entrypoint.refusal(serve, on_mounts()) is not None, "the database still vanishes"
    assert entrypoint.refusal(serve, on_mounts("/data")) is None
    container_env(DATABASE_URL="sqlite:////data/tributary.db", TRIBUTARY_LEDGER_SIGNING_KEY=KEY)
    refusal = entrypoint.refusal(serve, on_mounts())
    assert refusal is not None
    assert "signing.key" not in refusal, "a key from the environment is not on disk"


def test_entrypoint_says_why_in_one_line_and_exits_2(
    container_env: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    container_env(DATABASE_URL="sqlite:////data/tributary.db")
    with pytest.raises(SystemExit) as exited:
        entrypoint_module().main(["tributary", "serve"], on_mounts())
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("tributary-entrypoint: /data/tributary.db and ")
    assert error.count("\n") == 1


def test_entrypoint_runs_the_command_in_its_own_place() -> None:
    """exec, not a child: the command is the container's PID 1 and gets its SIGTERM."""
    started = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "docker/entrypoint.py"),
            sys.executable,
            "-c",
            "import os, sys; print(os.getpid()); sys.exit(7)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    printed, _ = started.communicate(timeout=60)
    assert started.returncode == 7
    assert printed.strip() == str(started.pid)
