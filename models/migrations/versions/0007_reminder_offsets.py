"""Per-professional reminder offsets (minutes before a session the client is reminded).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite can, with a constant default): rebuilding the table would trip the
    # foreign keys that point at it.
    op.add_column(
        "professionals", sa.Column("reminders", sa.JSON(), server_default=sa.text("'[1440, 60]'"), nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("reminders")
