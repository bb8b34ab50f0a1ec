"""Funding-flow rollup: one row per (challenge, source node, target node), backfilled from
the journal so that an existing database starts with totals equal to its ledger; and a
partial index of the pledges that still hold money, so settling new money reads only them.

Revision ID: 0007_flow_totals
Revises: 0006_delivery
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.domain.flows import derive  # pure: maps ledger lines to flows, no I/O

revision: str = "0007_flow_totals"
down_revision: str | None = "0006_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_pledges = sa.table(
    "pledges",
    sa.column("id", sa.Uuid()),
    sa.column("challenge_id", sa.Uuid()),
    sa.column("funder_org_id", sa.Uuid()),
    sa.column("anonymous", sa.Boolean()),
)
_milestones = sa.table(
    "milestones", sa.column("id", sa.Uuid()), sa.column("challenge_id", sa.Uuid())
)
_postings = sa.table(
    "ledger_postings",
    sa.column("entry_id", sa.Uuid()),
    sa.column("account_id", sa.Uuid()),
    sa.column("currency", sa.String()),
    sa.column("debit", sa.BigInteger()),
    sa.column("credit", sa.BigInteger()),
)
_entries = sa.table(
    "ledger_entries",
    sa.column("id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("phase", sa.String()),
    sa.column("meta", sa.JSON()),
)
_accounts = sa.table(
    "ledger_accounts",
    sa.column("id", sa.Uuid()),
    sa.column("code", sa.String()),
    sa.column("owner_ref", sa.String()),
)


def upgrade() -> None:
    flow_totals = op.create_table(
        "flow_totals",
        sa.Column("challenge_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["challenge_id"], ["challenges.id"], name=op.f("fk_flow_totals_challenge_id_challenges")
        ),
        sa.PrimaryKeyConstraint("challenge_id", "source", "target", name=op.f("pk_flow_totals")),
    )
    with op.batch_alter_table("flow_totals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flow_totals_currency_target", ["currency", "target"], unique=False
        )
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pledges_challenge_id_holding",
            ["challenge_id"],
            unique=False,
            postgresql_where=sa.text("hold_entry_id IS NOT NULL"),
            sqlite_where=sa.text("hold_entry_id IS NOT NULL"),
        )
    totals = _derived(op.get_bind())
    if totals:
        op.bulk_insert(
            flow_totals,
            [
                {"challenge_id": c, "currency": cur, "source": s, "target": t, "amount": amount}
                for (c, cur, s, t), amount in sorted(totals.items(), key=str)
            ],
        )


def _derived(bind: sa.engine.Connection) -> dict[derive.FlowKey, int]:
    pledges = {
        row.id: derive.PledgeOwner(row.challenge_id, row.funder_org_id, bool(row.anonymous))
        for row in bind.execute(sa.select(_pledges))
    }
    milestones = {row.id: row.challenge_id for row in bind.execute(sa.select(_milestones))}
    query = (
        sa.select(
            _entries.c.kind,
            _entries.c.meta,
            _accounts.c.code,
            _accounts.c.owner_ref,
            _postings.c.currency,
            _postings.c.debit,
            _postings.c.credit,
        )
        .select_from(
            _postings.join(_entries, _entries.c.id == _postings.c.entry_id).join(
                _accounts, _accounts.c.id == _postings.c.account_id
            )
        )
        .where(
            _entries.c.phase.in_(("posted", "post")),
            sa.or_(
                _accounts.c.code.in_(("pledge", "escrow")),
                sa.and_(_accounts.c.code == "wallet", _entries.c.kind == derive.PAYOUT),
            ),
        )
    )
    lines = (
        derive.Line(
            kind=row.kind,
            account_code=row.code,
            owner_ref=row.owner_ref,
            currency=row.currency,
            debit=row.debit,
            credit=row.credit,
            milestone_id=(row.meta or {}).get("milestone_id"),
        )
        for row in bind.execute(query)
    )
    return derive.derive(lines, pledges, milestones).totals


def downgrade() -> None:
    with op.batch_alter_table("pledges", schema=None) as batch_op:
        batch_op.drop_index("ix_pledges_challenge_id_holding")
    with op.batch_alter_table("flow_totals", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_totals_currency_target")
    op.drop_table("flow_totals")
