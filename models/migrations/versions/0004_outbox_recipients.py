"""Outbox rows name their recipient (a user) and subject, can be voided, and remember the Telegram
message they became; users remember that they blocked the bot.

Existing rows: the recipient is the user with the row's chat id (a row is made for a chat nobody has
written from yet, e.g. a professional linked by the catalog's telegram_id); the subject is the
booking the payload names; the language stays as the fallback, the payload's zone becomes the
fallback zone. Rows not yet sent get the booking fields today's renderers read (the booking view:
state, duration, both zones, place, policy) from the booking itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_PENDING = "sent_at IS NULL AND failed_at IS NULL"
PENDING = "sent_at IS NULL AND failed_at IS NULL AND voided_at IS NULL"

_users = sa.table(
    "users",
    sa.column("id", sa.Integer()),
    sa.column("telegram_id", sa.BigInteger()),
    sa.column("first_name", sa.String()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer()),
    sa.column("chat_id", sa.BigInteger()),
    sa.column("recipient_id", sa.Integer()),
    sa.column("subject_type", sa.String()),
    sa.column("subject_id", sa.Integer()),
    sa.column("payload", sa.JSON()),
    sa.column("fallback_zone", sa.String()),
    sa.column("sent_at", sa.DateTime(timezone=True)),
    sa.column("failed_at", sa.DateTime(timezone=True)),
)
_BOOKING = sa.text(
    "SELECT b.state, b.hold_expires_at, b.policy, b.reschedule_count, b.paid_with, s.duration_minutes, "
    "p.timezone AS professional_zone, p.video_link, p.address, p.access_notes, u.timezone AS client_zone "
    "FROM bookings b JOIN services s ON s.id = b.service_id JOIN professionals p ON p.id = b.professional_id "
    "JOIN users u ON u.id = b.client_id WHERE b.id = :booking_id"
).columns(
    sa.column("state", sa.String()),
    sa.column("hold_expires_at", sa.DateTime(timezone=True)),
    sa.column("policy", sa.JSON()),
    sa.column("reschedule_count", sa.Integer()),
    sa.column("paid_with", sa.String()),
    sa.column("duration_minutes", sa.Integer()),
    sa.column("professional_zone", sa.String()),
    sa.column("video_link", sa.String()),
    sa.column("address", sa.String()),
    sa.column("access_notes", sa.String()),
    sa.column("client_zone", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))
    # Dropped before the table is rebuilt (SQLite) and made again with its new condition below.
    op.drop_index("ix_outbox_pending_due", table_name="outbox")
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("recipient_id", sa.Integer(), nullable=True))
        outbox.add_column(sa.Column("subject_type", sa.String(length=32), nullable=True))
        outbox.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
        outbox.add_column(sa.Column("fallback_zone", sa.String(length=64), nullable=True))
        outbox.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        outbox.add_column(sa.Column("void_reason", sa.String(length=200), nullable=True))
        outbox.add_column(sa.Column("telegram_message_id", sa.BigInteger(), nullable=True))
        # None: the bot's default language (a client who has not picked one yet).
        outbox.alter_column(
            "locale", new_column_name="fallback_locale", existing_type=sa.String(length=16), nullable=True
        )
        outbox.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=True)
    _fill_existing_rows(op.get_bind())
    with op.batch_alter_table("outbox") as outbox:
        outbox.alter_column("recipient_id", existing_type=sa.Integer(), nullable=False)
        outbox.alter_column("fallback_zone", existing_type=sa.String(length=64), nullable=False)
        outbox.create_foreign_key(
            op.f("fk_outbox_recipient_id_users"), "users", ["recipient_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index(op.f("ix_outbox_recipient_id"), "outbox", ["recipient_id"], unique=False)
    op.create_index("ix_outbox_subject", "outbox", ["subject_type", "subject_id"], unique=False)
    op.create_index("ix_outbox_sent_message", "outbox", ["chat_id", "telegram_message_id"], unique=False)
    op.create_index(
        "ix_outbox_pending_due",
        "outbox",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def _fill_existing_rows(bind: sa.Connection) -> None:
    sqlite = bind.dialect.name == "sqlite"
    now = datetime.now(UTC)
    rows = bind.execute(
        sa.select(_outbox.c.id, _outbox.c.chat_id, _outbox.c.payload, _outbox.c.sent_at, _outbox.c.failed_at)
    ).all()
    for row in rows:
        payload: dict[str, Any] = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
        recipient_id = bind.scalar(sa.select(_users.c.id).where(_users.c.telegram_id == row.chat_id))
        if recipient_id is None:
            created = now.replace(tzinfo=None) if sqlite else now
            bind.execute(sa.insert(_users).values(telegram_id=row.chat_id, first_name="", created_at=created))
            recipient_id = bind.scalar(sa.select(_users.c.id).where(_users.c.telegram_id == row.chat_id))
        booking_id = payload.get("booking_id")
        pending = row.sent_at is None and row.failed_at is None
        values: dict[str, Any] = {
            "recipient_id": recipient_id,
            "subject_type": "booking" if booking_id is not None else None,
            "subject_id": booking_id,
            "fallback_zone": payload.get("zone") or "UTC",
        }
        if pending:
            # Sent rows keep the chat they went to; pending ones learn theirs when sent.
            values["chat_id"] = None
            if booking_id is not None:
                values["payload"] = _with_booking_view(bind, payload, int(booking_id))
        bind.execute(sa.update(_outbox).where(_outbox.c.id == row.id).values(**values))


def _with_booking_view(bind: sa.Connection, payload: dict[str, Any], booking_id: int) -> dict[str, Any]:
    booking = bind.execute(_BOOKING, {"booking_id": booking_id}).one_or_none()
    if booking is None:
        return payload
    expires = booking.hold_expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    policy = booking.policy if isinstance(booking.policy, dict) else json.loads(booking.policy)
    view = {
        "state": booking.state,
        "duration_minutes": booking.duration_minutes,
        "professional_zone": booking.professional_zone,
        "client_zone": booking.client_zone or booking.professional_zone,
        "hold_expires_at": expires.astimezone(UTC).isoformat() if expires is not None else None,
        "policy": policy,
        "video_link": booking.video_link,
        "address": booking.address,
        "access_notes": booking.access_notes,
        "reschedule_count": booking.reschedule_count,
        "paid_with": booking.paid_with,
    }
    rest = {key: value for key, value in payload.items() if key not in ("zone", "other_zone")}
    return rest | view


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_due", table_name="outbox")
    op.drop_index("ix_outbox_sent_message", table_name="outbox")
    op.drop_index("ix_outbox_subject", table_name="outbox")
    op.drop_index(op.f("ix_outbox_recipient_id"), table_name="outbox")
    bind = op.get_bind()
    bind.execute(
        sa.update(_outbox)
        .where(_outbox.c.chat_id.is_(None))
        .values(chat_id=sa.select(_users.c.telegram_id).where(_users.c.id == _outbox.c.recipient_id).scalar_subquery())
    )
    # The old schema has no voided state: a voided row becomes a given-up one.
    bind.execute(sa.text("UPDATE outbox SET failed_at = voided_at WHERE voided_at IS NOT NULL AND failed_at IS NULL"))
    bind.execute(sa.text("UPDATE outbox SET fallback_locale = 'en' WHERE fallback_locale IS NULL"))
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_constraint(op.f("fk_outbox_recipient_id_users"), type_="foreignkey")
        outbox.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        outbox.alter_column(
            "fallback_locale", new_column_name="locale", existing_type=sa.String(length=16), nullable=False
        )
        for column in (
            "telegram_message_id",
            "void_reason",
            "voided_at",
            "fallback_zone",
            "subject_id",
            "subject_type",
            "recipient_id",
        ):
            outbox.drop_column(column)
    op.create_index(
        "ix_outbox_pending_due",
        "outbox",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(OLD_PENDING),
        sqlite_where=sa.text(OLD_PENDING),
    )
    with op.batch_alter_table("users") as users:
        users.drop_column("blocked_at")
