"""Package purchases and the credit ledger; Stripe Connect accounts; Checkout Sessions to expire.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GRANT = "kind = 'grant'"
_SPEND = "kind = 'spend'"
_RETURN = "kind = 'return'"


def upgrade() -> None:
    # Plain ADD COLUMNs (SQLite can): rebuilding these tables would trip the foreign keys pointing at them.
    op.add_column("professionals", sa.Column("stripe_account", sa.String(length=255), nullable=True))
    op.add_column("payments", sa.Column("destination_account", sa.String(length=255), nullable=True))
    op.add_column("payments", sa.Column("expire_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payments", sa.Column("expire_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.create_index(
        "ix_payments_expire_due",
        "payments",
        ["expire_due_at"],
        unique=False,
        postgresql_where=sa.text("expire_due_at IS NOT NULL"),
    )
    op.create_table(
        "package_purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column("checkout_session_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_url", sa.Text(), nullable=True),
        sa.Column("checkout_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destination_account", sa.String(length=255), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_package_purchases_amount_not_negative")),
        sa.CheckConstraint("sessions > 0 AND valid_days > 0", name=op.f("ck_package_purchases_positive_terms")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_package_purchases_client_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"], name=op.f("fk_package_purchases_package_id_packages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_purchases")),
        sa.UniqueConstraint("checkout_session_id", name=op.f("uq_package_purchases_checkout_session_id")),
    )
    op.create_index(op.f("ix_package_purchases_client_id"), "package_purchases", ["client_id"], unique=False)
    op.create_index(op.f("ix_package_purchases_package_id"), "package_purchases", ["package_id"], unique=False)
    op.create_index(
        op.f("ix_package_purchases_payment_intent_id"), "package_purchases", ["payment_intent_id"], unique=False
    )
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=True),
        sa.Column("purchase_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'grant' AND amount > 0 AND grant_id IS NULL AND purchase_id IS NOT NULL "
            "AND expires_at IS NOT NULL AND booking_id IS NULL)"
            " OR (kind = 'spend' AND amount = -1 AND grant_id IS NOT NULL AND booking_id IS NOT NULL)"
            " OR (kind = 'return' AND amount = 1 AND grant_id IS NOT NULL AND booking_id IS NOT NULL)"
            " OR (kind = 'expire' AND amount < 0 AND grant_id IS NOT NULL AND booking_id IS NULL)",
            name=op.f("ck_credit_entries_entry_shape"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_credit_entries_booking_id_bookings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["users.id"], name=op.f("fk_credit_entries_client_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["credit_entries.id"],
            name=op.f("fk_credit_entries_grant_id_credit_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["package_id"], ["packages.id"], name=op.f("fk_credit_entries_package_id_packages")),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["package_purchases.id"],
            name=op.f("fk_credit_entries_purchase_id_package_purchases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
    )
    op.create_index(op.f("ix_credit_entries_grant_id"), "credit_entries", ["grant_id"], unique=False)
    op.create_index("ix_credit_entries_owner", "credit_entries", ["client_id", "package_id"], unique=False)
    for name, column, where in (
        ("uq_credit_entries_grant_per_purchase", "purchase_id", _GRANT),
        ("uq_credit_entries_spend_per_booking", "booking_id", _SPEND),
        ("uq_credit_entries_return_per_booking", "booking_id", _RETURN),
    ):
        op.create_index(
            name,
            "credit_entries",
            [column],
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    op.drop_table("credit_entries")
    op.drop_table("package_purchases")
    op.drop_index("ix_payments_expire_due", table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("expire_attempts")
        batch.drop_column("expire_due_at")
        batch.drop_column("destination_account")
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("stripe_account")
