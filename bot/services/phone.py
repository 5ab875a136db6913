"""A phone session's number: asked only for phone sessions, with the client's consent, kept on that one
booking (bookings.client_phone) and shown only to its professional (and back to the client).

Numbers are kept in international form: "+" and 8 to 15 digits (ITU-T E.164), the first not 0.
Spaces, dashes, dots and brackets people type are dropped; "00" before the country code counts as "+".
"""

from __future__ import annotations

import re

MIN_DIGITS, MAX_DIGITS = 8, 15
_SEPARATORS = re.compile(r"[\s\-().]")


def normalize(text: str) -> str | None:
    """The number in international form, or None when `text` is not one (a missing country code too)."""
    raw = _SEPARATORS.sub("", text.strip())
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if not raw.startswith("+"):
        return None
    digits = raw[1:]
    if not digits.isascii() or not digits.isdigit() or not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return None
    if digits.startswith("0"):
        return None
    return "+" + digits


def from_contact(phone_number: str) -> str | None:
    """A number Telegram's contact button sent (its digits may come without the "+")."""
    raw = phone_number.strip()
    return normalize(raw if raw.startswith("+") else "+" + raw)
