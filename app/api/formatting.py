"""Money, times and counts for people to read.

Money: integer minor units to "1,234.50", with integer arithmetic only. Times: in words, in
UTC, the same for every reader and never stale ("1 December 2025 at 23:45 UTC", not "5
minutes ago", which a page left open would keep saying); templates put the exact value in
the `<time>` element's `datetime` and `title`, and dashboard.js rewrites a `<time data-ago>`
in words relative to now ("2 hours ago", "in 3 days") on every poll, so it never goes stale.
Month names are spelled here, not taken from the process locale.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.money.currency import minor_units
from app.domain.money.formatting import format_amount

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def money(amount: int, currency: str) -> str:
    exponent = minor_units(currency) or 0
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    text = f"{whole:,}"
    if exponent:
        text += f".{fraction:0{exponent}d}"
    return f"{sign}{text}"


def amount(amount_minor: int, currency: str) -> str:
    """Money with its currency, as a board reads it: "USD 30,000.00"."""
    return format_amount(amount_minor, currency)


def percent(part: int, whole: int) -> float:
    """A bar width (display only; never used for money)."""
    return 0.0 if whole <= 0 else round(100 * part / whole, 3)


def _utc(when: datetime | str) -> datetime:
    moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def day(when: datetime | str) -> str:
    """The UTC date in words: "1 March 2026"."""
    moment = _utc(when)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


def moment(when: datetime | str) -> str:
    """A time in words, to the minute: "1 December 2025 at 23:45 UTC". A time without a
    zone is taken as UTC, never as the server's local time."""
    return f"{day(when)} at {_utc(when):%H:%M} UTC"


def counted(count: int, noun: str) -> str:
    """A count with its noun: "1 challenge", "4 funders" (regular English plurals only)."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
