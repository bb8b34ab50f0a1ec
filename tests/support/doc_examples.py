"""The examples in README.md and docs/*.md, read as a test reads them.

Two kinds of example are executable: shell blocks that call `curl` (each announced by a
`<!-- tests/... runs the next block -->` comment naming the test that runs it, or `checks`
where the suite cannot run it, as with Docker), and HTTP
exchanges: an ```http block holding a request (`METHOD /path`, headers, a blank line, a JSON
body) followed by an ```http block holding the documented answer (`HTTP/1.1 201 Created`,
headers, a JSON body). The documented answer is a subset of the real one: every field it
shows must be there with that value; "…" stands for any value, and "$NAME" names the value
so later examples can use it (`GET /v1/pledges/$MATCH`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ANY = "…"
VARIABLE = re.compile(r"\$([A-Z][A-Z0-9_]*)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
# "runs": the test runs the block verbatim; "checks": it checks what the block uses, where
# the suite cannot run the block itself (Docker).
MARKER = re.compile(r"<!-- (tests/[\w/]+\.py) (runs|checks) ")
# A page whose http blocks one test runs in order names it once, before the first of them.
PAGE_RUNNER = re.compile(r"<!-- (tests/[\w/]+\.py) runs every http block")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    text: str
    announced_by: str | None  # the test file a marker comment just before it names
    announced_as: str | None = None  # "runs" or "checks"

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass(frozen=True)
class Message:
    """One side of an exchange: a start line, headers, and a JSON body (or None)."""

    start: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass(frozen=True)
class Exchange:
    where: str
    request: Message
    response: Message

    @property
    def method_and_path(self) -> tuple[str, str]:
        method, path = self.request.start.split(" ", 1)
        return method, path.strip()

    @property
    def status(self) -> int:
        return int(self.response.start.split(" ")[1])


def page_runner(path: Path) -> str | None:
    """The test that runs this page's http blocks, as the page's marker comment names it."""
    found = PAGE_RUNNER.search(path.read_text(encoding="utf-8"))
    return found.group(1) if found else None


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        marker = MARKER.search(before) if before.startswith("<!--") else None
        found.append(
            Block(
                path=path,
                line=text[: match.start()].count("\n") + 1,
                language=match.group(1),
                text=match.group(2),
                announced_by=marker.group(1) if marker else None,
                announced_as=marker.group(2) if marker else None,
            )
        )
    return found


def message(text: str) -> Message:
    head, _, body = text.strip("\n").partition("\n\n")
    start, *header_lines = head.splitlines()
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Message(start=start.strip(), headers=headers, body=body.strip())


def exchanges(path: Path) -> list[Exchange]:
    """Every documented request with its answer, in the document's order."""
    http = [block for block in blocks(path) if block.language == "http"]
    found = []
    for index in range(0, len(http), 2):
        request = http[index]
        assert not request.text.startswith("HTTP/"), f"{request.where}: an answer, no request"
        assert index + 1 < len(http), f"{request.where}: a request with no documented answer"
        answer = http[index + 1]
        assert answer.text.startswith("HTTP/1.1 "), f"{answer.where}: not an answer"
        found.append(Exchange(request.where, message(request.text), message(answer.text)))
    return found


def substitute(text: str, bindings: dict[str, str], where: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in bindings, f"{where}: ${name} is not defined by the text or an answer"
        return bindings[name]

    return VARIABLE.sub(value, text)


def differences(expected: Any, actual: Any, bindings: dict[str, str], at: str = "") -> list[str]:
    """How the real answer differs from the documented subset (binding "$NAME" values)."""
    if isinstance(expected, str) and (bound := VARIABLE.fullmatch(expected)):
        name = bound.group(1)
        if name not in bindings:
            bindings[name] = str(actual)
            return [] if actual is not None else [f"{at or 'body'}: null, where ${name} was"]
        expected = bindings[name]
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{at or 'body'}: documented an object, got {json.dumps(actual)}"]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{at}.{key}: documented, but missing")
            else:
                found += differences(value, actual[key], bindings, f"{at}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{at}: documented {json.dumps(expected)}, got {json.dumps(actual)}"]
        return [
            problem
            for index, (want, got) in enumerate(zip(expected, actual, strict=True))
            for problem in differences(want, got, bindings, f"{at}[{index}]")
        ]
    if expected != actual or type(expected) is not type(actual):
        return [f"{at or 'body'}: documented {json.dumps(expected)}, got {json.dumps(actual)}"]
    return []
