"""Domain errors: what went wrong in words the chat layer can turn into a message.

Each carries data, never formatted text, so the chat layer can translate it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class DomainError(Exception):
    """Base of every error a service raises on purpose."""


class NotFound(DomainError):
    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key!r} not found")
        self.what = what
        self.key = key


class NotAllowed(DomainError):
    """The caller does not own the thing they asked about (a stale or forged button, say)."""


class InvalidTimeZone(DomainError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown time zone {name!r}")
        self.name = name


class IllegalTransition(DomainError):
    def __init__(self, booking_id: int, from_state: str, action: str) -> None:
        super().__init__(f"booking {booking_id}: cannot {action} from state {from_state!r}")
        self.booking_id = booking_id
        self.from_state = from_state
        self.action = action


@dataclass
class SlotUnavailable(DomainError):
    """The slot is not (or no longer) free: taken by someone else, outside hours, too soon, too far."""

    starts_at: datetime
    reason: str = "taken"  # "taken" | "not_offered"
    nearest: list[datetime] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"slot at {self.starts_at.isoformat()} is unavailable ({self.reason})")


class RescheduleLimitReached(DomainError):
    def __init__(self, booking_id: int, limit: int) -> None:
        super().__init__(f"booking {booking_id} has been rescheduled {limit} times already")
        self.booking_id = booking_id
        self.limit = limit


class TooLateToChange(DomainError):
    """A change the policy does not allow any more (a session that has started, say)."""

    def __init__(self, booking_id: int) -> None:
        super().__init__(f"booking {booking_id} can no longer be changed")
        self.booking_id = booking_id


class BookingChanged(DomainError):
    """The booking is no longer what the person saw when they said yes: it moved, was paid or changed
    otherwise (`what` = "version"), or cancelling it would no longer give the refund they were shown
    (`what` = "refund"). Nothing was changed; show it again."""

    def __init__(self, booking_id: int, what: str) -> None:
        super().__init__(f"booking {booking_id} changed since it was shown ({what})")
        self.booking_id = booking_id
        self.what = what


class NotStartedYet(DomainError):
    """Marking a session completed or missed before it has begun."""

    def __init__(self, booking_id: int) -> None:
        super().__init__(f"booking {booking_id} has not started yet")
        self.booking_id = booking_id


class HoldExpired(DomainError):
    def __init__(self, booking_id: int) -> None:
        super().__init__(f"the hold on booking {booking_id} has expired")
        self.booking_id = booking_id


class CatalogError(DomainError):
    """A catalog file that cannot be imported; `line` points into the file where known."""

    def __init__(self, message: str, line: int | None = None, path: str | None = None) -> None:
        where = f"{path or 'catalog'}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}")
        self.message = message
        self.line = line
        self.path = path
