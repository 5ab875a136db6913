"""A Ukrainian-speaking client end to end through the dispatcher: /start -> Українська -> zone -> the list
of professionals -> a profile -> a service's calendar, every text from the compiled uk catalog."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.render import zone_label, zone_suffix
from handlers.client_common import week_label
from models import User
from tests.bot.catalog_data import labels, last, with_catalog
from tests.bot.harness import BotHarness

ZONE_QUESTION = (
    "У якому ви часовому поясі? Напишіть своє місто чи країну (наприклад, Київ, Мадрид, Нью-Йорк) або "
    "надішліть геолокацію."
)

LIST = """Оберіть фахівця (у списку: 2)
Категорія: усі · Мова: будь-яка

1. Anna Koval
   Career coach for people changing fields
   Українська, Англійська, Російська · Відгуків ще немає
2. David Moreno
   Licensed therapist (CBT), anxiety and burnout
   Англійська, Іспанська · Відгуків ще немає"""

# Names, headlines, bios and service names come from the catalog as written; the rest is Ukrainian.
ANNA = """Anna Koval
Career coach for people changing fields
✓ Перевірений фахівець

Ten years of coaching engineers, designers and teachers through career changes.

Напрями: Кар’єрний коучинг
Мови: Українська, Англійська, Російська
Рейтинг: Відгуків ще немає

Послуги:
• Free intro call: 20 хвилин, Безкоштовно, відеодзвінок
• Coaching session: 50 хвилин, 60,00 EUR, відеодзвінок
• Coaching session at the office: 50 хвилин, 70,00 EUR, зустріч наживо
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
    assert labels(harness, oksana) == ["English", "✓ Українська"]

    await harness.press_button(oksana, "Українська")
    assert harness.texts(oksana)[0] == "Мова: Українська"
    assert last(harness, oksana) == ZONE_QUESTION
    assert harness.reply_keyboard(oksana) == [{"text": "📍 Надіслати геолокацію", "request_location": True}]

    await harness.send_text(oksana, "Київ")
    assert [text.replace("\u00a0", " ") for text in harness.texts(oksana)[-2:]] == [
        f"Ваш часовий пояс: {zone_label('Europe/Kyiv', 'uk', now)}".replace("\u00a0", " "),
        "Усе готово.\n\n" + LIST,
    ]
    assert labels(harness, oksana) == ["1. Anna Koval", "2. David Moreno", "🗂 Категорія", "🌐 Мова", "Мої сесії"]

    await harness.press_button(oksana, "Anna Koval")
    assert last(harness, oksana) == ANNA
    assert labels(harness, oksana) == [
        "Free intro call · Безкоштовно",
        "Coaching session · 60,00 EUR",
        "Coaching session at the office · 70,00 EUR",
        "◀ Усі фахівці",
    ]

    await harness.press_button(oksana, "Coaching session ·")
    assert last(harness, oksana) == (
        "Coaching session — Anna Koval\n"
        "50 хвилин, 60,00 EUR, відеодзвінок\n"
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
