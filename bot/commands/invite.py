"""`bookbot invite`: an invite link that links a professional's Telegram chat to their profile."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.cli_errors import UsageError

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.settings import Settings

# As bot.services.invites has them (tests/bot/test_invite_command.py checks they agree): the module
# itself loads SQLAlchemy, which `bookbot --help` should not pay for.
DEFAULT_DAYS = 7
MAX_DAYS = 365
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "invite",
        help="print an invite link that links a professional's Telegram chat",
        description=(
            "Create a single-use invite for the professional and print its link, "
            "https://t.me/<bot>?start=inv_<token>. Whoever opens it first (while it is valid) becomes that "
            "professional's chat: they get the booking notifications and /agenda, /hours. Send it to the "
            "professional privately. Exit code 2 on a bad argument, an unknown slug or an unusable database."
        ),
    )
    parser.add_argument("--pro", required=True, metavar="SLUG", help="the professional's slug")
    parser.add_argument(
        "--new",
        action="store_true",
        help="make an empty, unverified profile with this slug first (lowercase letters, digits, dashes): "
        "the newcomer sets it up from chat after opening the link",
    )
    parser.add_argument(
        "--bot-username",
        metavar="NAME",
        help="the bot's @username (default: BOT_USERNAME, else asked from Telegram with BOT_TOKEN)",
    )
    parser.add_argument(
        "--days", default=str(DEFAULT_DAYS), metavar="N", help=f"valid for N days, 1 to {MAX_DAYS} (default: 7)"
    )
    parser.add_argument(
        "--relink",
        action="store_true",
        help="drop the professional's current chat link now (they lost that Telegram account); without it, "
        "an invite for a professional linked to another account is refused when opened",
    )
    parser.set_defaults(handler=_invite)


def _invite(args: argparse.Namespace) -> int:
    import asyncio

    from bot.settings import Settings

    days = _days(args.days)
    settings = Settings()
    if args.new and not _SLUG.fullmatch(args.pro):
        raise UsageError(f"invite --new: {args.pro!r} is not a slug (lowercase letters, digits and dashes)")
    created = asyncio.run(_create(settings, args.pro, args.bot_username, days, args.relink, new=args.new))
    print(created.link)
    # Notes on stderr, so the link alone can be piped on.
    who = created.name or "a new professional"
    print(
        f"Single use, for {who} ({args.pro}), valid until {created.expires_at:%Y-%m-%d %H:%M} UTC.",
        file=sys.stderr,
    )
    if created.was_linked and not args.relink:
        print(
            f"note: {args.pro} is linked to a Telegram account already; the link only works from that account. "
            "If they lost it, issue the invite with --relink.",
            file=sys.stderr,
        )
    elif created.was_linked:
        print(f"note: {args.pro}'s old chat link was dropped; it gets no notifications.", file=sys.stderr)
    return 0


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise UsageError(f"invite --days {text!r} is not a whole number") from None
    if not 1 <= days <= MAX_DAYS:
        raise UsageError(f"invite --days must be between 1 and {MAX_DAYS}, got {days}")
    return days


def make_bot(settings: Settings) -> Bot:
    """The Bot that answers getMe (tests replace this with an offline one)."""
    # Imported here: aiogram takes seconds to load, which only the getMe path needs to pay.
    from bot.serving import make_bot as make_telegram_bot

    return make_telegram_bot(settings)


async def _username(settings: Settings, given: str | None) -> str:
    from bot.services import invites
    from bot.services.invites import BadUsername

    name = given or (settings.bot_username or "").strip() or None
    if name is None:
        if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
            raise UsageError(
                "the bot's username is unknown: pass --bot-username NAME, set BOT_USERNAME, "
                "or set BOT_TOKEN so it can be asked from Telegram"
            )
        from aiogram.exceptions import TelegramAPIError

        bot = make_bot(settings)
        try:
            me = await bot.get_me()
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            raise UsageError(f"cannot ask Telegram for the bot's username (getMe): {exc}") from None
        finally:
            await bot.session.close()
        if not me.username:
            raise UsageError("Telegram gave no username for this bot: pass --bot-username NAME")
        name = me.username
    try:
        return invites.bot_username(name)
    except BadUsername as exc:
        raise UsageError(str(exc)) from None


@dataclass(frozen=True)
class _Created:
    link: str
    expires_at: datetime
    name: str
    # The professional had a chat linked when the invite was made.
    was_linked: bool


async def _create(
    settings: Settings, slug: str, username: str | None, days: int, relink: bool, *, new: bool = False
) -> _Created:
    from bot.cli_database import open_database
    from bot.services import invites, pro_profile
    from bot.services.clock import SystemClock
    from bot.services.errors import NotFound
    from models.db import make_sessionmaker

    async with open_database(settings.database_url) as engine:
        sessions = make_sessionmaker(engine)
        # The slug first (a typo should not cost a call to Telegram), the invite after the username is
        # known (no row for a link that could not be printed).
        async with sessions() as session:
            try:
                professional = await invites.professional_by_slug(session, slug)
            except NotFound:
                if not new:
                    raise UsageError(f"no professional with slug {slug!r} (--new makes one)") from None
            else:
                if new:
                    raise UsageError(f"invite --new: the slug {slug!r} is taken; choose another") from None
                name, was_linked = professional.name, professional.telegram_id is not None
        if new:
            name, was_linked = "", False
        bot_name = await _username(settings, username)
        async with sessions.begin() as session:
            if new:
                try:
                    await pro_profile.create_draft(session, slug)
                except pro_profile.SlugTaken:
                    raise UsageError(f"invite --new: the slug {slug!r} is taken; choose another") from None
            try:
                invite = await invites.create_invite(session, slug, now=SystemClock().now(), days=days, relink=relink)
            except NotFound:
                raise UsageError(f"no professional with slug {slug!r}") from None
            token, expires_at = invite.token, invite.expires_at
        return _Created(invites.invite_link(bot_name, token), expires_at, name, was_linked)
