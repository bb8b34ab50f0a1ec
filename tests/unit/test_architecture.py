"""The shape of the code, checked: each market table's SQL lives in its repository, and no
two domain packages import each other (import-linter's contracts say the rest)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
STORE = APP / "domain" / "store"

# Mapped classes of the market's tables; SQL over them is written only in app/domain/store.
MARKET_MODELS = (
    "Challenge",
    "ChallengeTarget",
    "Milestone",
    "Pledge",
    "Bid",
    "Swarm",
    "SwarmMember",
    "Claim",
    "Attestation",
    "Payout",
    "AssuranceBonus",
)
SQL_OVER_MODEL = re.compile(
    r"\b(select|update|delete|insert)\(\s*(" + "|".join(MARKET_MODELS) + r")\b"
    r"|\bsession\.(get|refresh|scalars?|execute)\(\s*(" + "|".join(MARKET_MODELS) + r")\b"
)


def _python_files(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "__pycache__" not in p.parts)


def test_market_tables_are_queried_only_in_their_repositories() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _python_files(APP)
        if STORE not in path.parents and not path.is_relative_to(APP / "ledger")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if SQL_OVER_MODEL.search(line)
    ]
    assert not offenders, "SQL over market tables outside app/domain/store:\n" + "\n".join(
        offenders
    )


def _domain_package(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["app", "domain"]:
        return parts[2]
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "app.domain":  # from app.domain import <package>
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_two_domain_packages_import_each_other() -> None:
    depends: dict[str, set[str]] = defaultdict(set)
    for path in _python_files(APP / "domain"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        source = _domain_package(module)
        if source is None or path.parent == APP / "domain":
            continue
        for imported in _imports(path):
            target = _domain_package(imported)
            if target is not None and target != source and (APP / "domain" / target).is_dir():
                depends[source].add(target)
    pairs = sorted(
        (a, b) for a in depends for b in depends[a] if a < b and a in depends.get(b, set())
    )
    assert not pairs, f"domain packages that import each other: {pairs}"


def test_the_domain_sees_only_the_ledgers_public_face() -> None:
    reaching_in = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in _python_files(APP / "domain")
        for module in _imports(path)
        if module.startswith("app.ledger.")
    ]
    assert not reaching_in, "domain modules importing below app.ledger:\n" + "\n".join(reaching_in)
