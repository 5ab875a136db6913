"""Linking a professional's Telegram chat to their profile through an invite link an operator creates.

An operator runs `bookbot invite --pro SLUG`; the professional opens
``https://t.me/<bot>?start=inv_<token>``. The token is random (`secrets.token_urlsafe`), single use and
expires after a few days. One Telegram account is linked to at most one professional and the other
way round (Professional.telegram_id is unique): a link never silently moves from one account to
another. When a professional changes accounts, the operator drops the old link while issuing the new
invite (`relink=True`, `bookbot invite --relink`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import DomainError, NotFound
from models import Invite, Professional

# `/start inv_<token>`: the handler registers this prefix (handlers/common.deep_link).
INVITE_PREFIX = "inv"
DEFAULT_DAYS = 7
MAX_DAYS = 365
# 24 random bytes: 32 characters of [A-Za-z0-9_-], well inside Telegram's 64 for "inv_" + token.
TOKEN_BYTES = 24
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,60}")
# Telegram usernames: 5 to 32 characters of [A-Za-z0-9_], starting with a letter.
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")


class InviteUnusable(DomainError):
    """The invite cannot link anyone: `reason` is "unknown", "expired" or "used"."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invite is {reason}")
        self.reason = reason


class AlreadyLinked(DomainError):
    """Linking would take a link away from someone.

    `reason` "account": this Telegram account is linked to another professional (`professional_name`);
    "professional": the invite's professional (`professional_name`) is linked to another account.
    """

    def __init__(self, reason: str, professional_name: str | None) -> None:
        super().__init__(f"already linked ({reason})")
        self.reason = reason
        self.professional_name = professional_name


class BadUsername(DomainError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is not a Telegram bot username (5 to 32 letters, digits or _)")
        self.name = name


@dataclass(frozen=True)
class Linked:
    professional: Professional
    # True when this account was linked to this professional before (a second tap on the link).
    already: bool


def bot_username(name: str) -> str:
    """`name` without a leading "@", checked against Telegram's username rules."""
    cleaned = name.strip().removeprefix("@")
    if not _USERNAME.fullmatch(cleaned):
        raise BadUsername(name)
    return cleaned


def invite_link(username: str, token: str) -> str:
    return f"https://t.me/{bot_username(username)}?start={INVITE_PREFIX}_{token}"


async def professional_by_slug(session: AsyncSession, slug: str) -> Professional:
    professional = await session.scalar(select(Professional).where(Professional.slug == slug))
    if professional is None:
        raise NotFound("professional", slug)
    return professional


async def create_invite(
    session: AsyncSession, slug: str, *, now: datetime, days: int = DEFAULT_DAYS, relink: bool = False
) -> Invite:
    """A fresh single-use invite for the professional `slug`, valid `days` days.

    `relink` drops the professional's current chat link first (they lost the old account): from then
    on no chat gets their notifications until the invite is used.
    """
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    professional = await professional_by_slug(session, slug)
    if relink:
        professional.telegram_id = None
    invite = Invite(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        professional_id=professional.id,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(invite)
    await session.flush()
    return invite


# Built once: onboarding and every menu ask whose chat this is (a fresh SELECT costs its construction
# and its cache key, about 0.1 ms of CPU, a ready one neither).
_BY_TELEGRAM_ID = select(Professional).where(Professional.telegram_id == bindparam("telegram_id"))


async def professional_of(session: AsyncSession, telegram_id: int) -> Professional | None:
    """The professional whose chat is this Telegram account, if any."""
    return await session.scalar(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})


async def accept_invite(session: AsyncSession, token: str, telegram_id: int, *, now: datetime) -> Linked:
    """Link `telegram_id` to the invite's professional and use the invite up.

    Raises InviteUnusable (unknown, expired, used by someone else) or AlreadyLinked; nothing changes
    then, so an operator can sort the accounts out and the invite still works if it was not used.
    """
    if not _TOKEN.fullmatch(token):
        raise InviteUnusable("unknown")
    invite = await session.scalar(select(Invite).where(Invite.token == token).with_for_update())
    if invite is None:
        raise InviteUnusable("unknown")
    professional = await session.get(Professional, invite.professional_id, with_for_update=True)
    if professional is None:
        raise InviteUnusable("unknown")
    if invite.used_at is not None:
        # The same person opening their link again is answered kindly, anyone else is refused.
        if invite.used_by_telegram_id == telegram_id and professional.telegram_id == telegram_id:
            return Linked(professional, already=True)
        raise InviteUnusable("used")
    if invite.expires_at <= now:
        raise InviteUnusable("expired")
    already = professional.telegram_id == telegram_id
    if not already:
        other = await professional_of(session, telegram_id)
        if other is not None:
            raise AlreadyLinked("account", other.name)
        if professional.telegram_id is not None:
            raise AlreadyLinked("professional", professional.name)
    try:
        async with session.begin_nested():
            professional.telegram_id = telegram_id
            invite.used_at = now
            invite.used_by_telegram_id = telegram_id
    except IntegrityError:
        # The same account was linked elsewhere by a concurrent invite: the unique column decided.
        raise AlreadyLinked("account", None) from None
    return Linked(professional, already=already)
