"""Money for people: integer minor units + ISO 4217 code -> "€60.00" / "60,00 EUR" (Babel)."""

from __future__ import annotations

from decimal import Decimal

from aiogram.utils.i18n import gettext as _
from babel.numbers import format_currency, get_currency_precision

from bot.render.babel_locale import babel_locale
from bot.render.dates import tidy_spaces


def format_money(amount_minor: int, currency: str, locale: str) -> str:
    """6000 EUR -> "€60.00" in en; 500 JPY -> "¥500" (JPY has no minor unit)."""
    precision = get_currency_precision(currency)
    amount = Decimal(amount_minor).scaleb(-precision)
    return tidy_spaces(format_currency(amount, currency, locale=babel_locale(locale)))


def format_price(amount_minor: int, currency: str, locale: str) -> str:
    """Like format_money, but a price of zero reads "Free"."""
    if amount_minor == 0:
        return _("Free")
    return format_money(amount_minor, currency, locale)
