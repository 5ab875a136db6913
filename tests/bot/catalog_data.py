"""Test data for the client's side, built with the ORM: the professionals of examples/catalog.yaml
(Anna Koval in Kyiv, David Moreno in New York, Lea Schmidt not verified yet) and onboarded clients.

The clock of the tests stands at Monday 2026-11-23 06:00 UTC (08:00 in Kyiv, 01:00 in New York).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo.updates import Person
from bot.services import booking as booking_service
from models import (
    Booking,
    BookingState,
    DateOverride,
    NoShowRule,
    OverrideWindow,
    Policy,
    Professional,
    Review,
    Service,
    ServiceMode,
    TimeOff,
    User,
)
from tests.bot.harness import BotHarness
from tests.worlds import professional, service, weekly_hours

MON, TUE, WED, THU, FRI, SAT = range(6)


@dataclass(frozen=True)
class Catalog:
    anna: int
    david: int
    lea: int
    intro: int  # Anna's free 20-minute intro call (video)
    coaching: int  # Anna's 50-minute session, EUR 60 (video)
    office: int  # Anna's 50-minute session at the office, EUR 70 (in person)
    therapy: int  # David's 50-minute therapy session, USD 95 (video)
    nutrition: int  # Lea's (not listed)


def anna() -> Professional:
    pro = professional(
        "anna-koval",
        "Anna Koval",
        policy=Policy(
            free_cancellation_hours=72, late_cancellation_refund_percent=50, max_reschedules=2, min_notice_minutes=240
        ),
        headline="Career coach for people changing fields",
        bio="Ten years of coaching engineers, designers and teachers through career changes.",
        verified=True,
        timezone="Europe/Kyiv",
        languages=["uk", "en", "ru"],
        categories=["career-coaching"],
        address="Khreshchatyk St 22, office 4, Kyiv",
        access_notes="Step-free entrance from the courtyard; lift to the 2nd floor.",
        video_link="https://meet.example.org/anna-koval",
        buffer_before_minutes=0,
        buffer_after_minutes=10,
        slot_step_minutes=60,
    )
    work = "09:00-12:00, 13:30-17:00"
    pro.weekly_windows = weekly_hours({MON: work, TUE: work, WED: "12:00-20:00", THU: work, FRI: "09:00-13:00"})
    pro.date_overrides = [DateOverride(on_date=date(2026, 12, 31), windows=[OverrideWindow(starts=600, ends=780)])]
    pro.time_off = [TimeOff(first_day=date(2026, 12, 24), last_day=date(2026, 12, 26))]
    pro.services = [
        service("intro-call", "Free intro call", 20, 0),
        service("coaching-50", "Coaching session", 50, 6000),
        service("coaching-50-office", "Coaching session at the office", 50, 7000, mode=ServiceMode.IN_PERSON),
    ]
    return pro


def david() -> Professional:
    pro = professional(
        "david-moreno",
        "David Moreno",
        policy=Policy(
            free_cancellation_hours=48,
            no_show=NoShowRule.ONE_FREE_RESCHEDULE,
            min_notice_minutes=720,
            booking_horizon_days=30,
        ),
        headline="Licensed therapist (CBT), anxiety and burnout",
        bio="Cognitive behavioural therapy for anxiety, burnout and sleep problems. English and Spanish.",
        verified=True,
        timezone="America/New_York",
        languages=["en", "es"],
        categories=["therapy"],
        video_link="https://meet.example.org/david-moreno",
        buffer_before_minutes=10,
        buffer_after_minutes=10,
    )
    pro.weekly_windows = weekly_hours(
        {MON: "08:00-12:00", TUE: "08:00-12:00, 17:00-21:00", THU: "17:00-21:00", SAT: "10:00-14:00"}
    )
    pro.services = [service("therapy-50", "Therapy session", 50, 9500, currency="USD")]
    return pro


def lea() -> Professional:
    pro = professional(
        "lea-schmidt",
        "Lea Schmidt",
        headline="Nutrition counselling",
        bio="Evidence-based nutrition counselling.",
        verified=False,
        timezone="Europe/Berlin",
        languages=["de", "en"],
        categories=["nutrition"],
        video_link="https://meet.example.org/lea-schmidt",
    )
    pro.weekly_windows = weekly_hours({MON: "10:00-16:00", WED: "10:00-16:00"})
    pro.services = [service("nutrition-45", "Nutrition consultation", 45, 5500)]
    return pro


async def build_catalog(sessions: async_sessionmaker[AsyncSession]) -> Catalog:
    async with sessions.begin() as session:
        people = [anna(), david(), lea()]
        session.add_all(people)
        await session.flush()
        a, d, lea_ = people
        return Catalog(
            anna=a.id,
            david=d.id,
            lea=lea_.id,
            intro=a.services[0].id,
            coaching=a.services[1].id,
            office=a.services[2].id,
            therapy=d.services[0].id,
            nutrition=lea_.services[0].id,
        )


async def add_coaches(sessions: async_sessionmaker[AsyncSession], count: int, language: str = "en") -> None:
    """`count` more verified career coaches with complete profiles, "Coach 01" ... (for pages of the list)."""
    async with sessions.begin() as session:
        for number in range(1, count + 1):
            pro = professional(
                f"coach-{number:02d}",
                f"Coach {number:02d}",
                headline="Career coaching",
                verified=True,
                timezone="Europe/Madrid",
                languages=[language],
                categories=["career-coaching"],
                video_link=f"https://meet.example.org/coach-{number:02d}",
            )
            pro.services = [service("talk", "Talk", 30, 1000)]
            # Complete profiles (bot/services/pro_profile.REQUIRED), so they are listed.
            pro.weekly_windows = weekly_hours({MON: "09:00-17:00"})
            session.add(pro)


async def add_reviews(
    sessions: async_sessionmaker[AsyncSession], professional_id: int, ratings: list[int], now: datetime
) -> None:
    """Completed past sessions of the professional's first service, each reviewed with one rating."""
    async with sessions.begin() as session:
        pro = await session.get_one(Professional, professional_id)
        service = (await session.scalars(select(Service).where(Service.professional_id == pro.id))).first()
        assert service is not None
        reviewer = User(telegram_id=-professional_id, first_name="Reviewer", created_at=now)
        session.add(reviewer)
        for number, rating in enumerate(ratings, start=1):
            starts = now - timedelta(days=number)
            ends = starts + timedelta(minutes=service.duration_minutes)
            booking = Booking(
                client=reviewer,
                professional_id=pro.id,
                service_id=service.id,
                starts_at=starts,
                ends_at=ends,
                block_starts_at=starts,
                block_ends_at=ends,
                state=BookingState.COMPLETED,
                price_minor=service.price_minor,
                currency=service.currency,
                policy={},
                created_at=now,
                updated_at=now,
            )
            session.add(booking)
            await session.flush()
            session.add(Review(booking_id=booking.id, professional_id=pro.id, rating=rating, created_at=now))


