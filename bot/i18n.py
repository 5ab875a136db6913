"""Translations: aiogram's `I18n` over the gettext catalogs in `locales/`.

Every user-facing string goes through gettext: `from aiogram.utils.i18n import gettext as _, ngettext`
(`ngettext(singular, plural, n)` for anything counted; `lazy_gettext as __` in filters only). Messages sent
outside an update (the outbox, reminders) have no middleware to pick the locale: wrap the rendering in
``with i18n.context(), i18n.use_locale(locale):``, as bot/worker.py does.

The catalogs, from the repository root (babel.cfg says which files are scanned):

    # 1. extract: collect the strings from the code into the template
    .venv/bin/pybabel extract -F babel.cfg -k __ -k lazy_gettext --no-location --sort-output \\
        --add-comments=i18n: -o locales/messages.pot .
    # 2. update: merge the template into every language's catalog, then translate the new entries
    .venv/bin/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching
    # 3. compile: .po -> .mo (build output, gitignored); `python3 dev.py` does this, and so does
    #    `ensure_compiled` below whenever the app starts, so a fresh clone just works
    .venv/bin/pybabel compile --use-fuzzy -d locales -D messages
    # a new language:
    .venv/bin/pybabel init -i locales/messages.pot -d locales -D messages -l es

Check the Plural-Forms header of a new catalog (uk has three forms; `pybabel init` writes the right one).
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"

log = logging.getLogger(__name__)


def ensure_compiled(locales_dir: Path = LOCALES_DIR, domain: str = DOMAIN) -> list[Path]:
    """Compile every `<lang>/LC_MESSAGES/<domain>.po` whose `.mo` is missing or older; returns those written.

    aiogram's I18n loads only `.mo` files and refuses to start on a `.po` without one (PITFALLS).
    """
    written: list[Path] = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name, domain=domain)
        # Write beside and rename, so a process starting at the same moment never reads half a file.
        partial = mo_path.with_suffix(".mo.partial")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=True)
        partial.replace(mo_path)
        log.info("compiled %s", mo_path)
        written.append(mo_path)
    return written


def build_i18n(default_locale: str, locales_dir: Path = LOCALES_DIR) -> I18n:
    ensure_compiled(locales_dir)
    return I18n(path=locales_dir, default_locale=default_locale, domain=DOMAIN)


def pick_locale(i18n: I18n, *candidates: str | None) -> str:
    """The first candidate we have a catalog for ("pt-BR" matches "pt_BR", then "pt"); else the default."""
    for candidate in candidates:
        if not candidate:
            continue
        tag = candidate.replace("-", "_")
        for option in (tag, tag.split("_")[0].lower()):
            if option in i18n.available_locales:
                return option
    return i18n.default_locale
