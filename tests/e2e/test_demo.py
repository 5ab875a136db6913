"""`bookbot demo` driven through its input like a person at the terminal.

Each scenario is a list of (what to type, what must appear in the output after it). Extending the
demo's coverage (browsing, booking, the professional's notifications) is adding steps.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.demo.runner import LineReader, run_demo
from bot.render import format_clock, format_instant, format_money, format_price, zone_label, zone_suffix
from handlers.client_wording import long_day, short_day, week_label
from handlers.start import language_name

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Step = tuple[str, Sequence[str]]
# The demo's dates, times, zones, money and language names as the render helpers write them (their exact
# CLDR output is pinned in tests/bot/test_render.py).
KYIV = "Europe/Kyiv"
ENGLISH, UKRAINIAN = language_name("en"), language_name("uk")
KYIV_EN, KYIV_UK = zone_label(KYIV, "en", NOW), zone_label(KYIV, "uk", NOW)
KYIV_SUFFIX = zone_suffix(KYIV, "en", NOW)
NOV_23, NOV_24 = date(2026, 11, 23), date(2026, 11, 24)
THIS_WEEK = week_label(NOV_23, NOV_23 + timedelta(days=6), "en")
TUE_NOV_24 = short_day(NOV_24, "en")
TUE_0900 = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)

ONBOARDING: list[Step] = [
    ("/start", ["Hello, Olena!", "Which language should I use?", f"[1] ✓ {ENGLISH}", f"[2] {UKRAINIAN}"]),
    ("2", ["bot → you (edited):", f"Мова: {UKRAINIAN}", "У якому ви часовому поясі?", "keyboard: [1] 📍 Надіслати"]),
    # Atlantis is a real town (Western Cape, South Africa): a made-up name is what finds nothing.
    ("Mordor", ["Не вдалося знайти часовий пояс для «Mordor»."]),
    ("1", ["(sharing the demo location", f"Ваш часовий пояс: {KYIV_UK}", "Усе готово."]),
    ("/settings", [f"Часовий пояс: {KYIV_UK}", "[1] Змінити мову", "[2] Змінити часовий пояс"]),
    ("1", ["Якою мовою спілкуватися?"]),
    ("1", [f"Language: {ENGLISH}"]),
    ("9", ["(no button 9"]),
    ("/time +2h", [f"(clock: {format_instant(NOW + timedelta(hours=2), 'UTC', 'en')}"]),
]


def _reader(lines: Sequence[str]) -> LineReader:
    pending = list(lines)

    async def read_line() -> str | None:
        return pending.pop(0) + "\n" if pending else None

    return read_line


async def _play(steps: Sequence[Step], files: Path | None = None) -> str:
    out = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="bookbot-demo-test-") as scratch:
        folder = files or Path(scratch)
        await run_demo(_reader([typed for typed, _ in steps]), out, files=folder, now=NOW, echo=True)
    return out.getvalue()


def _check(output: str, steps: Sequence[Step]) -> None:
    """Each step's expectations appear after what was typed, in order."""
    position = 0
    for typed, expected in steps:
        prompt = output.find(f"> {typed}\n", position)
        assert prompt >= 0, f"the demo never read {typed!r}:\n{output[position:]}"
        position = prompt
        for snippet in expected:
            found = output.find(snippet, position)
            assert found >= 0, f"after {typed!r}, expected {snippet!r} in:\n{output[prompt:]}"
            position = found


async def test_onboarding_in_the_demo() -> None:
    output = await _play(ONBOARDING)
    _check(output, ONBOARDING)
    assert "Traceback" not in output


async def test_deep_link_and_acting_as_the_professional() -> None:
    steps: list[Step] = [
        ("/start pro_anna-koval", ["Which language should I use?"]),
        ("1", ["Which time zone are you in?"]),
        ("kyiv", [f"Your time zone: {KYIV_EN}", "Anna Koval"]),
        ("/as pro anna-koval", ["(you are now Anna Koval (professional))"]),
        ("/start", ["Hello again, Anna Koval! This is your practice:"]),
        ("/as client", ["(you are now Olena (client))"]),
    ]
    output = await _play(steps)
    _check(output, steps)