async def onboarded(
    sessions: async_sessionmaker[AsyncSession], person: Person, zone: str, now: datetime, locale: str = "en"
) -> None:
    """A client who has been through /start: their language and zone are known."""
    async with sessions.begin() as session:
        session.add(
            User(telegram_id=person.id, first_name=person.first_name, locale=locale, timezone=zone, created_at=now)
        )


async def bookings_of(sessions: async_sessionmaker[AsyncSession], person: Person) -> list[Booking]:
    async with sessions() as session:
        user = (await session.scalars(select(User).where(User.telegram_id == person.id))).one()
        found = await session.scalars(select(Booking).where(Booking.client_id == user.id).order_by(Booking.id))
        return list(found.all())


def kyiv_time(text: str) -> datetime:
    """ "2026-11-24 09:00" in Kyiv as an aware UTC instant."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Kyiv")).astimezone(UTC)


STALE = "This button is no longer available."
SORRY = "Sorry, that's not what I asked."


async def with_catalog(harness: BotHarness) -> Catalog:
    return await build_catalog(harness.app.sessions)


async def client(harness: BotHarness, name: str = "Olena", zone: str = "Europe/Kyiv") -> Person:
    """A new, onboarded client of the harness's bot."""
    person = harness.person(name)
    await onboarded(harness.app.sessions, person, zone, harness.clock.now())
    return person


def labels(harness: BotHarness, person: Person) -> list[str]:
    """The labels of the newest inline keyboard in the person's chat (no-break spaces made plain)."""
    return [_plain(button["text"]) for button in harness.buttons(person)]


def last(harness: BotHarness, person: Person) -> str:
    return _plain(harness.last_text(person))


def _plain(text: object) -> str:
    return str(text).replace("\u00a0", " ")


async def press_label(harness: BotHarness, person: Person, label: str) -> None:
    """Press the newest button whose label contains `label` (Babel's no-break spaces read as spaces)."""
    for message in reversed(harness.session.chat(person.id)):
        for button in message.inline_buttons():
            if label in _plain(button.get("text", "")):
                await harness.press(person, button["callback_data"], message)
                return
    raise AssertionError(f"no button containing {label!r}; the chat shows:\n{harness.transcript(person)}")


async def booked(
    harness: BotHarness, person: Person, service_id: int, starts_at: datetime, *, paid_with: str | None = "stripe"
) -> int:
    """A booking made through the booking service (confirmed as paid by `paid_with`, or left held)."""
    now = harness.clock.now()
    async with harness.db() as session:
        owner = (await session.scalars(select(User).where(User.telegram_id == person.id))).one()
        booking = await booking_service.hold(session, client=owner, service_id=service_id, starts_at=starts_at, now=now)
        if paid_with is not None and booking.state == BookingState.HELD:
            await booking_service.confirm(session, booking.id, now=now, paid_with=paid_with)
        return booking.id
