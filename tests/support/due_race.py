"""Due-work runs in processes of their own (tests.support.due_worker), to race them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from typing import Any


def start_due_worker(url: str, moment: datetime, *jobs: str) -> subprocess.Popen[str]:
    """One due-work round at `moment` over `jobs`, in a new process."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.due_worker", url, moment.isoformat(), *jobs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def due_report(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The round's report (its last line of output); the round must have failed nothing."""
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    report = dict(json.loads(out.strip().splitlines()[-1]))
    assert not report["failed"], err
    return report