BOOKING: list[Step] = [
    ("/start", ["Which language should I use?"]),
    ("1", ["Which time zone are you in?"]),
    ("kyiv", ["You're all set.", "Find a professional (2 listed)", "[1] Anna Koval", "[2] David Moreno"]),
    ("1", ["Anna Koval", "Rating: No reviews yet", f"[2] Coaching session · {format_money(6000, 'EUR', 'en')}"]),
    ("2", [f"Pick a day in the week of {THIS_WEEK} (your time zone: {KYIV_SUFFIX}):", f"[2] {TUE_NOV_24}"]),
    ("2", [f"{long_day(NOV_24, 'en')}: free times ({KYIV_SUFFIX})", f"[1] {format_clock(TUE_0900, KYIV, 'en')}"]),
    ("1", ["Anything Anna Koval should know before the session?", "[1] Skip"]),
    (
        "Captions, please.",
        ["Please check your booking:", "Your notes: Captions, please.", "refunds 50%", "[1] ✅ Confirm"],
    ),
    (
        "1",
        [
            f"Held for you until {format_clock(NOW + timedelta(minutes=30), KYIV, 'en')}",
            f"({KYIV_SUFFIX}).",
            f"[1] 💳 Pay {format_price(6000, 'EUR', 'en')}",
            "[2] Release this time",
        ],
    ),
    ("/time +31m", ["The time held for you has run out", "[1] 🗓 Pick a time again"]),
    ("1", [f"Pick a day in the week of {THIS_WEEK}"]),
    ("/start", ["Hello again, Olena!"]),
    ("1", ["[1] Free intro call · Free"]),
    ("1", [f"[2] {TUE_NOV_24}"]),
    ("2", [f"[1] {format_clock(TUE_0900, KYIV, 'en')}"]),
    ("1", ["[1] Skip"]),
    ("1", ["Free cancellation at any time before the start.", "[1] ✅ Confirm"]),
    ("1", ["✅ Booked!", "Video call: https://meet.example.org/anna-koval", "[file: session-20261124-0900.ics"]),
    ("/bookings", ["Your upcoming sessions:", "Free intro call with Anna Koval (confirmed)", f"[1] {TUE_NOV_24}"]),
    ("1", ["Status: confirmed", "[1] ✖ Cancel"]),
    ("1", ["Cancel this session?", "This is free.", "[1] Yes, cancel it"]),
    ("1", ["✖ Cancelled.", "[1] 🗓 Pick another time"]),
    ("/bookings", ["You have no upcoming sessions."]),
]


PAYING: list[Step] = [
    ("/start", ["Which language should I use?"]),
    ("1", ["Which time zone are you in?"]),
    ("kyiv", ["You're all set."]),
    ("1", ["[2] Coaching session · €60.00"]),
    ("2", ["[2] Tue, Nov 24"]),
    ("2", ["[1] 9:00"]),
    ("1", ["[1] Skip"]),
    ("1", ["Please check your booking:", "[1] ✅ Confirm"]),
    ("1", ["Held for you until 11:30", "Pay by then to confirm it", "[1] 💳 Pay €60.00"]),
    ("1", ["(opens http://127.0.0.1:", "/demo/checkout/cs_demo_1_1 in a browser)"]),
    ("/pay", ["a signed checkout.session.completed)", "✅ Booked!", "Video call:", "[file: session-20261124-0900.ics"]),
    ("/pay", ["(nothing to pay"]),
    ("/bookings", ["Coaching session with Anna Koval (confirmed)"]),
]


