"""A professional's profile from chat (handlers/pro_setup.py, handlers/verification.py): the setup after
/join or an invite, skipped steps and what is missing, /profile edits, the share link and QR code,
verification approved and rejected (with the audit log), /start for a linked professional, and the
bookings made before linking, told once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bot.demo.fake_session import BOT_USERNAME
from bot.demo.updates import Person
from bot.render import format_clock, format_day
from bot.services import directory, invites
from bot.services.clock import FrozenClock
from handlers.hours import SpecialCb
from handlers.start import language_name
from handlers.verification import DecideCb
from models import (
    AuditEntry,
    Booking,
    DateOverride,
    Professional,
    Service,
    User,
    VerificationRequest,
    VerificationState,
)
from tests.bot.harness import BotHarness
from tests.bot.pro_world import add_client, add_professional, book

ADMIN = 800_001
SUPPORT_CHAT = -1_000_123
STALE = "This button is no longer available."


@pytest.fixture
async def signup(bot_db_url: str, clock: FrozenClock) -> AsyncIterator[BotHarness]:
    async with BotHarness.running(bot_db_url, clock, self_signup=True, admin_ids=[ADMIN]) as running:
        yield running


async def _onboard(harness: BotHarness, person: Person, place: str = "kyiv") -> None:
    await harness.press_button(person, language_name("en"))
    await harness.send_text(person, place)


async def _pro(harness: BotHarness, person: Person) -> Professional:
    async with harness.db() as session:
        found = await invites.professional_of(session, person.id)
        assert found is not None
        return found


async def _listed(harness: BotHarness) -> list[str]:
    async with harness.db() as session:
        return [item.slug for item in (await directory.list_professionals(session)).items]


async def test_join_setup_with_skips_shows_what_is_missing_and_is_not_listed(signup: BotHarness) -> None:
    harness = signup
    mykola = harness.person("Mykola")
    await harness.send_text(mykola, "/join")
    assert harness.last_text(mykola).endswith("Which language should I use?")
    await _onboard(harness, mykola)
    text = harness.last_text(mykola)
    assert text.startswith("Welcome, Mykola! This chat is now linked to your profile.")
    assert text.endswith("What name should clients see?\nNow: not set")
    await harness.press_button(mykola, "Use “Mykola”")
    assert "Your headline" in harness.last_text(mykola)
    # Every step can be skipped.
    for _step in ("headline", "bio"):
        await harness.press_button(mykola, "Skip for now")
    assert harness.last_text(mykola).startswith("Which languages do you hold sessions in?")
    await harness.press_button(mykola, "English")
    await harness.send_text(mykola, "pl, xx-nonsense!")
    assert harness.last_text(mykola).startswith("I don't know that language code")
    await harness.send_text(mykola, "pl")
    assert (await _pro(harness, mykola)).languages == ["en", "pl"]
    for _step in ("languages", "categories", "zone", "video", "address", "services", "hours", "policy", "buffers"):
        button = {"languages": "Done, next step", "categories": "Done, next step", "zone": "Keep"}.get(
            _step, "Skip for now" if _step not in ("services", "hours", "policy") else "Done, next step"
        )
        if _step == "policy":
            button = "Keep these"
        await harness.press_button(mykola, button)
    text = harness.last_text(mykola)
    assert text.startswith("That's the whole setup.")
    assert (
        "Still missing before you can be listed: a headline, your fields, at least one service, your weekly hours."
        in text
    )
    professional = await _pro(harness, mykola)
    assert (professional.name, professional.timezone, professional.verified) == ("Mykola", "Europe/Kyiv", False)
    # Even verified, a profile missing parts is never listed.
    async with harness.db() as session:
        (await session.get_one(Professional, professional.id)).verified = True
    assert await _listed(harness) == []
    # A second /join says who they are already.
    await harness.send_text(mykola, "/join")
    assert harness.last_text(mykola).startswith("This chat is already linked to your profile, Mykola.")


async def test_join_is_by_invitation_unless_self_signup(harness: BotHarness) -> None:
    someone = harness.person("Someone")
    await harness.send_text(someone, "/join")
    assert harness.last_text(someone) == "Professionals join by invitation here: ask the operator for an invite link."
    await harness.send_text(someone, "/start join_me")
    assert "Which language should I use?" in harness.last_text(someone)
    await _onboard(harness, someone)
    assert harness.last_text(someone) == "Professionals join by invitation here: ask the operator for an invite link."
    async with harness.db() as session:
        assert (await session.scalars(select(Professional))).all() == []


async def _complete_profile_in_chat(harness: BotHarness, person: Person) -> None:
    """From /profile: headline, fields, a video service, a video link, Monday hours."""
    await harness.send_text(person, "/profile")
    await harness.press_button(person, "Headline")
    await harness.send_text(person, "Family therapist " + "x" * 400)
    assert harness.last_text(person).startswith("That is too long: at most 300 characters.")
    await harness.send_text(person, "Family therapist")
    assert harness.last_text(person).startswith("Saved.\n\nYour profile\n")
    await harness.press_button(person, "Languages")
    await harness.press_button(person, "Ukrainian")
    await harness.press_button(person, "Done")
    await harness.press_button(person, "Fields")
    await harness.send_text(person, "Family therapy")
    await harness.press_button(person, "Done")
    await harness.press_button(person, "Services")
    await harness.press_button(person, "Add a service")
    await harness.send_text(person, "Therapy session")
    await harness.send_text(person, "forever")
    assert harness.last_text(person).startswith("A session lasts 5 minutes to 12 hours")
    await harness.send_text(person, "1h")
    await harness.send_text(person, "usd")
    await harness.send_text(person, "95.999")
    assert harness.last_text(person).startswith("That currency has 2 decimals at most.")
    await harness.send_text(person, "95,50")
    await harness.press_button(person, "By video")
    assert harness.last_text(person).startswith("Added: Therapy session, ")
    await harness.press_button(person, "Done")
    await harness.press_button(person, "Hours")
    for day in ("Mon", "Wed"):
        await harness.press_button(person, day)
    await harness.press_button(person, "Set their hours")
    await harness.send_text(person, "9:00 - 12:00, 13-17")
    assert harness.last_text(person).startswith("Saved: Monday, Wednesday:")
    await harness.press_button(person, "Done")
    assert "\nStill missing before you can be listed: a video link (you offer video sessions).\n" in (
        harness.last_text(person)
    )
    await harness.press_button(person, "Video link")
    await harness.send_text(person, "meet me in the park")
    assert harness.last_text(person).startswith("That is not a web address")
    await harness.send_text(person, "https://meet.example.org/mykola")
    assert "Still missing" not in harness.last_text(person)


async def test_profile_edits_then_verification_approved_lists_the_professional(signup: BotHarness) -> None:
    harness = signup
    mykola, admin = harness.person("Mykola"), harness.person("Operator", id=ADMIN)
    await harness.send_text(mykola, "/join")
    await _onboard(harness, mykola)
    await harness.send_text(mykola, "Mykola Bondar")
    await _complete_profile_in_chat(harness, mykola)
    professional = await _pro(harness, mykola)
    async with harness.db() as session:
        service = (await session.scalars(select(Service).where(Service.professional_id == professional.id))).one()
    assert (service.duration_minutes, service.price_minor, service.currency) == (60, 9550, "USD")
    assert professional.categories == ["family-therapy"]
    assert await _listed(harness) == []  # complete, not verified yet

    # Request verification: licence, body, country, documents.
    await harness.press_button(mykola, "Request verification")
    await harness.send_text(mykola, "PSY-12345")
    await harness.send_text(mykola, "Ministry of Health")
    await harness.send_text(mykola, "Ukraine")
    assert harness.last_text(mykola).startswith("Send your documents as files or photos")
    await harness.send_text(mykola, "here they come")
    assert harness.last_text(mykola).startswith("Sorry, that's not what I asked.")
    await harness.send_document(mykola, "licence-file-id", "licence.pdf")
    await harness.send_photo(mykola, "diploma-photo-id")
    assert "Received so far: 2." in harness.last_text(mykola)
    await harness.press_button(mykola, "Send the request")
    assert harness.last_text(mykola).startswith("Sent. An operator checks your documents")
    mark = len(harness.calls)
    await harness.run_worker()
    sent = harness.calls[mark:]
    assert [(c.method, c.params.get("document") or c.params.get("photo")) for c in sent][:2] == [
        ("sendDocument", "licence-file-id"),
        ("sendPhoto", "diploma-photo-id"),
    ]
    request_text = harness.last_text(admin)
    assert "Verification request" in request_text and "Licence or registration number: PSY-12345" in request_text
    assert [b["text"] for b in harness.buttons(admin)] == ["✓ Approve", "✗ Reject"]
    # A second request while one waits is not offered, and forged decisions by others change nothing.
    outsider = harness.person("Mallory")
    async with harness.db() as session:
        request = (await session.scalars(select(VerificationRequest))).one()
    await harness.press(outsider, DecideCb(id=request.id, approve=True))
    assert harness.popup() == STALE
    await harness.press(admin, DecideCb(id=request.id + 99, approve=True))
    assert harness.popup() == STALE

    await harness.press_button(admin, "Approve")
    assert harness.last_text(admin).startswith("✓ Approved: Mykola Bondar is verified")
    await harness.press(admin, DecideCb(id=request.id, approve=False))
    assert harness.popup() == f"This request was approved already (operator {ADMIN})."
    await harness.run_worker()
    assert harness.last_text(mykola) == "✓ You are verified.\nClients find you in the directory now."
    assert await _listed(harness) == [professional.slug]
    async with harness.db() as session:
        audit = (await session.scalars(select(AuditEntry))).all()
    assert [(row.action, row.actor_telegram_id, row.verification_request_id) for row in audit] == [
        ("verification_approved", ADMIN, request.id)
    ]


def _group_callback(harness: BotHarness, person: Person, data: str, message_id: int) -> dict[str, Any]:
    update = harness.updates.callback(person, data)
    update["callback_query"]["message"] = {
        "message_id": message_id,
        "date": int(harness.clock.now().timestamp()),
        "chat": {"id": SUPPORT_CHAT, "type": "supergroup", "title": "Support"},
        "text": "Verification request",
    }
    return update


def _group_text(harness: BotHarness, person: Person, text: str) -> dict[str, Any]:
    update = harness.updates.text(person, text)
    update["message"]["chat"] = {"id": SUPPORT_CHAT, "type": "supergroup", "title": "Support"}
    return update


async def test_rejection_with_a_reason_typed_in_the_support_chat(bot_db_url: str, clock: FrozenClock) -> None:
    async with BotHarness.running(bot_db_url, clock, support_chat_id=SUPPORT_CHAT) as harness:
        await add_professional(harness, verified=False)
        anna, staff = harness.person("Anna"), harness.person("Staff")
        await harness.link_professional("anna-koval", anna)
        await harness.send_text(anna, "/profile")
        await harness.press_button(anna, "Request verification")
        for answer in ("L-1", "Board", "Ukraine"):
            await harness.send_text(anna, answer)
        await harness.send_document(anna, "doc-1")
        await harness.press_button(anna, "Send the request")
        await harness.run_worker()
        in_group = harness.session.chat(SUPPORT_CHAT)
        assert [m.text for m in in_group][-1].startswith("🪪 Verification request")
        async with harness.db() as session:
            request = (await session.scalars(select(VerificationRequest))).one()
        reject = DecideCb(id=request.id, approve=False).pack()
        # The same button pressed in a private chat by someone who is no operator: nothing happens.
        await harness.press(staff, reject)
        assert harness.popup() == STALE
        await harness.feed(_group_callback(harness, staff, reject, in_group[-1].message_id))
        assert harness.session.chat(SUPPORT_CHAT)[-1].text.startswith("Why is Anna Koval's request rejected?")
        await harness.feed(_group_text(harness, staff, "The licence number is not in the register."))
        assert harness.session.chat(SUPPORT_CHAT)[-1].text == "✗ Rejected: Anna Koval is told the reason."
        # Chatter in the group afterwards is none of the bot's business.
        before = len(harness.calls)
        await harness.feed(_group_text(harness, staff, "thanks all"))
        assert len(harness.calls) == before
        await harness.run_worker()
        assert harness.last_text(anna) == (
            "Your verification request was not approved.\n"
            "Reason: The licence number is not in the register.\n"
            "You can send a new request from /profile."
        )
        async with harness.db() as session:
            request = (await session.scalars(select(VerificationRequest))).one()
            audit = (await session.scalars(select(AuditEntry))).all()
            pro = (await session.scalars(select(Professional))).one()
        assert (request.state, request.decided_by_telegram_id, pro.verified) == (
            VerificationState.REJECTED,
            staff.id,
            False,
        )
        assert [(a.action, a.actor_telegram_id, a.reason) for a in audit] == [
            ("verification_rejected", staff.id, "The licence number is not in the register.")
        ]
        # A new request can follow.
        await harness.send_text(anna, "/profile")
        assert "Your last verification request was not approved: The licence number" in harness.last_text(anna)
        assert "Request verification" in [b["text"] for b in harness.buttons(anna)]


async def test_invite_tells_bookings_made_before_linking_once_and_start_greets_the_professional(
    harness: BotHarness,
) -> None:
    _, service_id = await add_professional(harness)
    olena, anna = harness.person("Olena"), harness.person("Anna")
    await add_client(harness, olena)
    booking_id = await book(harness, olena, service_id, harness.clock.now().replace(hour=7) + _days(1))
    async with harness.db() as session:
        starts = (await session.get_one(Booking, booking_id)).starts_at
        token = (await invites.create_invite(session, "anna-koval", now=harness.clock.now())).token
    await harness.send_text(anna, f"/start inv_{token}")
    await _onboard(harness, anna, "london")
    when = f"{format_day(starts, 'Europe/Kyiv', 'en')}, {format_clock(starts, 'Europe/Kyiv', 'en')}"
    summary = f"Booked before you linked this chat (1):\n• {when} Olena · Coaching session"
    assert summary in harness.last_text(anna)
    # One zone for the professional: the profile's (their hours are written in it).
    async with harness.db() as session:
        user = (await session.scalars(select(User).where(User.telegram_id == anna.id))).one()
    assert user.timezone == "Europe/Kyiv"
    await harness.send_text(anna, f"/start inv_{token}")
    assert "Booked before" not in harness.last_text(anna)
    await harness.send_text(anna, "/start")
    text = harness.last_text(anna)
    assert text.startswith("Hello again, Anna Koval! This is your practice:")
    assert f"Next session: {when}, Olena" in text
    assert text.endswith(f"Your share link: https://t.me/{BOT_USERNAME}?start=pro_anna-koval")
    assert "Booked before" not in text
    assert "Which language" not in text


async def test_share_link_and_qr_code(harness: BotHarness) -> None:
    await add_professional(harness)
    anna = harness.person("Anna")
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(anna, "/profile")
    await harness.press_button(anna, "Share link and QR code")
    link = f"https://t.me/{BOT_USERNAME}?start=pro_anna-koval"
    assert link in harness.calls_to("sendMessage")[-1].params["text"]
    photo = harness.calls_to("sendPhoto")[-1]
    assert photo.files["photo"][1].startswith(b"\x89PNG")


async def test_policy_change_applies_to_new_bookings_only_and_zone_follows(harness: BotHarness) -> None:
    _, service_id = await add_professional(harness)
    olena, anna = harness.person("Olena"), harness.person("Anna")
    await add_client(harness, olena)
    booking_id = await book(harness, olena, service_id, harness.clock.now().replace(hour=7) + _days(1))
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(anna, "/profile")
    await harness.press_button(anna, "Terms")
    assert "A change applies to new bookings only" in harness.last_text(anna)
    await harness.press_button(anna, "Strict")
    assert harness.last_text(anna).startswith(
        "Saved. New bookings get these terms; bookings already made keep theirs.\n\nYour profile"
    )
    async with harness.db() as session:
        pro = (await session.scalars(select(Professional))).one()
        booking = await session.get_one(Booking, booking_id)
    assert (pro.free_cancellation_hours, booking.policy["free_cancellation_hours"]) == (72, 24)
    await harness.press_button(anna, "Time zone")
    await harness.send_text(anna, "Berlin")
    assert "Your time zone: " in harness.last_text(anna)
    async with harness.db() as session:
        pro = (await session.scalars(select(Professional))).one()
        user = (await session.scalars(select(User).where(User.telegram_id == anna.id))).one()
    assert (pro.timezone, user.timezone) == ("Europe/Berlin", "Europe/Berlin")


def _days(count: int) -> Any:
    from datetime import timedelta

    return timedelta(days=count)


async def test_hours_edit_other_hours_on_a_date(harness: BotHarness) -> None:
    await add_professional(harness)
    anna = harness.person("Anna")
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(anna, "/hours")
    await harness.press_button(anna, "Other hours on a date")
    assert harness.last_text(anna).startswith("Other hours on these dates")
    await harness.press_button(anna, "Add a date")
    await harness.send_text(anna, "32.12")
    assert harness.last_text(anna).startswith("“32.12” is not a date: type it as 24.12.2026, 24.12 or 2026-12-24.")
    await harness.send_text(anna, "20.11.2026")
    assert harness.last_text(anna).startswith("That date has passed.")
    await harness.send_text(anna, "31.12")
    assert "Your hours on " in harness.last_text(anna)
    await harness.send_text(anna, "10-13")
    assert harness.last_text(anna).startswith("Saved: ")
    async with harness.db() as session:
        override = (await session.scalars(select(DateOverride))).one()
        windows = [(w.starts, w.ends) for w in override.windows]
    assert (override.on_date, windows) == (date(2026, 12, 31), [(600, 780)])
    await harness.press_button(anna, "✕ ")
    assert "has your weekly hours again." in harness.last_text(anna)
    async with harness.db() as session:
        assert (await session.scalars(select(DateOverride))).all() == []
    await harness.press(anna, SpecialCb(day="2026-12-31"))
    assert harness.popup() == STALE


async def test_settings_zone_change_moves_the_professionals_zone_too(harness: BotHarness) -> None:
    await add_professional(harness)
    anna = harness.person("Anna")
    await harness.link_professional("anna-koval", anna)
    await harness.send_text(anna, "/settings")
    await harness.press_button(anna, "Change time zone")
    await harness.send_text(anna, "Berlin")
    assert harness.last_text(anna).endswith(
        "Your professional profile uses it too: your hours are read in it from now on."
    )
    assert (await _pro(harness, anna)).timezone == "Europe/Berlin"
