"""Getting verified (seeds: "We run a verification process in order to add you to our public directory").

A professional sends their credentials (licence number, licensing body, country, documents as files or
photos). The operators' chat (SUPPORT_CHAT_ID, else every ADMIN_IDS) gets the documents, forwarded by
Telegram file id, and the request with Approve / Reject buttons, all through the outbox. One operator
decides; the decision is final for that request (a second press, another operator's copy or a forged
button finds it decided: AlreadyDecided), goes into the audit log with the operator's Telegram id, and
the professional is told. Approval verifies the profile; it is listed once it is complete as well
(bot/services/pro_profile.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import outbox
from bot.services.errors import DomainError, NotFound
from bot.services.pro_profile import clean_text, missing_parts
from bot.services.users import user_for_chat
from models import AuditEntry, Professional, VerificationRequest, VerificationState

SUBJECT = "verification"
MAX_DOCUMENTS = 10
MAX_LICENCE = 100
MAX_BODY = 200
MAX_COUNTRY = 100
MAX_REASON = 1000
DOCUMENT_KINDS = ("document", "photo")

APPROVED = "verification_approved"
REJECTED = "verification_rejected"


class AlreadyVerified(DomainError):
    pass


class AlreadyPending(DomainError):
    pass


class NoOperators(DomainError):
    """Neither SUPPORT_CHAT_ID nor ADMIN_IDS is set: nobody could decide."""


class NoDocuments(DomainError):
    pass


class AlreadyDecided(DomainError):
    def __init__(self, state: VerificationState, by: int | None) -> None:
        super().__init__(f"already {state}")
        self.state = state
        self.by = by


@dataclass(frozen=True)
class Document:
    kind: str  # "document" | "photo"
    file_id: str
    name: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "file_id": self.file_id, "name": self.name}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        return cls(str(data["kind"]), str(data["file_id"]), str(data.get("name") or ""))


def operator_chats(support_chat_id: int | None, admin_ids: Sequence[int]) -> list[int]:
    """Where verification requests go: the support chat, else every operator's own chat."""
    return [support_chat_id] if support_chat_id is not None else list(dict.fromkeys(admin_ids))


def may_decide(telegram_id: int, chat_id: int | None, support_chat_id: int | None, admin_ids: Sequence[int]) -> bool:
    """An operator (ADMIN_IDS), or anyone in the support chat pressing a button of a message there
    (Telegram says which message a button was on; the callback data alone could be forged)."""
    return telegram_id in admin_ids or (support_chat_id is not None and chat_id == support_chat_id)


async def pending_request(session: AsyncSession, professional: Professional) -> VerificationRequest | None:
    return await session.scalar(
        select(VerificationRequest).where(
            VerificationRequest.professional_id == professional.id,
            VerificationRequest.state == VerificationState.PENDING,
        )
    )


async def latest_request(session: AsyncSession, professional: Professional) -> VerificationRequest | None:
    return await session.scalar(
        select(VerificationRequest)
        .where(VerificationRequest.professional_id == professional.id)
        .order_by(VerificationRequest.id.desc())
        .limit(1)
    )


def check_licence(text: str) -> str:
    return clean_text(text, MAX_LICENCE)


def check_body(text: str) -> str:
    return clean_text(text, MAX_BODY)


def check_country(text: str) -> str:
    return clean_text(text, MAX_COUNTRY)