CREDITS_UNTIL = NOW + timedelta(days=120)  # the example catalog's five sessions, valid 120 days
PACKAGE: list[Step] = [
    ("/start", ["Which language should I use?"]),
    ("1", ["Which time zone are you in?"]),
    ("kyiv", ["You're all set."]),
    (
        "1",
        ["Packages (1 credit = 1 session):", f"[4] 🎟 Buy: Five coaching sessions · {format_price(27000, 'EUR', 'en')}"],
    ),
    ("4", ["Five coaching sessions with Anna Koval", f"[1] 💳 Pay {format_price(27000, 'EUR', 'en')}"]),
    ("1", ["/demo/checkout/cs_demo_p1 in a browser)"]),
    (
        "/pay",
        [
            "a signed checkout.session.completed)",
            "✅ Payment received: Five coaching sessions (Anna Koval).",
            f"You have 5 credits for Coaching session, valid until {format_instant(CREDITS_UNTIL, KYIV, 'en')}.",
            "[1] 🗓 Book: Coaching session",
        ],
    ),
    ("1", [f"[2] {TUE_NOV_24}"]),
    ("2", [f"[1] {format_clock(TUE_0900, KYIV, 'en')}"]),
    ("1", ["[1] Skip"]),
    (
        "1",
        [
            "With a credit: cancel up to 72 hours before the start and it comes back; later it stays used.",
            f"[1] 🎟 Use 1 credit (5 left, until {short_day(CREDITS_UNTIL.date(), 'en')})",
            "[2] ✅ Confirm",
        ],
    ),
    ("1", ["✅ Booked!", "Video call: https://meet.example.org/anna-koval", "[file: session-20261124-0900.ics"]),
    ("/credits", ["Five coaching sessions (Anna Koval)", "4 credits left"]),
    ("/pay", ["(nothing to pay"]),
]


async def test_buying_a_package_and_booking_with_a_credit_in_the_demo() -> None:
    output = await _play(PACKAGE)
    _check(output, PACKAGE)
    assert "Traceback" not in output


async def test_paying_for_a_session_in_the_demo() -> None:
    output = await _play(PAYING)
    _check(output, PAYING)
    assert "Demo checkout pages: http://127.0.0.1:" in output
    assert "Traceback" not in output


async def test_booking_a_session_in_the_demo() -> None:
    output = await _play(BOOKING)
    _check(output, BOOKING)
    assert "Traceback" not in output


