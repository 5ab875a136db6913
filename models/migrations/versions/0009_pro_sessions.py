"""The professional's sessions: proposals to move a session (waiting for the client's answer), and
"available now" instant sessions (professionals.instant_until), a phone session's number
(bookings.client_phone).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "move_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("booking_version", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_move_proposals_booking_id_bookings"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_move_proposals")),
    )
    op.create_index(op.f("ix_move_proposals_booking_id"), "move_proposals", ["booking_id"], unique=False)
    # A plain ADD COLUMN (SQLite can): rebuilding the table would trip the foreign keys pointing at it.
    op.add_column("professionals", sa.Column("instant_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("bookings", sa.Column("client_phone", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("client_phone")
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("instant_until")
    op.drop_index(op.f("ix_move_proposals_booking_id"), table_name="move_proposals")
    op.drop_table("move_proposals")
