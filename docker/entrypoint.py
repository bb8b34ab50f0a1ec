"""The image's entry point: refuse an embedded database that would vanish with its container.

The image's default database is the embedded SQLite file /data/tributary.db, and the key
that signs its public ledger log is generated beside it. Unless the directory that holds
them is a mounted volume, both live in the container's own writable layer and are gone
when the container is removed: every balance, and the key that the published tree heads
were signed with. So a `tributary` command that opens such a database refuses to start, in
one line, exit status 2 (as an invalid setting does). Everything else runs as given: a
PostgreSQL DATABASE_URL, commands that open no database (keygen, version, openapi, --help),
any other program. The command then takes this process's place (exec), so it is PID 1
and receives the container's SIGTERM itself.

Where the database and key are comes from the app's own settings (app/settings.py,
app/signing_key.py), so this can never disagree with the process it starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

NO_DATABASE = frozenset({"keygen", "version", "openapi"})
IsMount = Callable[[str], bool]


def on_a_volume(path: str, is_mount: IsMount = os.path.ismount) -> bool:
    """Whether `path` (existing or not yet) lies under a mount point other than `/`."""
    current = Path(path).resolve()
    for directory in (current, *current.parents):
        if directory != directory.parent and is_mount(str(directory)):
            return True
    return False


def _opens_embedded_database(argv: Sequence[str]) -> bool:
    if len(argv) < 2 or Path(argv[0]).name != "tributary":
        return False
    return argv[1] not in NO_DATABASE and not any(arg in {"--help", "-h"} for arg in argv)


def refusal(argv: Sequence[str], is_mount: IsMount = os.path.ismount) -> str | None:
    """Why `argv` must not run in this container, or None when it may."""
    if not _opens_embedded_database(argv):
        return None
    from app.settings import SettingsError, load_settings
    from app.signing_key import key_file

    try:
        settings = load_settings()
    except SettingsError:
        return None  # the command itself says, in one line, which setting is wrong
    if not settings.is_sqlite:
        return None
    files = [Path(settings.database_url.split(":///", 1)[1])]
    if settings.ledger_sealing and settings.ledger_signing_key is None:
        files.append(key_file(settings))
    lost = [str(file) for file in files if not on_a_volume(str(file.parent), is_mount)]
    if not lost:
        return None
    return (
        f"{' and '.join(lost)} would live inside this container and vanish with it: "
        "mount a volume there (docker run -v tributary-data:/data ...), "
        "or set DATABASE_URL to a PostgreSQL database"
    )


def main(argv: Sequence[str], is_mount: IsMount = os.path.ismount) -> None:
    if not argv:
        print("tributary-entrypoint: no command given", file=sys.stderr)
        sys.exit(2)
    refused = refusal(argv, is_mount)
    if refused is not None:
        print(f"tributary-entrypoint: {refused}", file=sys.stderr)
        sys.exit(2)
    os.execvp(argv[0], list(argv))  # noqa: S606 - the container's command, as given


if __name__ == "__main__":
    main(sys.argv[1:])
