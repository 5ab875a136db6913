"""Crisis events (who, when, language, rule; never the text) and the per-professional crisis alert switch.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crisis_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("professionals_alerted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_crisis_events_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_events")),
    )
    op.create_index("ix_crisis_events_telegram_id_occurred_at", "crisis_events", ["telegram_id", "occurred_at"])
    # A plain ADD COLUMN (SQLite allows it with a constant default): batch mode would copy and drop the
    # table, which foreign keys from bookings refuse once professionals have bookings.
    op.add_column("professionals", sa.Column("crisis_alerts", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("crisis_alerts")
    op.drop_index("ix_crisis_events_telegram_id_occurred_at", table_name="crisis_events")
    op.drop_table("crisis_events")