async def submit(
    session: AsyncSession,
    professional: Professional,
    *,
    licence_number: str,
    licensing_body: str,
    country: str,
    documents: Sequence[Document],
    operators: Sequence[int],
    now: datetime,
) -> VerificationRequest:
    """Record the request and queue it, documents first, to every operator chat."""
    if professional.verified:
        raise AlreadyVerified(professional.slug)
    if not operators:
        raise NoOperators("no SUPPORT_CHAT_ID or ADMIN_IDS")
    if not documents:
        raise NoDocuments(professional.slug)
    if await pending_request(session, professional) is not None:
        raise AlreadyPending(professional.slug)
    request = VerificationRequest(
        professional_id=professional.id,
        licence_number=check_licence(licence_number),
        licensing_body=check_body(licensing_body),
        country=check_country(country),
        documents=[document.to_json() for document in documents[:MAX_DOCUMENTS]],
        state=VerificationState.PENDING,
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(request)
    except IntegrityError:
        # A second request sent at the same moment: the unique index keeps one pending.
        raise AlreadyPending(professional.slug) from None
    missing = await missing_parts(session, professional)
    subject = outbox.Subject(SUBJECT, request.id)
    for chat_id in operators:
        recipient = await user_for_chat(session, chat_id, now)
        for number, document in enumerate(documents[:MAX_DOCUMENTS]):
            await outbox.enqueue(
                session,
                f"verification_document:{request.id}:{number}:{recipient.id}",
                recipient_id=recipient.id,
                subject=subject,
                kind="verification_document",
                # The document's own "name" is its file name; the caption names the professional.
                payload={**document.to_json(), "file_name": document.name, "request_id": request.id}
                | {"name": professional.name},
                due_at=now,
            )
        await outbox.enqueue(
            session,
            f"verification_request:{request.id}:{recipient.id}",
            recipient_id=recipient.id,
            subject=subject,
            kind="verification_request",
            payload={
                "request_id": request.id,
                "name": professional.name,
                "slug": professional.slug,
                "headline": professional.headline,
                "licence_number": request.licence_number,
                "licensing_body": request.licensing_body,
                "country": request.country,
                "documents": len(request.documents),
                "missing": missing,
            },
            due_at=now,
        )
    return request


@dataclass(frozen=True)
class Decision:
    request: VerificationRequest
    professional: Professional
    approved: bool


async def decide(
    session: AsyncSession,
    request_id: int,
    *,
    approve: bool,
    operator_telegram_id: int,
    reason: str | None,
    now: datetime,
) -> Decision:
    """Approve or reject a pending request, once. The state moves only from pending (the UPDATE's WHERE
    decides a race), the audit log gets one row per request (a unique constraint backs that up) and the
    professional is told through the outbox."""
    request = await session.get(VerificationRequest, request_id)
    if request is None:
        raise NotFound("verification request", request_id)
    if request.state != VerificationState.PENDING:
        raise AlreadyDecided(request.state, request.decided_by_telegram_id)
    if not approve:
        reason = clean_text(reason or "", MAX_REASON)
    state = VerificationState.APPROVED if approve else VerificationState.REJECTED
    moved = await session.execute(
        update(VerificationRequest)
        .where(VerificationRequest.id == request_id, VerificationRequest.state == VerificationState.PENDING)
        .values(state=state, decided_at=now, decided_by_telegram_id=operator_telegram_id, reason=reason)
        .returning(VerificationRequest.id)
        .execution_options(synchronize_session=False)
    )
    if moved.scalar_one_or_none() is None:
        await session.refresh(request)
        raise AlreadyDecided(request.state, request.decided_by_telegram_id)
    await session.refresh(request)
    professional = await session.get(Professional, request.professional_id, with_for_update=True)
    if professional is None:
        raise NotFound("professional", request.professional_id)
    if approve:
        professional.verified = True
    try:
        async with session.begin_nested():
            session.add(
                AuditEntry(
                    created_at=now,
                    actor_telegram_id=operator_telegram_id,
                    action=APPROVED if approve else REJECTED,
                    professional_id=professional.id,
                    verification_request_id=request.id,
                    reason=reason,
                )
            )
    except IntegrityError:
        raise AlreadyDecided(request.state, request.decided_by_telegram_id) from None
    if professional.telegram_id is not None:
        recipient = await user_for_chat(session, professional.telegram_id, now)
        await outbox.enqueue(
            session,
            f"verification_outcome:{request.id}:{recipient.id}",
            recipient_id=recipient.id,
            subject=outbox.Subject(SUBJECT, request.id),
            kind="verification_outcome",
            payload={
                "approved": approve,
                "reason": reason,
                "missing": await missing_parts(session, professional),
            },
            due_at=now,
            fallback_zone=professional.timezone,
        )
    return Decision(request, professional, approve)


async def record_switch(
    session: AsyncSession, professional: Professional, *, verified: bool, operator_telegram_id: int, now: datetime
) -> None:
    """The audit row of /admin's verify / unverify switch."""
    session.add(
        AuditEntry(
            created_at=now,
            actor_telegram_id=operator_telegram_id,
            action="verified" if verified else "unverified",
            professional_id=professional.id,
        )
    )
    await session.flush()


async def request_view(session: AsyncSession, request_id: int) -> tuple[VerificationRequest, Professional]:
    request = await session.get(VerificationRequest, request_id)
    if request is None:
        raise NotFound("verification request", request_id)
    professional = await session.get(Professional, request.professional_id)
    if professional is None:
        raise NotFound("professional", request.professional_id)
    return request, professional
