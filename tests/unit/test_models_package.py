"""The models package defines the calendar's models at once and the others when first used (models/__init__.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = {"models.booking", "models.catalog", "models.professional", "models.user"}


def test_every_model_names_only_the_calendar_and_its_own_module() -> None:
    # What makes the mapped models a whole whichever were used first: every foreign key and relationship
    # resolves, so mapping them and ordering a flush's tables never meet a model not yet defined.
    import models
    from models import Base

    module_of_table = {mapper.local_table.name: mapper.class_.__module__ for mapper in Base.registry.mappers}
    for mapper in Base.registry.mappers:
        own = mapper.class_.__module__
        allowed = CALENDAR | {own}
        for key in mapper.local_table.foreign_keys:
            assert module_of_table[key.column.table.name] in allowed, (own, key.target_fullname)
        for relationship in mapper.relationships:
            assert relationship.mapper.class_.__module__ in allowed, (own, relationship.key)
    later = set(models._ON_FIRST_USE.values())
    assert {mapper.class_.__module__ for mapper in Base.registry.mappers} == CALENDAR | later
    assert not CALENDAR & later


def test_the_package_defines_the_calendar_and_the_rest_as_they_are_used() -> None:
    probe = """
import json, sys
from sqlalchemy.orm import configure_mappers
from sqlalchemy.sql.util import sort_tables

def loaded():
    return sorted(m for m in sys.modules if m.startswith("models."))

def mapped():
    import models.base
    configure_mappers()
    return [table.name for table in sort_tables([m.local_table for m in models.base.Base.registry.mappers])]

import models
steps = [[loaded(), mapped()]]
from models import Payment, OutboxMessage
steps.append([loaded(), mapped()])
from models import Base
steps.append([loaded(), mapped(), sorted(Base.metadata.tables)])
print(json.dumps(steps))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    (calendar, calendar_tables), (more, more_tables), (every, every_tables, schema) = json.loads(result.stdout)
    assert set(calendar) == CALENDAR | {"models.base"}
    assert set(calendar_tables) == {"users", "professionals", "services", "packages", "weekly_windows"} | {
        "date_overrides",
        "override_windows",
        "time_off",
        "bookings",
        "booking_events",
    }
    assert set(more) == set(calendar) | {"models.payment", "models.outbox"}
    assert set(more_tables) == set(calendar_tables) | {"payments", "stripe_events", "outbox"}
    assert len(every) == 14 and sorted(every_tables) == schema
