"""A professional's schedule version, bumped by the database on every change of what the slot engine reads.

`professionals.schedule_version` goes up in the same transaction as any write to the professional's row
(hours settings, policy, zone...), weekly windows, date overrides and their windows, time off and services:
triggers do it, so a write that forgets (a new service function, an operator's SQL) still bumps it. Each
process caches a professional's schedule under the version it read (bot/services/schedule_cache.py) and
uses it only while the professional's row, read in the same transaction, still carries that version, so
replicas never serve another replica's stale hours.

A later SQLite migration that rebuilds `professionals` (batch_alter_table) drops its trigger: recreate
`professionals_schedule_version` there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose rows name their professional directly.
DIRECT = ("weekly_windows", "date_overrides", "time_off", "services")
BUMP = "UPDATE professionals SET schedule_version = schedule_version + 1 WHERE id = {}"
OVERRIDE_OWNER = "(SELECT professional_id FROM date_overrides WHERE id = {}.override_id)"


def _sqlite_triggers() -> list[str]:
    statements = []
    for table in DIRECT:
        for when, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
            body = " ".join(BUMP.format(f"{row}.professional_id") + ";" for row in rows)
            statements.append(
                f"CREATE TRIGGER {table}_schedule_{when.lower()} AFTER {when} ON {table} BEGIN {body} END"
            )
    for when, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        body = " ".join(BUMP.format(OVERRIDE_OWNER.format(row)) + ";" for row in rows)
        statements.append(
            f"CREATE TRIGGER override_windows_schedule_{when.lower()} AFTER {when} ON override_windows BEGIN {body} END"
        )
    # Any other change of the row itself (the bump's own UPDATE changes the version, so it stops there).
    statements.append(
        "CREATE TRIGGER professionals_schedule_version AFTER UPDATE ON professionals "
        "WHEN NEW.schedule_version = OLD.schedule_version "
        f"BEGIN {BUMP.format('NEW.id')}; END"
    )
    return statements


POSTGRES_FUNCTIONS = (
    """
CREATE FUNCTION bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE professionals SET schedule_version = schedule_version + 1 WHERE id = OLD.professional_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE professionals SET schedule_version = schedule_version + 1 WHERE id = NEW.professional_id;
    END IF;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION bump_override_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE professionals SET schedule_version = schedule_version + 1
        WHERE id = (SELECT professional_id FROM date_overrides WHERE id = OLD.override_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE professionals SET schedule_version = schedule_version + 1
        WHERE id = (SELECT professional_id FROM date_overrides WHERE id = NEW.override_id);
    END IF;
    RETURN NULL;
END $$""",
    """
CREATE FUNCTION bump_own_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- (compared as jsonb: json columns have no equality)
    IF NEW.schedule_version = OLD.schedule_version AND to_jsonb(NEW) <> to_jsonb(OLD) THEN
        NEW.schedule_version := OLD.schedule_version + 1;
    END IF;
    RETURN NEW;
END $$""",
)


def upgrade() -> None:
    op.add_column(
        "professionals", sa.Column("schedule_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    if op.get_bind().dialect.name == "postgresql":
        for function in POSTGRES_FUNCTIONS:  # one statement at a time: asyncpg prepares each
            op.execute(function)
        for table in DIRECT:
            op.execute(
                f"CREATE TRIGGER {table}_schedule_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION bump_schedule_version()"
            )
        op.execute(
            "CREATE TRIGGER override_windows_schedule_version AFTER INSERT OR UPDATE OR DELETE ON override_windows "
            "FOR EACH ROW EXECUTE FUNCTION bump_override_schedule_version()"
        )
        op.execute(
            "CREATE TRIGGER professionals_schedule_version BEFORE UPDATE ON professionals "
            "FOR EACH ROW EXECUTE FUNCTION bump_own_schedule_version()"
        )
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*DIRECT, "override_windows", "professionals"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_schedule_version ON {table}")
        for function in ("bump_schedule_version", "bump_override_schedule_version", "bump_own_schedule_version"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for statement in _sqlite_triggers():
            name = statement.split()[2]
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("professionals") as batch:
        batch.drop_column("schedule_version")
