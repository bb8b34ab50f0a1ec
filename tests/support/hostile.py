"""Hostile probes generated from the app's OpenAPI document.

Given an operation's request body schema and a valid example body, `body_probes` yields one
body per hostile value and per field: NUL in every string field (nested objects and list
items included, optional fields added), out-of-range instants in every date-time field, and
huge integers in every integer field; `query_probes` does the same for query parameters, and
feeds garbage cursors to the paging parameters. Each probe names the location that the
problem must point at, so a test can check that the refusal names the field.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, text

from app.db import Database

NUL = "\x00"
# Year 10000 in UTC, and year 0 in UTC: valid RFC 3339 text that no engine can store.
BAD_INSTANTS = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")
HUGE_INTEGERS = (2**63, 10**30, -(2**63) - 1)
CURSOR_PARAMETERS = frozenset({"cursor", "after"})
_UUID = "00000000-0000-4000-8000-000000000000"


def _b64(text_value: str) -> str:
    return base64.urlsafe_b64encode(text_value.encode()).decode().rstrip("=")


GARBAGE_CURSORS = (
    _b64(f"9999-12-31T23:59:59-14:00|{_UUID}"),  # year 10000 in UTC
    _b64(f"0001-01-01T00:00:00+14:00|{_UUID}"),  # year 0 in UTC
    _b64(f"2024-01-01T00:00:00|{_UUID}"),  # naive
    _b64("\u00b2"),  # "²".isdigit() is true, int("²") fails
    _b64("9999999999999999999"),  # 19 digits, above the largest bigint
    _b64("1" * 40),
    _b64("-1"),
    _b64(f"2024-01-01T00:00:00+00:00|{_UUID}{NUL}"),
    _b64(NUL),
    "not a cursor at all",
    "\u00b2",
    "9999999999999999999",
    NUL,
    "=",
)


@dataclass(frozen=True)
class Probe:
    """One hostile request: what is sent, and which location the refusal must name."""

    kind: str  # "nul", "instant", "integer" or "cursor" (the answer must be invalid_cursor)
    label: str
    body: Any = None
    query: dict[str, str] | None = None
    loc: tuple[str | int, ...] = ()


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _branches(schema: dict[str, Any], document: dict[str, Any]) -> list[dict[str, Any]]:
    schema = resolve(schema, document)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return [b for option in options for b in _branches(option, document)]
    return [] if schema.get("type") == "null" else [schema]


def leaves(
    schema: dict[str, Any], document: dict[str, Any], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every scalar slot of the schema as (path, kind); kind is string, date-time or integer;
    a list contributes its first item."""
    kinds: set[str] = set()
    for branch in _branches(schema, document):
        kind = branch.get("type")
        if kind == "object":
            for name, child in branch.get("properties", {}).items():
                yield from leaves(child, document, (*path, name))
        elif kind == "array":
            yield from leaves(branch.get("items", {}), document, (*path, 0))
        elif kind == "string":
            kinds.add("date-time" if branch.get("format") == "date-time" else "string")
        elif kind == "integer":
            kinds.add("integer")
    for kind in sorted(kinds):
        yield path, kind


def _get(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _set(body: Any, path: tuple[str | int, ...], leaf: Any) -> Any:
    """A copy of `body` with `leaf` at `path`, creating the containers that are missing."""
    body = copy.deepcopy(body)
    holder = body
    for part, following in zip(path, (*path[1:], None), strict=True):
        fresh: Any = leaf if following is None else ([] if isinstance(following, int) else {})
        if isinstance(part, int):
            if len(holder) <= part:
                holder.append(fresh)
            elif following is None:
                holder[part] = leaf
        elif part not in holder or following is None:
            holder[part] = fresh
        holder = holder[part]
    return body


def _with_nul(current: Any) -> str:
    return f"{current}{NUL}" if isinstance(current, str) else f"has{NUL}nul"


def body_probes(
    schema: dict[str, Any], document: dict[str, Any], example: dict[str, Any]
) -> Iterator[Probe]:
    for path, kind in leaves(schema, document):
        loc = ("body", *path)
        dotted = ".".join(map(str, path))
        if kind in ("string", "date-time"):
            value = _with_nul(_get(example, path))
            yield Probe("nul", f"NUL in {dotted}", body=_set(example, path, value), loc=loc)
        if kind == "date-time":
            for instant in BAD_INSTANTS:
                yield Probe(
                    "instant", f"{instant} in {dotted}", body=_set(example, path, instant), loc=loc
                )
        if kind == "integer":
            for number in HUGE_INTEGERS:
                yield Probe(
                    "integer", f"{number} in {dotted}", body=_set(example, path, number), loc=loc
                )


def query_probes(
    parameters: list[dict[str, Any]], document: dict[str, Any], required: dict[str, str]
) -> Iterator[Probe]:
    for parameter in parameters:
        if parameter["in"] != "query":
            continue
        name = parameter["name"]
        base = {
            p["name"]: required[p["name"]]
            for p in parameters
            if p["in"] == "query" and p.get("required")
        }
        loc = ("query", name)
        if name in CURSOR_PARAMETERS:
            for garbage in GARBAGE_CURSORS:
                yield Probe("cursor", f"?{name}={garbage!r}", query={**base, name: garbage})
            continue
        for _, kind in leaves(parameter["schema"], document):
            if kind in ("string", "date-time"):
                yield Probe("nul", f"NUL in ?{name}", query={**base, name: f"x{NUL}"}, loc=loc)
            if kind == "date-time":
                for instant in BAD_INSTANTS:
                    yield Probe(
                        "instant", f"?{name}={instant}", query={**base, name: instant}, loc=loc
                    )
            if kind == "integer":
                for number in HUGE_INTEGERS:
                    yield Probe(
                        "integer", f"?{name}={number}", query={**base, name: str(number)}, loc=loc
                    )


# Rejected requests are audited on purpose, and reading with a key stamps its last use.
UNTRACKED_TABLES = frozenset({"audit_log", "alembic_version"})
UNTRACKED_COLUMNS = frozenset({"last_used_at"})


async def snapshot(database: Database) -> dict[str, list[str]]:
    """Every row of every table (bar the audit trail), to compare before and after."""
    async with database.engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: {
                table: [c["name"] for c in inspect(sync).get_columns(table)]
                for table in inspect(sync).get_table_names()
                if table not in UNTRACKED_TABLES
            }
        )
        state: dict[str, list[str]] = {}
        for table, names in sorted(columns.items()):
            kept = ", ".join(f'"{name}"' for name in names if name not in UNTRACKED_COLUMNS)
            rows = await connection.execute(text(f'SELECT {kept} FROM "{table}"'))
            state[table] = sorted(repr(tuple(row)) for row in rows)
    return state
