"""Initial schema: users, professionals, catalog, bookings and their audit log.

The guard against double booking lives here in the database itself: an exclusion constraint on
PostgreSQL and triggers on SQLite, both over each booking's buffered interval and only for the
states that occupy the calendar.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "('held', 'confirmed')"

# julianday() parses both the text SQLAlchemy writes and hand-written ISO-8601, so raw SQL is guarded too.
SQLITE_OVERLAP = f"""
    SELECT RAISE(ABORT, 'booking overlaps an active booking of this professional')
    WHERE NEW.state IN {ACTIVE} AND EXISTS (
        SELECT 1 FROM bookings AS other
        WHERE other.professional_id = NEW.professional_id
          AND other.id IS NOT NEW.id
          AND other.state IN {ACTIVE}
          AND julianday(other.block_starts_at) < julianday(NEW.block_ends_at)
          AND julianday(NEW.block_starts_at) < julianday(other.block_ends_at)
    );
"""


def upgrade() -> None:
    op.create_table(
        "professionals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("headline", sa.String(length=300), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("access_notes", sa.Text(), nullable=True),
        sa.Column("video_link", sa.String(length=500), nullable=True),
        sa.Column("free_cancellation_hours", sa.Integer(), nullable=False),
        sa.Column("late_cancellation_refund_percent", sa.Integer(), nullable=False),
        sa.Column("max_reschedules", sa.Integer(), nullable=False),
        sa.Column(
            "no_show",
            sa.Enum("charge_full", "one_free_reschedule", name="noshowrule", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("booking_horizon_days", sa.Integer(), nullable=False),
        sa.Column("hold_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer(), nullable=False),
        sa.Column("slot_step_minutes", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_professionals")),
        sa.UniqueConstraint("slug", name=op.f("uq_professionals_slug")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_professionals_telegram_id")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("first_name", sa.String(length=128), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_users_telegram_id")),
    )
    op.create_table(
        "date_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_date_overrides_professional_id_professionals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_date_overrides")),
        sa.UniqueConstraint("professional_id", "on_date", name=op.f("uq_date_overrides_professional_id")),
    )
    op.create_index(op.f("ix_date_overrides_professional_id"), "date_overrides", ["professional_id"], unique=False)
    op.create_table(
        "services",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("video", "in_person", name="servicemode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_services_positive_duration")),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_services_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_services_professional_id_professionals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("professional_id", "slug", name=op.f("uq_services_professional_id")),
    )
    op.create_index(op.f("ix_services_professional_id"), "services", ["professional_id"], unique=False)
    op.create_table(
        "time_off",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.CheckConstraint("first_day <= last_day", name=op.f("ck_time_off_range_order")),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_time_off_professional_id_professionals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    op.create_index(op.f("ix_time_off_professional_id"), "time_off", ["professional_id"], unique=False)
    op.create_table(
        "weekly_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("ends", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "starts >= 0 AND starts < ends AND ends <= 1440", name=op.f("ck_weekly_windows_window_bounds")
        ),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name=op.f("ck_weekly_windows_weekday_range")),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_weekly_windows_professional_id_professionals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_windows")),
    )
    op.create_index(op.f("ix_weekly_windows_professional_id"), "weekly_windows", ["professional_id"], unique=False)
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("block_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("block_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "held",
                "confirmed",
                "completed",
                "no_show",
                "expired",
                "cancelled",
                name="bookingstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("reschedule_count", sa.Integer(), nullable=False),
        sa.Column("paid_with", sa.String(length=16), nullable=True),
        sa.Column("client_notes", sa.Text(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=16), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("refund_minor", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "block_starts_at <= starts_at AND ends_at <= block_ends_at", name=op.f("ck_bookings_block_covers")
        ),
        sa.CheckConstraint("starts_at < ends_at", name=op.f("ck_bookings_time_order")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_bookings_version_positive")),
        sa.ForeignKeyConstraint(["client_id"], ["users.id"], name=op.f("fk_bookings_client_id_users")),
        sa.ForeignKeyConstraint(
            ["professional_id"], ["professionals.id"], name=op.f("fk_bookings_professional_id_professionals")
        ),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_bookings_service_id_services")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index(op.f("ix_bookings_client_id"), "bookings", ["client_id"], unique=False)
    op.create_index("ix_bookings_professional_block", "bookings", ["professional_id", "block_starts_at"], unique=False)
    op.create_index(op.f("ix_bookings_state"), "bookings", ["state"], unique=False)
    op.create_table(
        "override_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("override_id", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("ends", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "starts >= 0 AND starts < ends AND ends <= 1440", name=op.f("ck_override_windows_window_bounds")
        ),
        sa.ForeignKeyConstraint(
            ["override_id"],
            ["date_overrides.id"],
            name=op.f("fk_override_windows_override_id_date_overrides"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_override_windows")),
    )
    op.create_index(op.f("ix_override_windows_override_id"), "override_windows", ["override_id"], unique=False)
    op.create_table(
        "packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("sessions > 0", name=op.f("ck_packages_positive_sessions")),
        sa.CheckConstraint("valid_days > 0", name=op.f("ck_packages_positive_validity")),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_packages_professional_id_professionals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_packages_service_id_services"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("professional_id", "slug", name=op.f("uq_packages_professional_id")),
    )
    op.create_index(op.f("ix_packages_professional_id"), "packages", ["professional_id"], unique=False)
    op.create_table(
        "booking_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_events_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_events")),
    )
    op.create_index(op.f("ix_booking_events_booking_id"), "booking_events", ["booking_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT no_overlapping_bookings EXCLUDE USING gist "
            "(professional_id WITH =, tstzrange(block_starts_at, block_ends_at, '[)') WITH &&) "
            f"WHERE (state IN {ACTIVE})"
        )
    else:
        op.execute(f"CREATE TRIGGER bookings_no_overlap_insert BEFORE INSERT ON bookings BEGIN {SQLITE_OVERLAP} END")
        op.execute(
            "CREATE TRIGGER bookings_no_overlap_update BEFORE UPDATE OF "
            "professional_id, state, block_starts_at, block_ends_at ON bookings "
            f"BEGIN {SQLITE_OVERLAP} END"
        )


def downgrade() -> None:
    for table in (
        "booking_events",
        "packages",
        "override_windows",
        "bookings",
        "weekly_windows",
        "time_off",
        "services",
        "date_overrides",
        "users",
        "professionals",
    ):
        op.drop_table(table)
