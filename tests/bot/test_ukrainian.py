"""A Ukrainian-speaking client end to end through the dispatcher: /start -> Українська -> zone -> the list
of professionals -> a profile -> a service's calendar, every text from the compiled uk catalog."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.render import format_money, zone_label, zone_suffix
from handlers.client_wording import language_label, week_label
from handlers.start import language_name
from models import User
from tests.bot.catalog_data import labels, last, with_catalog
from tests.bot.harness import BotHarness

ZONE_QUESTION = (
    "У якому ви часовому поясі? Напишіть своє місто чи країну (наприклад, Київ, Мадрид, Нью-Йорк) або "
    "надішліть геолокацію."
)

# Language names and money as the render helpers write them (their CLDR wording is pinned in test_render.py),
# no-break spaces made plain as `last` reads the chat.
UK, EN, RU, ES = (language_label(code, "uk") for code in ("uk", "en", "ru", "es"))
EUR_60, EUR_70 = (format_money(amount, "EUR", "uk").replace("\u00a0", " ") for amount in (6000, 7000))

LIST = f"""Оберіть фахівця (у списку: 2)
Категорія: усі · Мова: будь-яка

1. Anna Koval
   Career coach for people changing fields
   {UK}, {EN}, {RU} · Відгуків ще немає
2. David Moreno
   Licensed therapist (CBT), anxiety and burnout
   {EN}, {ES} · Відгуків ще немає"""

# Names, headlines, bios and service names come from the catalog as written; the rest is Ukrainian.
ANNA = f"""Anna Koval
Career coach for people changing fields
✓ Перевірений фахівець

Ten years of coaching engineers, designers and teachers through career changes.

Напрями: Кар’єрний коучинг
Мови: {UK}, {EN}, {RU}
Рейтинг: Відгуків ще немає

Послуги:
• Free intro call: 20 хвилин, Безкоштовно, відеодзвінок
• Coaching session: 50 хвилин, {EUR_60}, відеодзвінок
• Coaching session at the office: 50 хвилин, {EUR_70}, зустріч наживо
Оберіть послугу, щоб побачити вільний час."""


async def test_a_ukrainian_client_browses_in_ukrainian(harness: BotHarness) -> None:
    await with_catalog(harness)
    oksana = harness.person("Оксана", "uk")
    now = harness.clock.now()  # Monday 2026-11-23: the calendar opens on this week
    week = week_label(date(2026, 11, 23), date(2026, 11, 29), "uk").replace("\u00a0", " ")  # as `last` reads it

    await harness.send_text(oksana, "/start")
    assert last(harness, oksana) == (
        "Вітаю, Оксана! Я допомагаю записатися на сесії до коучів, терапевтів і консультантів — вашою мовою "
        "і у вашому часовому поясі.\n\nЯкою мовою спілкуватися?"
    )
    assert labels(harness, oksana) == [language_name("en"), f"✓ {language_name('uk')}"]

    await harness.press_button(oksana, language_name("uk"))
    assert harness.texts(oksana)[0] == f"Мова: {language_name('uk')}"
    assert last(harness, oksana) == ZONE_QUESTION
    assert harness.reply_keyboard(oksana) == [{"text": "📍 Надіслати геолокацію", "request_location": True}]

    await harness.send_text(oksana, "Київ")
    assert [text.replace("\u00a0", " ") for text in harness.texts(oksana)[-2:]] == [
        f"Ваш часовий пояс: {zone_label('Europe/Kyiv', 'uk', now)}".replace("\u00a0", " "),
        "Усе готово.\n\n" + LIST,
    ]
    assert labels(harness, oksana) == [
        "1. Anna Koval",
        "2. David Moreno",
        "🗂 Категорія",
        "🌐 Мова",
        "⚡ Доступні зараз",
        "Мої сесії",
    ]

    await harness.press_button(oksana, "Anna Koval")
    assert last(harness, oksana) == ANNA
    assert labels(harness, oksana) == [
        "Free intro call · Безкоштовно",
        f"Coaching session · {EUR_60}",
        f"Coaching session at the office · {EUR_70}",
        "◀ Усі фахівці",
    ]

    await harness.press_button(oksana, "Coaching session ·")
    assert last(harness, oksana) == (
        "Coaching session — Anna Koval\n"
        f"50 хвилин, {EUR_60}, відеодзвінок\n"
        "\n"
        f"Оберіть день (тиждень {week}, ваш часовий пояс: {zone_suffix('Europe/Kyiv', 'uk', now)}):"
    )
    assert labels(harness, oksana)[-2:] == ["Наступний тиждень ▶", "◀ Назад: Anna Koval"]

    # Anything unexpected: the hint and the question again, in Ukrainian too.
    await harness.send_text(oksana, "а що далі?")
    assert last(harness, oksana).startswith(
        "Вибачте, це не відповідь на моє запитання.\n\nCoaching session — Anna Koval"
    )

    async with harness.db() as session:
        user = (await session.scalars(select(User).where(User.telegram_id == oksana.id))).one()
    assert (user.locale, user.timezone) == ("uk", "Europe/Kyiv")
