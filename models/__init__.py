"""SQLAlchemy 2 typed models, engine setup and Alembic migrations.

This package imports SQLAlchemy only: no aiogram, no services.
"""

from models.base import Base
from models.booking import ACTIVE_STATES, Booking, BookingEvent, BookingState
from models.catalog import DateOverride, OverrideWindow, Package, Service, ServiceMode, TimeOff, WeeklyWindow
from models.credits import CreditEntry, CreditKind, PackagePurchase, PurchaseStatus
from models.crisis import CrisisEvent
from models.invite import Invite
from models.move_proposal import MoveProposal
from models.outbox import OutboxMessage
from models.payment import Payment, PaymentStatus, ProcessedStripeEvent, RefundStatus
from models.professional import DEFAULT_POLICY, DEFAULT_REMINDERS, NoShowRule, Policy, Professional
from models.review import Review
from models.user import User
from models.verification import AuditEntry, VerificationRequest, VerificationState

__all__ = [
    "ACTIVE_STATES",
    "DEFAULT_POLICY",
    "DEFAULT_REMINDERS",
    "AuditEntry",
    "Base",
    "Booking",
    "BookingEvent",
    "BookingState",
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
