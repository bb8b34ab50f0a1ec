"""Typed errors of the market. The API maps each to an HTTP status and problem `code`.

Messages speak to the user: they say what is wrong and, where it helps, what is allowed.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the market raises on purpose; `code` is machine-readable."""

    code = "domain_error"
    # Set by errors that describe a passing moment rather than the request (a key still in
    # use, a rate limit): the API sends it as `Retry-After`.
    retry_after_seconds: int | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def extensions(self) -> dict[str, int | str]:
        """Machine-readable values the problem carries beside `detail` (RFC 9457's
        extension members: amounts in minor units, their currency); none by default."""
        return {}


class Unauthenticated(DomainError):
    """No valid credentials: missing, malformed, unknown or revoked."""

    code = "unauthorized"


class Forbidden(DomainError):
    """Authenticated, but the caller lacks the role this action needs."""

    code = "forbidden"


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does."""

    code = "not_found"

    def __init__(self, kind: str, object_id: object) -> None:
        super().__init__(f"{kind} {object_id} was not found.")


class Conflict(DomainError):
    """The request clashes with existing data (e.g. a unique name)."""

    code = "conflict"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code


class InvalidState(DomainError):
    """A transition the object's state machine forbids; the detail names the current state."""

    code = "invalid_state"

    def __init__(self, kind: str, object_id: object, current: str, action: str) -> None:
        super().__init__(f"{kind} {object_id} is {current}; it cannot be {action}.")
        self.current = current


class Unprocessable(DomainError):
    """The request is well-formed but breaks a rule of the market (422)."""

    def __init__(self, detail: str, *, code: str = "unprocessable") -> None:
        super().__init__(detail)
        self.code = code


class RateLimited(DomainError):
    """Too many requests for this caller; retry after `retry_after_seconds`."""

    code = "rate_limited"

    def __init__(self, retry_after_seconds: int, *, whole_organisation: bool = False) -> None:
        who = " from your organisation's keys together" if whole_organisation else ""
        super().__init__(f"Too many requests{who}; retry after {retry_after_seconds} s.")
        self.retry_after_seconds = retry_after_seconds


class InsufficientFunds(Conflict):
    """The money to move is not there (wallet short, pool short). The detail says it in
    money ("USD 339,000.00"); `available`, `requested` (minor units) and `currency` carry it
    for programs."""

    def __init__(self, detail: str, *, available: int, requested: int, currency: str) -> None:
        super().__init__(detail, code="insufficient_funds")
        self.available = available
        self.requested = requested
        self.currency = currency

    @property
    def extensions(self) -> dict[str, int | str]:
        return {"available": self.available, "requested": self.requested, "currency": self.currency}


class BalanceLimitReached(Unprocessable):
    """A credit would take an account past the most one account may hold (the ledger's
    MAX_BALANCE). `balance` is given only where the caller may see the account's money."""

    def __init__(
        self, detail: str, *, limit: int, requested: int, balance: int | None = None
    ) -> None:
        super().__init__(detail, code="balance_limit")
        self.limit = limit
        self.requested = requested
        self.balance = balance

    @property
    def extensions(self) -> dict[str, int | str]:
        numbers: dict[str, int | str] = {"limit": self.limit, "requested": self.requested}
        if self.balance is not None:
            numbers["balance"] = self.balance
        return numbers


class ItemRefused(DomainError):
    """One item of a batch was refused, so the whole batch did nothing. It answers as the
    item's own error would (same status and `code`), naming the item by its index."""

    def __init__(self, index: int, error: DomainError) -> None:
        assert not isinstance(error, ItemRefused), "an item error is never nested"
        super().__init__(
            f"Item {index} was refused, so nothing in the batch was done. {error.detail}"
        )
        self.index = index
        self.error = error
        self.code = error.code
        self.retry_after_seconds = error.retry_after_seconds

    @property
    def extensions(self) -> dict[str, int | str]:
        return self.error.extensions


class InvariantBroken(RuntimeError):
    """A state the market's rules make impossible was about to be written: a bug, never a
    user error. Raised (not asserted, which `python -O` strips) so the transaction rolls
    back and nothing wrong is ever stored."""


def invariant(condition: bool, message: str) -> None:
    """Refuse to go on when `condition` (a postcondition the code guarantees) is false."""
    if not condition:
        raise InvariantBroken(message)
