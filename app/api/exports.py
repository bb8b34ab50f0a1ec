"""The CSV forms of the statement, an organisation's pledges and the impact report (each a
keyset page reader handed to csv_export.stream_csv)."""

from __future__ import annotations

import uuid
from datetime import datetime

from starlette.responses import StreamingResponse

from app.api.csv_export import CSV_PAGE, Cell, money_cells, stream_csv, text_cell
from app.api.presenters.pledges import views
from app.db import Database
from app.domain.identity.caller import Caller
from app.domain.money import service as money
from app.domain.pledges import service as pledges
from app.domain.reports import impact_rules
from app.domain.reports.exports import statement_currency
from app.domain.reports.impact import ImpactLine, ImpactReport
from app.domain.reports.pledge_money import PledgeMoney
from app.domain.store.pledges import Pledge
from app.ledger import HistoryLine

STATEMENT_HEADER = (
    "entry_id",
    "created_at",
    "kind",
    "currency",
    "amount",
    "amount_formatted",
    "balance_after",
    "balance_after_formatted",
    "memo",
)
PLEDGES_HEADER = (
    "pledge_id",
    "created_at",
    "challenge_id",
    "kind",
    "status",
    "anonymous",
    "currency",
    "amount",
    "amount_formatted",
    "held",
    "available",
    "allocated",
    "paid",
    "paid_formatted",
    "returned",
    "returned_formatted",
)
IMPACT_HEADER = (
    "challenge_id",
    "milestone_id",
    "metric",
    "unit",
    "currency",
    "paid",
    "paid_formatted",
    "units",
    "units_exact",
    "cost_per_unit",
    "cost_per_unit_formatted",
    "verified_value",
    "payout_amount",
)


def _statement_row(line: HistoryLine, currency: str) -> list[Cell]:
    memo = line.meta.get("memo")
    return [
        str(line.entry_id),
        line.created_at.isoformat(),
        line.kind,
        currency,
        *money_cells(line.amount, currency),
        *money_cells(line.balance_after, currency),
        text_cell(memo if isinstance(memo, str) else None),
    ]


def _pledge_row(pledge: Pledge, held: PledgeMoney) -> list[Cell]:
    return [
        str(pledge.id),
        pledge.created_at.isoformat(),
        str(pledge.challenge_id),
        pledge.kind,
        pledge.status,
        "true" if pledge.anonymous else "false",
        pledge.currency,
        *money_cells(pledge.amount, pledge.currency),
        held.held,
        held.available,
        held.allocated,
        *money_cells(held.paid, pledge.currency),
        *money_cells(held.returned, pledge.currency),
    ]


def _impact_row(line: ImpactLine) -> list[Cell]:
    cost = line.cost_per_unit
    return [
        str(line.challenge_id),
        str(line.milestone_id),
        text_cell(line.metric),
        text_cell(line.unit),
        line.currency,
        *money_cells(line.paid, line.currency),
        impact_rules.units_text(line.units),
        impact_rules.exact_text(line.units),
        *(money_cells(cost, line.currency) if cost is not None else [None, None]),
        impact_rules.exact_text(line.verified_value),
        line.payout_amount,
    ]


async def statement_csv(
    database: Database,
    caller: Caller | None,
    org_id: uuid.UUID,
    currency: str | None,
    after: int | None,
) -> StreamingResponse:
    async def page(position: int | None) -> tuple[list[list[Cell]], int | None]:
        async with database.read() as session:
            lines = await money.statement(
                session,
                caller,
                org_id,
                currency=currency,
                after_posting_id=position if position is not None else after,
                limit=CSV_PAGE + 1,
            )
            code = await statement_currency(session, org_id, currency)
        more, lines = len(lines) > CSV_PAGE, lines[:CSV_PAGE]
        rows = [_statement_row(line, code) for line in lines] if code else []
        return rows, (lines[-1].posting_id if more else None)

    return await stream_csv(STATEMENT_HEADER, page, filename=f"statement-{org_id}.csv")


async def pledges_csv(
    database: Database,
    caller: Caller | None,
    org_id: uuid.UUID,
    after: tuple[datetime, uuid.UUID] | None,
) -> StreamingResponse:
    async def page(
        position: tuple[datetime, uuid.UUID] | None,
    ) -> tuple[list[list[Cell]], tuple[datetime, uuid.UUID] | None]:
        async with database.read() as session:
            found = await pledges.list_org_pledges(
                session, caller, org_id, after=position or after, limit=CSV_PAGE + 1
            )
            shown = await views(session, caller, found[:CSV_PAGE])
        rows = [_pledge_row(pledge, held) for pledge, held, _ in shown]
        last = found[CSV_PAGE - 1] if len(found) > CSV_PAGE else None
        return rows, ((last.created_at, last.id) if last else None)

    return await stream_csv(PLEDGES_HEADER, page, filename=f"pledges-{org_id}.csv")


async def impact_csv(report: ImpactReport, org_id: uuid.UUID) -> StreamingResponse:
    """The report is read whole (one row per paid milestone), then written as CSV."""

    async def page(_: None) -> tuple[list[list[Cell]], None]:
        return [_impact_row(line) for line in report.lines], None

    return await stream_csv(IMPACT_HEADER, page, filename=f"impact-{org_id}.csv")
