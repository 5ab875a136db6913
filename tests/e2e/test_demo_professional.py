"""The demo as the professional: `/as pro anna-koval`, then the client books and cancels, and the
professional's notifications show in the terminal (the runner ticks the worker after every step);
then /agenda and /hours as the professional."""

from __future__ import annotations

from bot.render import format_clock, zone_suffix
from tests.e2e.test_demo import KYIV, NOW, TUE_0900, TUE_NOV_24, Step, _check, _play

PROFESSIONAL: list[Step] = [
    ("/as pro anna-koval", ["(you are now Anna Koval (professional))"]),
    ("/as client", ["(you are now Olena (client))"]),
    ("/start", ["Which language should I use?"]),
    ("1", ["Which time zone are you in?"]),
    ("kyiv", ["[1] Anna Koval"]),
    ("1", ["[1] Free intro call · Free"]),
    ("1", [f"[2] {TUE_NOV_24}"]),
    ("2", [f"[1] {format_clock(TUE_0900, KYIV, 'en')}"]),
    ("1", ["[1] Skip"]),
    ("Captions, please.", ["[1] ✅ Confirm"]),
    (
        "1",
        [
            "✅ Booked!",
            # `/as pro` gives Anna the language her Telegram speaks (en), as picking one after her invite
            # would; her notifications speak it, not her profile's first language (uk).
            "bot → Anna Koval (professional):\n  📅 New booking\n  Client: Olena\n  Service: Free intro call",
            "Notes: Captions, please.",
            "[· Open my agenda]",
        ],
    ),
    ("/bookings", [f"[1] {TUE_NOV_24}"]),
    ("1", ["[1] ✖ Cancel"]),
    ("1", ["[1] Yes, cancel it"]),
    (
        "1",
        [
            "✖ Cancelled.",
            "bot → Anna Koval (professional):\n  ❌ Booking cancelled by the client\n  Client: Olena",
            "The time is free for other bookings again.",
        ],
    ),
    ("/as pro anna-koval", ["your buttons: [1] Open my agenda"]),
    ("1", [f"bot → you (edited):\n  Your agenda, times in {zone_suffix(KYIV, 'en', NOW)}", "No sessions."]),
    ("/hours", ["Monday: 09:00-12:00, 13:30-17:00", "Friday: 09:00-13:00", "Days off ahead:\n  • "]),
    ("/as client", ["(you are now Olena (client))"]),
    ("/agenda", ["This is for professionals"]),
]


async def test_the_professional_side_in_the_demo() -> None:
    output = await _play(PROFESSIONAL)
    _check(output, PROFESSIONAL)
    assert "Traceback" not in output
