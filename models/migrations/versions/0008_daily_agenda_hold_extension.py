"""The professional's daily agenda switch, and a held booking's one extension.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ONCE = "hold_extensions BETWEEN 0 AND 1"


def upgrade() -> None:
    # Plain ADD COLUMNs (SQLite can, with a constant default): rebuilding either table would trip the
    # foreign keys that point at it.
    op.add_column("professionals", sa.Column("daily_agenda", sa.Boolean(), server_default=sa.false(), nullable=False))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column's own CHECK with it; it cannot add a table constraint later.
        op.execute(
            "ALTER TABLE bookings ADD COLUMN hold_extensions INTEGER DEFAULT 0 NOT NULL "
            f"CONSTRAINT ck_bookings_hold_extended_once CHECK ({_ONCE})"
        )
    else:
        op.add_column(
            "bookings", sa.Column("hold_extensions", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        op.create_check_constraint(op.f("ck_bookings_hold_extended_once"), "bookings", _ONCE)


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("hold_extensions")
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("daily_agenda")
