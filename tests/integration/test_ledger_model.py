"""Property test: random sequences of ledger operations agree with a pure-Python model.

Hypothesis draws sequences of transfers, multi-posting entries, holds, full and partial
posts, voids and retries over a handful of accounts (flagged both ways, sharded or not). A
shadow model predicts, before each operation, whether it must succeed or which error it must
raise (a flag, or the balance limit: amounts are drawn small and near MAX_BALANCE); the real
ledger (PostgreSQL and SQLite) must agree exactly, its balances must equal the model's
afterwards, no flag may ever be broken nor any limited account hold more than MAX_BALANCE,
and `verify()` must hold.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.ledger import (
    MAX_BALANCE,
    AccountFlags,
    BalanceLimitExceeded,
    EntryConflict,
    Ledger,
    LedgerError,
    LimitExceeded,
    PendingNotOpen,
    Posting,
)
from app.settings import Settings

DEBIT_LIMITED = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
CREDIT_LIMITED = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
ACCOUNTS = [  # (name, flags, shards)
    ("world", AccountFlags.NONE, 4),
    ("alice", DEBIT_LIMITED, 1),
    ("bob", DEBIT_LIMITED, 3),
    ("carol", DEBIT_LIMITED, 1),
    ("loan", CREDIT_LIMITED, 1),
]
NAMES = [name for name, _, _ in ACCOUNTS]


@dataclass
class Shadow:
    """The model: four balance columns per account and the open holds."""

    columns: dict[str, list[int]] = field(
        default_factory=lambda: {name: [0, 0, 0, 0] for name in NAMES}
    )  # debits_posted, credits_posted, debits_pending, credits_pending
    holds: dict[int, tuple[str, str, int]] = field(default_factory=dict)
    resolved: set[int] = field(default_factory=set)

    def refusals(self, changes: list[tuple[str, int, int]]) -> set[str]:
        """Why applying (account, column, delta) changes must be refused: "flag" where an
        account would break its flag, "limit" where a credit would take it past
        MAX_BALANCE (balance plus pending credits). Empty: the write must succeed. (When
        several accounts fail, the ledger reports the first in its lock order.)"""
        after = {name: list(cols) for name, cols in self.columns.items()}
        for name, column, delta in changes:
            after[name][column] += delta
        refused = set()
        for name, flags, _ in ACCOUNTS:
            dp, cp, dq, cq = after[name]
            d_dp, d_cp, d_dq, d_cq = (
                sum(d for n, c, d in changes if n == name and c == column) for column in range(4)
            )
            if flags == DEBIT_LIMITED:
                broken, holding, rise = (
                    d_dp + d_dq > 0 and dp + dq > cp,
                    cp + cq - dp,
                    d_cp + d_cq - d_dp,
                )
            elif flags == CREDIT_LIMITED:
                broken, holding, rise = (
                    d_cp + d_cq > 0 and cp + cq > dp,
                    dp + dq - cp,
                    d_dp + d_dq - d_cp,
                )
            else:
                continue
            if broken:
                refused.add("flag")
            elif rise > 0 and holding > MAX_BALANCE:
                refused.add("limit")
        return refused

    def apply(self, changes: list[tuple[str, int, int]]) -> None:
        for name, column, delta in changes:
            self.columns[name][column] += delta


def _pair(debit: str, credit: str, amount: int, *, pending: bool) -> list[tuple[str, int, int]]:
    offset = 2 if pending else 0
    return [(debit, offset, amount), (credit, offset + 1, amount)]


# Small amounts, and amounts near the balance limit so that credits meet it.
amounts = st.one_of(st.integers(1, 400), st.integers(MAX_BALANCE - 400, MAX_BALANCE))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("transfer"), st.sampled_from(NAMES), st.sampled_from(NAMES), amounts),
        st.tuples(st.just("split"), st.sampled_from(NAMES), amounts, st.integers(1, 300)),
        st.tuples(st.just("hold"), st.sampled_from(NAMES), st.sampled_from(NAMES), amounts),
        st.tuples(st.just("post"), st.integers(0, 12), st.one_of(st.none(), st.integers(1, 400))),
        st.tuples(st.just("void"), st.integers(0, 12)),
        st.tuples(st.just("retry"), st.integers(0, 30), st.booleans()),
    ),
    min_size=1,
    max_size=30,
)


class Run:
    """One example: a fresh set of accounts, the model, and what was written so far."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.shadow = Shadow()
        self.ids: dict[str, uuid.UUID] = {}
        self.hold_ids: list[uuid.UUID] = []
        self.written: list[tuple[uuid.UUID, Callable[[Ledger, uuid.UUID], Awaitable[Any]]]] = []

    async def tx(self, work: Callable[[Ledger], Awaitable[Any]]) -> Any:
        async def unit(session: AsyncSession) -> Any:
            return await work(Ledger(session))

        return await self.database.transaction(unit)

    async def open(self) -> None:
        owner = uuid.uuid4().hex

        async def work(ledger: Ledger) -> None:
            for name, flags, shards in ACCOUNTS:
                account = await ledger.open_account(
                    code=name, currency="USD", owner_ref=owner, flags=flags, shards=shards
                )
                self.ids[name] = account.id

        await self.tx(work)
        # Fund the limited accounts from the world and the loan from its borrower side.
        for name in ("alice", "bob", "carol"):
            await self.expect(
                _pair("world", name, 500, pending=False),
                lambda ledger, e, n=name: self.transfer(ledger, e, "world", n, 500),
            )
        await self.expect(
            _pair("loan", "world", 300, pending=False),
            lambda ledger, e: self.transfer(ledger, e, "loan", "world", 300),
        )

    async def transfer(
        self, ledger: Ledger, entry_id: uuid.UUID, debit: str, credit: str, amount: int
    ) -> Any:
        return await ledger.transfer(
            entry_id=entry_id,
            debit_account_id=self.ids[debit],
            credit_account_id=self.ids[credit],
            amount=amount,
            kind="model",
        )

    async def expect(
        self,
        changes: list[tuple[str, int, int]],
        write: Callable[[Ledger, uuid.UUID], Awaitable[Any]],
    ) -> bool:
        """Run a write whose outcome the model predicts from its balance changes."""
        refusals = self.shadow.refusals(changes)
        entry_id = uuid.uuid4()
        try:
            await self.tx(lambda ledger: write(ledger, entry_id))
        except LimitExceeded:
            assert "flag" in refusals, f"refused for its flag a write the model allows: {changes}"
            return False
        except BalanceLimitExceeded:
            assert "limit" in refusals, f"refused for the limit a write within it: {changes}"
            return False
        assert not refusals, f"accepted a write that breaks {refusals}: {changes}"
        self.shadow.apply(changes)
        self.written.append((entry_id, write))
        return True

    async def step(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        if kind == "transfer" and op[1] != op[2]:
            _, debit, credit, amount = op
            await self.expect(
                _pair(debit, credit, amount, pending=False),
                lambda ledger, e: self.transfer(ledger, e, debit, credit, amount),
            )
        elif kind == "split":
            await self.split(op[2], op[3])
        elif kind == "hold" and op[1] != op[2]:
            await self.hold(op[1], op[2], op[3])
        elif kind in ("post", "void") and self.hold_ids:
            await self.resolve(op[1] % len(self.hold_ids), post=kind == "post", amount=op[-1])
        elif kind == "retry" and self.written:
            await self.retry(*self.written[op[1] % len(self.written)], same=op[2])

    async def split(self, to_bob: int, to_carol: int) -> None:
        changes = [
            ("alice", 0, to_bob + to_carol),
            ("bob", 1, to_bob),
            ("carol", 1, to_carol),
        ]

        async def write(ledger: Ledger, entry_id: uuid.UUID) -> Any:
            return await ledger.post_entry(
                entry_id=entry_id,
                kind="split",
                postings=[
                    Posting.debit_of(self.ids["alice"], to_bob + to_carol),
                    Posting.credit_of(self.ids["bob"], to_bob),
                    Posting.credit_of(self.ids["carol"], to_carol),
                ],
            )

        await self.expect(changes, write)

    async def hold(self, debit: str, credit: str, amount: int) -> None:
        async def write(ledger: Ledger, entry_id: uuid.UUID) -> Any:
            return await ledger.hold(
                entry_id=entry_id,
                debit_account_id=self.ids[debit],
                credit_account_id=self.ids[credit],
                amount=amount,
                kind="model_hold",
            )

        if await self.expect(_pair(debit, credit, amount, pending=True), write):
            self.shadow.holds[len(self.hold_ids)] = (debit, credit, amount)
            self.hold_ids.append(self.written[-1][0])

    async def resolve(self, index: int, *, post: bool, amount: int | None) -> None:
        debit, credit, held = self.shadow.holds[index]
        partial = amount if post and amount is not None and amount <= held else None
        entry_id = uuid.uuid4()

        async def write(ledger: Ledger) -> Any:
            if post:
                return await ledger.post_pending(
                    entry_id=entry_id, pending_id=self.hold_ids[index], amount=partial
                )
            return await ledger.void_pending(entry_id=entry_id, pending_id=self.hold_ids[index])

        if index in self.shadow.resolved:
            try:
                await self.tx(write)
            except PendingNotOpen:
                return
            raise AssertionError("a pending entry was resolved twice")
        await self.tx(write)
        self.shadow.resolved.add(index)
        self.shadow.apply(_pair(debit, credit, -held, pending=True))
        if post:
            self.shadow.apply(_pair(debit, credit, partial or held, pending=False))

    async def retry(
        self, entry_id: uuid.UUID, write: Callable[[Ledger, uuid.UUID], Awaitable[Any]], same: bool
    ) -> None:
        """The same entry id again: a no-op with the same content, a conflict without."""
        if same:
            await self.tx(lambda ledger: write(ledger, entry_id))
            return
        try:
            await self.tx(
                lambda ledger: ledger.post_entry(
                    entry_id=entry_id,
                    kind="different",
                    postings=[
                        Posting.debit_of(self.ids["world"], 1),
                        Posting.credit_of(self.ids["alice"], 1),
                    ],
                )
            )
        except EntryConflict:
            return
        raise AssertionError("an entry id was reused for other content")

    async def check(self) -> None:
        async with self.database.read() as session:
            ledger = Ledger(session)
            balances = await ledger.balances(self.ids.values())
            report = await ledger.verify()
        for name, flags, _ in ACCOUNTS:
            balance = balances[self.ids[name]]
            actual = [
                balance.debits_posted,
                balance.credits_posted,
                balance.debits_pending,
                balance.credits_pending,
            ]
            assert actual == self.shadow.columns[name], name
            if flags == DEBIT_LIMITED:
                assert balance.available_credit >= 0
                assert balance.credits_posted + balance.credits_pending <= (
                    MAX_BALANCE + balance.debits_posted
                )
            if flags == CREDIT_LIMITED:
                assert balance.available_debit >= 0
                assert balance.debits_posted + balance.debits_pending <= (
                    MAX_BALANCE + balance.credits_posted
                )
        assert report.ok, report.violations


async def _play(database_url: str, program: list[tuple[Any, ...]]) -> None:
    database = Database.from_settings(Settings(database_url=database_url))
    try:
        run = Run(database)
        await run.open()
        for op in program:
            try:
                await run.step(op)
            except LedgerError as error:
                raise AssertionError(f"unexpected ledger error on {op}: {error!r}") from error
        await run.check()
    finally:
        await database.dispose()


@given(program=operations)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_random_operation_sequences_match_the_model_and_keep_every_invariant(
    database: Database, database_url: str, program: list[tuple[Any, ...]]
) -> None:
    # `database` (not the bare migrated one): emptied first, so verify judges only what
    # these programs wrote, never what a test before it tampered with on purpose.
    # A thread of its own, so this example's event loop never meets the suite's.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _play(database_url, program)).result()