def test_bookbot_demo_command_reads_stdin_until_eof(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The CLI entry point itself, in-process (a subprocess would spend most of its time importing).
    monkeypatch.setattr(sys, "stdin", io.StringIO("/start\n1\nnew york\n"))
    assert main(["demo", "--now", NOW.isoformat(), "--files", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert f"Your time zone: {zone_label('America/New_York', 'en', NOW)}" in output
    assert output.rstrip().endswith("Olena>")  # end of input: a clean exit at the prompt


def test_bookbot_demo_refuses_a_naive_now(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--now", "2026-11-23T09:00"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bookbot: demo: argument --now:") and "needs a UTC offset" in err


async def test_the_calendar_file_is_saved_where_the_demo_says(tmp_path: Path) -> None:
    files = tmp_path / "sent-files"
    output = await _play(BOOKING, files=files)
    assert f"Files the bot sends are saved in {files}" in output
    saved = files / "session-20261124-0900.ics"  # Olena's own date and time in Kyiv, not UTC's 07:00
    assert f"saved as {saved}" in output
    assert saved.read_bytes().startswith(b"BEGIN:VCALENDAR")


async def test_the_clock_shows_the_clients_zone_once_she_has_one() -> None:
    steps: list[Step] = [
        ("/time", ["(clock: " + format_instant(NOW, "UTC", "en") + "; move it with /time +2h)"]),
        ("/start", ["Which language should I use?"]),
        ("1", ["Which time zone are you in?"]),
        ("kyiv", ["Your time zone: Kyiv"]),
        ("/time", ["Olena's time: " + format_instant(NOW, "Europe/Kyiv", "en")]),
        ("/time +1d", ["Olena's time: " + format_instant(NOW + timedelta(days=1), "Europe/Kyiv", "en")]),
    ]
    output = await _play(steps)
    _check(output, steps)
    first_clock = output[: output.index("> /start")]
    assert "Olena's time" not in first_clock  # no zone chosen yet: nothing made up


async def test_time_refuses_what_it_cannot_do_and_says_why() -> None:
    steps: list[Step] = [
        ("/time -2h", ["(cannot move the clock by '-2h': the demo clock only moves forward"]),
        ("/time tomorrow", ["(cannot move the clock by 'tomorrow': write a step forward as +30m, +2h or +1d)"]),
        ("/time +0m", ["a step of zero changes nothing"]),
        ("/time +99999999999999999999d", ["at most 366 days at a time"]),
        ("/time", ["(clock: " + format_instant(NOW, "UTC", "en")]),  # none of them moved it
    ]
    output = await _play(steps)
    _check(output, steps)
    assert "Traceback" not in output


async def test_as_admin_opens_the_admin_screen() -> None:
    steps: list[Step] = [
        ("/as admin", ["(you are now the operator (admin))", "Unverified (1)", "Verified (2)"]),
        ("/as client", ["(you are now Olena (client))"]),
    ]
    output = await _play(steps)
    _check(output, steps)


def test_ctrl_c_leaves_the_demo_at_once_while_it_waits_for_input(tmp_path: Path) -> None:
    # The terminal stays open (no end of input): before, the thread reading it kept the demo running
    # after Ctrl-C until Enter was pressed. One subprocess: a signal cannot be sent to an in-process run.
    demo = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--now", NOW.isoformat(), "--files", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert demo.stdout is not None and demo.stdin is not None
    seen = ""
    while not seen.endswith("Olena> "):
        chunk = demo.stdout.read(1)
        assert chunk, f"the demo ended before its prompt: {seen}{demo.stderr.read() if demo.stderr else ''}"
        seen += chunk
    demo.send_signal(signal.SIGINT)
    try:
        _, err = demo.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        demo.kill()
        raise AssertionError("the demo was still waiting for input after Ctrl-C") from None
    assert demo.returncode == 130
    assert "Traceback" not in err


# Anna's example catalog entry reminds a week, a day and an hour before; she lets clients move a
# session until 72 hours before it, so the week-before reminder is the one a reply can move.
REMINDERS: list[Step] = [
    ("/start", ["Which language should I use?"]),
    ("1", ["Which time zone are you in?"]),
    ("kyiv", ["[1] Anna Koval"]),
    ("1", ["[1] Free intro call · Free"]),
    ("1", ["[6] Next week ▶"]),
    ("6", ["[2] Tue, Dec 1"]),
    ("2", ["[1] 9:00"]),
    ("1", ["[1] Skip"]),
    ("1", ["[1] ✅ Confirm"]),
    ("1", ["✅ Booked!"]),
    ("/time +1d", ["Reminder: your session starts in 7 days.", "[1] ✅ I'll be there", "[3] 🗓 Reschedule"]),
    (
        "tomorrow at 3pm",
        ["Free around the time you asked", "Now: Tue, Dec 1, 2026, 9:00", "[4] Wed, Nov 25, 2026, 3:00"],
    ),
    ("4", ["✅ Moved!", "When: Wed, Nov 25, 2026, 3:00"]),
    ("/time +4h", ["Reminder: your session starts in 24 hours.", "Wed, Nov 25, 2026, 3:00"]),
    # Inside Anna's 72 h window the menu offers no Reschedule that could only refuse.
    ("/reply thanks, see you!", ["What would you like to do about your session?", "[1] ✖ Cancel"]),
    ("/time +23h", ["Reminder: your session starts in 1 hour."]),
    ("/time +1h", ["Your session is starting now.", "Video call: https://meet.example.org/anna-koval"]),
    ("/time +1d", ["(nothing new)"]),
    ("/time +1h", ["How was your session with Anna Koval?", "[5] ⭐⭐⭐⭐⭐"]),
    ("5", ["Thank you! You gave ⭐⭐⭐⭐⭐."]),
    ("/time +1d", ["(nothing new)"]),
]


async def test_reminders_and_a_reply_that_moves_the_session_in_the_demo() -> None:
    output = await _play(REMINDERS)
    _check(output, REMINDERS)
    assert "Traceback" not in output
    # Each reminder once, though the clock passed each of them and the worker ran after every step.
    for once in ("starts in 7 days", "starts in 24 hours", "starts in 1 hour.", "starting now", "How was your session"):
        assert output.count(once) == 1, once


async def test_a_newcomer_sets_up_a_profile_in_the_demo() -> None:
    steps: list[Step] = [
        ("/as newpro", ["bookbot invite --new --pro newcomer-1", "Which language should I use?"]),
        ("1", ["Which time zone are you in?"]),
        (
            "kyiv",
            [
                f"Your time zone: {KYIV_EN}",
                "Welcome, Mykola! This chat is now linked to your profile.",
                "/profile — Your profile, share link and verification",
                "Let's set up your profile",
                "What name should clients see?",
                "[1] Use “Mykola”",
            ],
        ),
        ("Mykola Bondar", ["Saved.", "Your headline"]),
        ("Family therapist", ["About you"]),
        ("1", ["Which languages do you hold sessions in?", f"[1] {ENGLISH}"]),
        ("1", [f"[1] ✓ {ENGLISH}", "[10] Done, next step"]),
        ("10", ["Which fields do clients find you under?", "[1] Therapy"]),
        ("1", ["[1] ✓ Therapy", "[11] Done, next step"]),
        ("11", [f"Your time zone: {KYIV_EN}", f"[1] Keep {KYIV_EN}"]),
        ("1", ["The link to your video room"]),
        ("https://meet.example.org/mykola", ["Saved.", "The address where you meet clients in person"]),
        ("1", ["Your services:", "none yet", "[1] ➕ Add a service"]),
        ("1", ["The service's name"]),
        ("Therapy session", ["How long does it last?", "[2] 50 min"]),
        ("2", ["Which currency", "[1] EUR"]),
        ("1", ["The price in EUR"]),
        ("80.00", ["How do you meet for it?", "[1] By video"]),
        ("1", [f"Added: Therapy session, {format_price(8000, 'EUR', 'en')}.", "[3] Done, next step"]),
        ("3", ["Your weekly hours", "Tap the days that share the same hours"]),
        ("1", ["[8] Set their hours"]),
        ("8", ["Your hours on Monday"]),
        ("9-17", ["Saved: Monday:", "[8] Done, next step"]),
        ("8", ["Your cancellation terms", "A change applies to new bookings only", "[4] Keep these"]),
        ("2", ["Saved. New bookings get these terms", "A break before or after each session", "[1] No breaks"]),
        ("1", ["That's the whole setup.", "Name: Mykola Bondar", "Not listed yet", "[14] Request verification"]),
        ("14", ["Your licence or registration number:"]),
        ("PSY-12345", ["Which body issued it"]),
        ("Ministry of Health of Ukraine", ["In which country?"]),
        ("Ukraine", ["Send your documents as files or photos", "Received so far: 0."]),
        ("/file licence.pdf", ["Received so far: 1.", "[1] Send the request"]),
        (
            "1",
            [
                "Verification requested: an operator is checking your documents.",
                "bot → the operator (admin):\n  Verification document from Mykola Bondar",
                "Licence or registration number: PSY-12345",
            ],
        ),
        ("/as admin", ["🪪 Verification request", "Documents: 1 (sent above).", "[1] ✓ Approve   [2] ✗ Reject"]),
        ("1", ["✓ Approved: Mykola Bondar is verified", "✓ You are verified.", "Clients find you in the directory"]),
    ]
    output = await _play(steps)
    _check(output, steps)
    assert "Traceback" not in output
