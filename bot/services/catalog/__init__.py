"""Catalog import: professionals, their hours and what they offer, from a YAML file (examples/catalog.yaml).

Two steps, so that a bad file writes nothing:

1. reading.py (`load_catalog` / `parse_catalog`) reads the file into the plain dataclasses of spec.py,
   and checking.py checks everything that can be checked without the database, with the line of any
   problem (nodes.py walks the YAML as nodes so every value knows its line). Hours windows follow
   bot/services/windows.py, the rules /hours follows too.
2. sync.py (`import_catalog`) writes it all in one transaction: records matched by slug and updated in
   place, services and packages no longer in the file deactivated (bookings refer to them), and a
   professional's weekly hours, date overrides and time off made exactly what the file says.
"""

from bot.services.catalog.checking import check_holds_for_stripe
from bot.services.catalog.reading import load_catalog, parse_catalog
from bot.services.catalog.spec import Catalog, OverrideSpec, PackageSpec, ProfessionalSpec, ServiceSpec
from bot.services.catalog.sync import ImportSummary, import_catalog, import_file

__all__ = [
    "Catalog",
    "ImportSummary",
    "OverrideSpec",
    "PackageSpec",
    "ProfessionalSpec",
    "ServiceSpec",
    "check_holds_for_stripe",
    "import_catalog",
    "import_file",
    "load_catalog",
    "parse_catalog",
]
