"""The follow-ups in `bookbot demo`: a reply to a reminder moves the session to tomorrow's nearest free
time (in English and in another language than the chat's), and the professional's daily agenda comes
at 08:00 in her zone, once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.render import format_clock, format_day
from tests.e2e.test_demo import KYIV, NOW, REMINDERS, TUE_0900, TUE_NOV_24, Step, _check, _play

# Booked through the demo: Anna's free intro call on Tuesday, December 1 at 9:00 Kyiv, a week ahead.
BOOKED = REMINDERS[:10]
TOMORROW = format_day(NOW + timedelta(days=2), KYIV, "en")  # the reminder comes a day later: Wed, Nov 25


def _offered_after(output: str, typed: str) -> list[str]:
    """The labels of the buttons the bot showed after `typed`, up to the next prompt."""
    start = output.index(f"> {typed}\n") + len(typed) + 3
    following = re.search(r"\n\S[^\n]*> ", output[start:])
    shown = output[start : start + following.start()] if following else output[start:]
    return [label for line in shown.splitlines() for label in re.findall(r"\[\d+\] (.+?)(?=\s{3}\[\d+\]|$)", line)]


async def _reply_moves_to_tomorrow(reply: str) -> None:
    steps: list[Step] = [
        *BOOKED,
        ("/time +1d", ["Reminder: your session starts in 7 days."]),
        (reply, ["Free around the time you asked", "Now: Tue, Dec 1, 2026, 9:00"]),
    ]
    output = await _play([*steps, ("1", ["✅ Moved!"])])
    _check(output, steps)
    offered = [label for label in _offered_after(output, reply) if label != "Keep my time"]
    # Tomorrow's nearest free times, 3 PM among them, and nothing from another day.
    assert 2 <= len(offered) <= 6, offered
    assert all(label.startswith(TOMORROW) for label in offered), offered
    three_pm = datetime(2026, 11, 25, 13, 0, tzinfo=NOW.tzinfo)
    assert any(format_clock(three_pm, KYIV, "en") in label for label in offered), offered
    moved = output[output.rindex("✅ Moved!") :]
    assert f"When: {offered[0]}" in moved
    assert "Traceback" not in output


async def test_tomorrow_at_3pm_offers_tomorrows_nearest_times_and_one_tap_moves() -> None:
    await _reply_moves_to_tomorrow("tomorrow at 3pm")


async def test_a_reply_in_spanish_to_an_english_chat_moves_it_too() -> None:
    await _reply_moves_to_tomorrow("mañana a las 15:00")


DAILY: list[Step] = [
    ("/as pro anna-koval", ["(you are now Anna Koval (professional))"]),
    ("/daily", ["🗓 Daily agenda: off.", "[1] Turn it on"]),
    ("1", ["Turned on.", "🗓 Daily agenda: on. Every morning at 08:00", "[1] Turn it off"]),
    ("/as client", ["(you are now Olena (client))"]),
    ("/start", ["Which language should I use?"]),
    ("1", ["Which time zone are you in?"]),
    ("kyiv", ["[1] Anna Koval"]),
    ("1", ["[1] Free intro call · Free"]),
    ("1", [f"[2] {TUE_NOV_24}"]),
    ("2", [f"[1] {format_clock(TUE_0900, KYIV, 'en')}"]),
    ("1", ["[1] Skip"]),
    ("Captions, please.", ["[1] ✅ Confirm"]),
    ("1", ["✅ Booked!"]),
    # Monday 11:00 Kyiv -> Tuesday 07:00: nothing yet; 08:00 brings Anna's day.
    ("/time +20h", ["(clock:"]),
    (
        "/time +1h",
        [
            "bot → Anna Koval (professional):\n  🗓 Today, " + format_day(TUE_0900, KYIV, "en") + ": 1 session",
            f"{format_clock(TUE_0900, KYIV, 'en')}–{format_clock(TUE_0900 + timedelta(minutes=20), KYIV, 'en')} "
            "Olena · Free intro call (video)",
            "Notes: Captions, please.",
        ],
    ),
    ("/time +1d", ["(clock:"]),
]


async def test_the_daily_agenda_in_the_demo() -> None:
    output = await _play(DAILY)
    _check(output, DAILY)
    assert output.count("🗓 Today, ") == 1  # Tuesday's, once; Wednesday has no sessions
    before_eight = output[output.index("> /time +20h") : output.index("> /time +1h")]
    assert "🗓 Today" not in before_eight
    assert "Traceback" not in output
