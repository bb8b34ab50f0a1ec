"""The lock order is enforced, not only documented: store/locks refuses what breaks it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.domain.store import locks


class _Session:
    """What the lock bookkeeping needs of a session: its `info` dict."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}


def _ids(count: int) -> list[uuid.UUID]:
    return sorted(uuid.uuid4() for _ in range(count))


def test_challenges_waited_for_in_ascending_id_order_are_allowed() -> None:
    session, (low, high) = _Session(), _ids(2)
    locks.took_challenges(session, [low], waited=True)
    locks.took_challenges(session, [high], waited=True)
    assert locks.holds_challenge(session, low)
    assert locks.holds_challenge(session, high)


def test_waiting_for_a_lower_challenge_while_holding_a_higher_one_is_refused() -> None:
    session, (low, high) = _Session(), _ids(2)
    locks.took_challenges(session, [high], waited=True)
    with pytest.raises(locks.LockOrderBroken, match="ascending id order"):
        locks.took_challenges(session, [low], waited=True)


def test_several_challenges_at_once_must_come_sorted() -> None:
    low, high = _ids(2)
    with pytest.raises(locks.LockOrderBroken):
        locks.took_challenges(_Session(), [high, low], waited=True)


def test_locks_taken_without_waiting_may_come_in_any_order() -> None:
    session, (low, high) = _Session(), _ids(2)
    locks.took_challenges(session, [high], waited=False)
    locks.took_challenges(session, [low], waited=False)
    locks.took_challenges(session, [high], waited=True)


def test_rows_below_a_challenge_need_the_challenges_lock() -> None:
    session, (challenge,) = _Session(), _ids(1)
    with pytest.raises(locks.LockOrderBroken, match="without the challenge's lock"):
        locks.took(session, locks.Level.PLEDGE, challenge)
    locks.took_challenges(session, [challenge], waited=True)
    for level in (locks.Level.MILESTONE, locks.Level.BID, locks.Level.PLEDGE):
        locks.took(session, level, challenge)
