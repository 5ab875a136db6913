"""Verification requests from professionals and the audit log of operators' decisions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=False),
        sa.Column("licence_number", sa.String(length=100), nullable=False),
        sa.Column("licensing_body", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=100), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("pending", "approved", "rejected", name="verificationstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_verification_requests_professional_id_professionals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_requests")),
    )
    op.create_index(
        op.f("ix_verification_requests_professional_id"), "verification_requests", ["professional_id"], unique=False
    )
    op.create_index(
        "uq_verification_requests_one_pending",
        "verification_requests",
        ["professional_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("professional_id", sa.Integer(), nullable=True),
        sa.Column("verification_request_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["professional_id"],
            ["professionals.id"],
            name=op.f("fk_audit_log_professional_id_professionals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["verification_request_id"],
            ["verification_requests.id"],
            name=op.f("fk_audit_log_verification_request_id_verification_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("verification_request_id", name=op.f("uq_audit_log_verification_request_id")),
    )
    op.create_index(op.f("ix_audit_log_professional_id"), "audit_log", ["professional_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_log_professional_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("uq_verification_requests_one_pending", table_name="verification_requests")
    op.drop_index(op.f("ix_verification_requests_professional_id"), table_name="verification_requests")
    op.drop_table("verification_requests")
