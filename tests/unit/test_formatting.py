"""What people read on the dashboard: times in words in UTC, counts with their nouns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.api.formatting import counted, day, moment


def test_times_read_in_words_in_utc_whatever_zone_they_came_in() -> None:
    assert moment("2025-12-01T23:45:59.999999Z") == "1 December 2025 at 23:45 UTC"
    nairobi = timezone(timedelta(hours=3))
    assert moment(datetime(2026, 1, 1, 1, 30, tzinfo=nairobi)) == "31 December 2025 at 22:30 UTC"
    naive = datetime(2026, 3, 9, 7, 5)  # noqa: DTZ001 - a time without a zone is UTC
    assert moment(naive) == "9 March 2026 at 07:05 UTC"
    assert day(datetime(2026, 3, 1, 0, 0, tzinfo=UTC)) == "1 March 2026"


def test_counts_carry_their_noun_in_the_right_number() -> None:
    assert counted(0, "actor") == "0 actors"
    assert counted(1, "challenge") == "1 challenge"
    assert counted(4, "funder") == "4 funders"
    assert counted(12_345, "funder") == "12,345 funders"
