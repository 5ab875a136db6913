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
    ("/hours", ["Your weekly hours, in ", "Monday: ", "Friday: ", "Days off ahead:\n  • "]),
    ("/as client", ["(you are now Olena (client))"]),
    ("/agenda", ["This is for professionals"]),
]


async def test_the_professional_side_in_the_demo() -> None:
    output = await _play(PROFESSIONAL)
    _check(output, PROFESSIONAL)
    assert "Traceback" not in output


# The professional cancels from /agenda; the client's one message offers times, and a tap rebooks.
CANCEL_BY_PRO: list[Step] = [
    ("/as pro anna-koval", ["(you are now Anna Koval (professional))"]),
    ("/as client", ["(you are now Olena (client))"]),
    ("/start", ["Which language should I use?"]),
    ("1", ["Which time zone are you in?"]),
    ("kyiv", ["[1] Anna Koval"]),
    ("1", ["[1] Free intro call · Free"]),
    ("1", [f"[2] {TUE_NOV_24}"]),
    ("2", [f"[1] {format_clock(TUE_0900, KYIV, 'en')}"]),
    ("1", ["[1] Skip"]),
    ("1", ["[1] ✅ Confirm"]),
    ("1", ["✅ Booked!", "bot → Anna Koval (professional):\n  📅 New booking"]),
    ("/as pro anna-koval", ["(you are now Anna Koval (professional))"]),
    ("/agenda", ["[1] ⚙ Cancel or move: "]),
    ("1", ["[1] ✖ Cancel it   [2] 🔁 Move it"]),
    ("1", ["Why? Olena reads the reason.", "[1] Illness"]),
    ("1", ["Reason: illness", "[1] ✖ Yes, cancel it"]),
    (
        "1",
        [
            "Cancelled: Olena, ",
            "bot → Olena (client):\n  Anna Koval had to cancel your session.",
            "Reason: illness",
            "Tap one of Anna Koval's nearest free times below to rebook at no cost.",
            "🗓 Other times with Anna Koval]",
        ],
    ),
    ("/as client", ["your buttons: [1] "]),
    ("1", ["✅ Booked!", "bot → Anna Koval (professional):\n  📅 New booking"]),
]


async def test_the_professional_cancels_and_the_client_rebooks_in_the_demo() -> None:
    output = await _play(CANCEL_BY_PRO)
    _check(output, CANCEL_BY_PRO)
    assert "Traceback" not in output


# The professional is available now from /agenda; the client finds them under "Available now", books in
# one tap, and once booked (or when the window ends) nobody is available now.
INSTANT: list[Step] = [
    ("/as pro anna-koval", ["(you are now Anna Koval (professional))"]),
    ("/agenda", ["⚡ Available now…"]),
    ("1", ["For how long are you available now?", "[2] 60 min"]),
    ("2", ["⚡ You are available now until ", ": turn off"]),
    ("/as client", ["(you are now Olena (client))"]),
    ("/start", ["Which language should I use?"]),
    ("1", ["Which time zone are you in?"]),
    ("kyiv", ["[5] ⚡ Available now"]),
    (
        "5",
        ["⚡ Available now: sessions starting within 15 minutes", "Anna Koval · Free intro call", "[1] ⚡ Anna Koval"],
    ),
    ("1", ["✅ Booked!", "bot → Anna Koval (professional):\n  📅 New booking"]),
    ("/start", ["[5] ⚡ Available now"]),
    ("5", ["Nobody is available right now."]),
]


async def test_instant_sessions_in_the_demo() -> None:
    output = await _play(INSTANT)
    _check(output, INSTANT)
    assert "Traceback" not in output
