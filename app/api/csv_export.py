"""CSV answers for funders' spreadsheets: `Accept: text/csv` on the statement, an org's
pledges and the impact report.

One header row, then one row per item; amounts as integer minor units plus a formatted column
("USD 30,000.00"). Long histories are streamed: the first page is read before the response
starts (so a refusal is still a proper problem+json), then each further page in its own short
read, keyset after the last row, so memory stays flat however long the history. Free text
that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is quoted with a
leading apostrophe (OWASP's advice against CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import StreamingResponse

from app.domain.money.formatting import format_amount

CSV_MEDIA_TYPE = "text/csv"
CSV_PAGE = 200  # rows read per query while streaming
MAX_CSV_PAGES = 100_000  # an explicit limit on any export: 20 million rows
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")
Cell = str | int | None
PageReader = Callable[[T | None], Awaitable[tuple[list[list[Cell]], T | None]]]


def csv_responses() -> dict[int | str, dict[str, Any]]:
    """`responses=` entry documenting the CSV form of a 200."""
    return {
        200: {
            "description": "OK (JSON; or CSV when the request sends `Accept: text/csv`)",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
        }
    }


def wants_csv(request: Request) -> bool:
    """True when the Accept header prefers text/csv (at a quality not below JSON's)."""
    qualities: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        qualities[media.lower()] = max(quality, qualities.get(media.lower(), 0.0))
    csv_quality = qualities.get(CSV_MEDIA_TYPE, 0.0)
    return csv_quality > 0 and csv_quality >= qualities.get("application/json", 0.0)


def text_cell(value: str | None) -> str:
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value or ""


def money_cells(amount: int, currency: str) -> list[Cell]:
    return [amount, format_amount(amount, currency)]


def _encode(rows: Sequence[Sequence[Cell]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def stream_csv(
    header: Sequence[str], read_page: PageReader[T], *, filename: str
) -> StreamingResponse:
    """A CSV response: the header, then every page `read_page(after)` returns until its next
    position is None. The first page is read now, so its refusals are raised here."""
    first_rows, after = await read_page(None)

    async def body() -> AsyncIterator[bytes]:
        yield _encode([list(header), *first_rows])
        position = after
        for _ in range(MAX_CSV_PAGES):
            if position is None:
                return
            rows, position = await read_page(position)
            yield _encode(rows)

    return StreamingResponse(
        body(),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
