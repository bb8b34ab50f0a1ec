"""Pure rules of challenges: SDG targets, regions, and the challenge's state machine.

The state machine is one explicit transition table (DESIGN.md, "Lessons"): anything not in
the table is refused, and tests walk every forbidden transition. (A milestone's table lives
with the rest of its life, in delivery/milestones.py.)
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# The 169 targets of the UN Sustainable Development Goals: per goal, the number of numbered
# targets (g.1 ... g.n) and the letters of its means-of-implementation targets (g.a ...).
SDG_TARGETS_PER_GOAL: dict[int, tuple[int, str]] = {
    1: (5, "ab"),
    2: (5, "abc"),
    3: (9, "abcd"),
    4: (7, "abc"),
    5: (6, "abc"),
    6: (6, "ab"),
    7: (3, "ab"),
    8: (10, "ab"),
    9: (5, "abc"),
    10: (7, "abc"),
    11: (7, "abc"),
    12: (8, "abc"),
    13: (3, "ab"),
    14: (7, "abc"),
    15: (9, "abc"),
    16: (10, "ab"),
    17: (19, ""),
}
_SDG_CODE = re.compile(r"^(\d{1,2})\.(\d{1,2}|[a-d])$")

CHALLENGE_TRANSITIONS: dict[str, dict[str, str]] = {
    "open": {"draft": "open"},
    "close": {"open": "closed"},
    "complete": {"open": "completed", "closed": "completed"},
    "cancel": {"draft": "cancelled", "open": "cancelled", "closed": "cancelled"},
}


@lru_cache(maxsize=1)
def all_sdg_targets() -> frozenset[str]:
    targets: set[str] = set()
    for goal, (numbered, letters) in SDG_TARGETS_PER_GOAL.items():
        targets.update(f"{goal}.{n}" for n in range(1, numbered + 1))
        targets.update(f"{goal}.{letter}" for letter in letters)
    return frozenset(targets)


def is_sdg_target(code: str) -> bool:
    return bool(_SDG_CODE.match(code)) and code in all_sdg_targets()


def sdg_goal(code: str) -> int:
    return int(code.split(".", 1)[0])


def is_region(code: str) -> bool:
    """An ISO 3166-1 alpha-2 country (KE) or an ISO 3166-2 subdivision (KE-30)."""
    if re.fullmatch(r"[A-Z]{2}", code):
        return pycountry.countries.get(alpha_2=code) is not None
    if re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", code):
        return pycountry.subdivisions.get(code=code) is not None  # type: ignore[no-untyped-call]
    return False


def next_state(table: dict[str, dict[str, str]], action: str, current: str) -> str | None:
    """The state `action` leads to from `current`, or None if the table forbids it."""
    return table.get(action, {}).get(current)
