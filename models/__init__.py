"""SQLAlchemy 2 typed models, engine setup and Alembic migrations.

This package imports SQLAlchemy only: no aiogram, no services.

The calendar's models (users, professionals and their catalog, bookings) are defined as the package is
imported; every other model module when one of its names is first used. An operator command that only reads
the calendar (`bookbot slots`) then neither defines nor maps the payments, credits, outbox and the rest:
a twelfth of its start. The mapped models are always a whole: the calendar's relationships and foreign keys
name only the calendar's tables, and each other module names only those and its own. `Base` brings every
model, so `Base.metadata` is always the whole schema (Alembic, the tests).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from models.booking import ACTIVE_STATES, Booking, BookingEvent, BookingState
from models.catalog import DateOverride, OverrideWindow, Package, Service, ServiceMode, TimeOff, WeeklyWindow
from models.professional import DEFAULT_POLICY, DEFAULT_REMINDERS, NoShowRule, Policy, Professional
from models.user import User

if TYPE_CHECKING:
    from models.base import Base
    from models.conversation import ConversationState
    from models.credits import CreditEntry, CreditKind, PackagePurchase, PurchaseStatus
    from models.crisis import CrisisEvent
    from models.invite import Invite
    from models.move_proposal import MoveProposal
    from models.outbox import OutboxMessage
    from models.payment import Payment, PaymentStatus, ProcessedStripeEvent, RefundStatus
    from models.review import Review
    from models.verification import AuditEntry, VerificationRequest, VerificationState

# The names defined when first used, and their modules.
_ON_FIRST_USE = {
    "ConversationState": "models.conversation",
    "CreditEntry": "models.credits",
    "CreditKind": "models.credits",
    "PackagePurchase": "models.credits",
    "PurchaseStatus": "models.credits",
    "CrisisEvent": "models.crisis",
    "Invite": "models.invite",
    "MoveProposal": "models.move_proposal",
    "OutboxMessage": "models.outbox",
    "Payment": "models.payment",
    "PaymentStatus": "models.payment",
    "ProcessedStripeEvent": "models.payment",
    "RefundStatus": "models.payment",
    "Review": "models.review",
    "AuditEntry": "models.verification",
    "VerificationRequest": "models.verification",
    "VerificationState": "models.verification",
}

if not TYPE_CHECKING:  # at run time only: mypy keeps checking every name against the imports above

    def __getattr__(name: str) -> Any:
        if name == "Base":
            for module in sorted(set(_ON_FIRST_USE.values())):
                importlib.import_module(module)
            value = importlib.import_module("models.base").Base
        elif name in _ON_FIRST_USE:
            value = getattr(importlib.import_module(_ON_FIRST_USE[name]), name)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value


__all__ = [
    "ACTIVE_STATES",
    "DEFAULT_POLICY",
    "DEFAULT_REMINDERS",
    "AuditEntry",
    "Base",
    "Booking",
    "BookingEvent",
    "BookingState",
    "ConversationState",
    "CreditEntry",
    "CreditKind",
    "CrisisEvent",
    "DateOverride",
    "Invite",
    "MoveProposal",
    "NoShowRule",
    "OutboxMessage",
    "OverrideWindow",
    "Package",
    "PackagePurchase",
    "Payment",
    "PaymentStatus",
    "Policy",
    "ProcessedStripeEvent",
    "Professional",
    "PurchaseStatus",
    "RefundStatus",
    "Review",
    "Service",
    "ServiceMode",
    "TimeOff",
    "User",
    "VerificationRequest",
    "VerificationState",
    "WeeklyWindow",
]
