"""One data view of a booking: what a confirmation, a reminder or a receipt needs to say about it.

The chat's screens and the outbox's renderers both take a `BookingView`, so a message the worker
sends (a confirmation after a payment webhook, a reminder) reads exactly as the one the chat shows.
The view is data, not words: instants in UTC with both parties' zones, the place or video link, the
policy copied onto the booking. It travels in outbox payloads as JSON (`to_json` / `from_json`), a
snapshot of the booking as the change that queued the message left it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.services.policy import Policy
from models import Booking, BookingState, ServiceMode


@dataclass(frozen=True)
class BookingView:
    booking_id: int
    version: int
    state: BookingState
    service_name: str
    duration_minutes: int
    mode: ServiceMode
    professional_name: str
    professional_slug: str
    professional_zone: str
    client_name: str
    # The client's zone, or the professional's while the client has not told us theirs.
    client_zone: str
    starts_at: datetime
    ends_at: datetime
    hold_expires_at: datetime | None
    price_minor: int
    currency: str
    policy: Policy
    notes: str | None
    video_link: str | None
    address: str | None
    access_notes: str | None
    reschedule_count: int
    paid_with: str | None
    # A phone session's number (the client's, for this booking; only they and the professional see it).
    client_phone: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "booking_id": self.booking_id,
            "version": self.version,
            "state": str(self.state),
            "service_name": self.service_name,
            "duration_minutes": self.duration_minutes,
            "mode": str(self.mode),
            "professional_name": self.professional_name,
            "professional_slug": self.professional_slug,
            "professional_zone": self.professional_zone,
            "client_name": self.client_name,
            "client_zone": self.client_zone,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "hold_expires_at": self.hold_expires_at.isoformat() if self.hold_expires_at else None,
            "price_minor": self.price_minor,
            "currency": self.currency,
            "policy": self.policy.to_json(),
            "notes": self.notes,
            "video_link": self.video_link,
            "address": self.address,
            "access_notes": self.access_notes,
            "reschedule_count": self.reschedule_count,
            "paid_with": self.paid_with,
            "client_phone": self.client_phone,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BookingView:
        """The view a payload carries (extra keys, such as a cancellation's reason, are ignored)."""
        expires = data.get("hold_expires_at")
        return cls(
            booking_id=int(data["booking_id"]),
            version=int(data["version"]),
            state=BookingState(data["state"]),
            service_name=str(data["service_name"]),
            duration_minutes=int(data["duration_minutes"]),
            mode=ServiceMode(data["mode"]),
            professional_name=str(data["professional_name"]),
            professional_slug=str(data["professional_slug"]),
            professional_zone=str(data["professional_zone"]),
            client_name=str(data["client_name"]),
            client_zone=str(data["client_zone"]),
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            hold_expires_at=datetime.fromisoformat(expires) if expires else None,
            price_minor=int(data["price_minor"]),
            currency=str(data["currency"]),
            policy=Policy.from_json(data["policy"]),
            notes=data.get("notes"),
            video_link=data.get("video_link"),
            address=data.get("address"),
            access_notes=data.get("access_notes"),
            reschedule_count=int(data.get("reschedule_count") or 0),
            paid_with=data.get("paid_with"),
            client_phone=data.get("client_phone"),
        )


def booking_view(booking: Booking) -> BookingView:
    """The view of a booking loaded with its service, professional and client."""
    service, professional, client = booking.service, booking.professional, booking.client
    return BookingView(
        booking_id=booking.id,
        version=booking.version,
        state=booking.state,
        service_name=service.name,
        duration_minutes=service.duration_minutes,
        mode=service.mode,
        professional_name=professional.name,
        professional_slug=professional.slug,
        professional_zone=professional.timezone,
        client_name=client.first_name,
        client_zone=client.timezone or professional.timezone,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        hold_expires_at=booking.hold_expires_at,
        price_minor=booking.price_minor,
        currency=booking.currency,
        policy=Policy.from_json(booking.policy),
        notes=booking.client_notes,
        video_link=professional.video_link,
        address=professional.address,
        access_notes=professional.access_notes,
        reschedule_count=booking.reschedule_count,
        paid_with=booking.paid_with,
        client_phone=booking.client_phone,
    )
