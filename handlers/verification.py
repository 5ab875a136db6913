"""Getting verified, from chat (seeds: "We run a verification process in order to add you to our public
directory"): the professional's request, the operators' decision, the outcome (bot/services/verification.py).

- The professional: /profile -> "Request verification" asks the licence or registration number, the body
  that issued it, the country, then documents (files or photos, several) and sends the request.
- The operators' chat (SUPPORT_CHAT_ID, else each of ADMIN_IDS) gets the documents, forwarded by file id,
  and the request with Approve / Reject. Reject asks for the reason, typed in the same chat (a reply to
  the bot's question, so a group with privacy mode delivers it). A button pressed by someone who may not
  decide, or on a request decided already, changes nothing.
- The professional is told the outcome (approved: listed once complete; rejected: the reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.render import Reader, Rendered
from bot.services import verification
from bot.services.errors import NotFound
from bot.services.pro_profile import ProfileInputError
from bot.services.verification import (
    AlreadyDecided,
    AlreadyPending,
    AlreadyVerified,
    Document,
    NoDocuments,
    NoOperators,
)
from bot.settings import Settings
from handlers.common import Callback, Flow, answer, answer_stale, inline_keyboard, replace, send
from handlers.pro_setup import input_problem, part_label, profile_screen, short
from handlers.professional import professionals_only
from handlers.registry import Registry
from models import Professional, VerificationState

LICENCE = "vf_licence"
BODY = "vf_body"
COUNTRY = "vf_country"
DOCUMENTS = "vf_documents"
REQUEST = "vf_request"


class Verify(StatesGroup):
    licence = State()
    body = State()
    country = State()
    documents = State()


class Reject(StatesGroup):
    reason = State()


class VerifyCb(Callback, prefix="vf"):
    action: str  # "start" | "send" | "cancel"


class DecideCb(Callback, prefix="vd"):
    id: int
    approve: bool


# --- the professional's side -----------------------------------------------------------------------


def _cancel_row() -> list[tuple[str, Callback]]:
    return [(_("Cancel"), VerifyCb(action="cancel"))]


async def ask_licence(ctx: Flow) -> Rendered:
    text = "\n".join(
        [
            _(
                "To be listed, an operator checks your credentials. It takes four short answers; "
                "what you send is seen only by our operators."
            ),
            "",
            _("Your licence or registration number:"),
        ]
    )
    return Rendered(text, inline_keyboard(_cancel_row()))


async def ask_body(ctx: Flow) -> Rendered:
    return Rendered(_("Which body issued it (a board, association or ministry)?"), inline_keyboard(_cancel_row()))


async def ask_country(ctx: Flow) -> Rendered:
    return Rendered(_("In which country?"), inline_keyboard(_cancel_row()))


async def ask_documents(ctx: Flow) -> Rendered:
    count = len(await ctx.state.get_value(DOCUMENTS, []))
    lines = [
        _("Send your documents as files or photos: licence, diploma, ID. Several are fine."),
        _("Received so far: {count}.").format(count=count),
    ]
    rows = [_cancel_row()]
    if count:
        rows.insert(0, [(_("Send the request"), VerifyCb(action="send"))])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def verify_pressed(query: CallbackQuery, callback_data: VerifyCb, ctx: Flow, professional: Professional) -> None:
    action = callback_data.action
    if action == "start":
        if professional.verified:
            await answer(query, _("You are verified already."))
            return
        if await verification.pending_request(ctx.session, professional) is not None:
            await answer(query, _("Your request is with an operator already."))
            return
        await ctx.state.set_state(Verify.licence)
        await ctx.state.update_data({DOCUMENTS: []})
        await replace(query, ctx, await ask_licence(ctx))
    elif action == "cancel":
        await ctx.state.clear()
        note = [_("Verification request cancelled; nothing was sent.")]
        await replace(query, ctx, await profile_screen(ctx, professional, note))
    elif action == "send" and await ctx.state.get_state() == Verify.documents.state:
        await replace(query, ctx, await _submit(ctx, professional))
    else:
        await answer_stale(query)


async def _submit(ctx: Flow, professional: Professional) -> Rendered:
    data = await ctx.state.get_data()
    documents = [Document.from_json(item) for item in data.get(DOCUMENTS, [])]
    settings = ctx.settings
    try:
        await verification.submit(
            ctx.session,
            professional,
            licence_number=str(data.get(LICENCE, "")),
            licensing_body=str(data.get(BODY, "")),
            country=str(data.get(COUNTRY, "")),
            documents=documents,
            operators=verification.operator_chats(settings.support_chat_id, settings.admin_ids),
            now=ctx.clock.now(),
        )
    except NoDocuments:
        return await ask_documents(ctx)
    except ProfileInputError:
        await ctx.state.set_state(Verify.licence)
        return await ask_licence(ctx)
    except (AlreadyPending, AlreadyVerified):
        await ctx.state.clear()
        return await profile_screen(ctx, professional, [_("Your request is with an operator already.")])
    except NoOperators:
        await ctx.state.clear()
        note = _("Verification can't be requested here yet: no operator is set up to check it. Please try later.")
        return await profile_screen(ctx, professional, [note])
    await ctx.state.clear()
    note = _("Sent. An operator checks your documents and I tell you the outcome here.")
    return await profile_screen(ctx, professional, [note])


async def _typed(message: Message, ctx: Flow, key: str, check: Any, next_state: State, asker: Any, again: Any) -> None:
    try:
        value = check(message.text or "")
    except ProfileInputError as exc:
        question = await again(ctx)
        await send(ctx, Rendered(f"{input_problem(exc)}\n\n{question.text}", question.reply_markup))
        return
    await ctx.state.update_data({key: value})
    await ctx.state.set_state(next_state)
    await send(ctx, await asker(ctx))


async def licence_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    await _typed(message, ctx, LICENCE, verification.check_licence, Verify.body, ask_body, ask_licence)


async def body_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    await _typed(message, ctx, BODY, verification.check_body, Verify.country, ask_country, ask_body)


async def country_typed(message: Message, ctx: Flow, professional: Professional) -> None:
    await _typed(message, ctx, COUNTRY, verification.check_country, Verify.documents, ask_documents, ask_country)


async def document_sent(message: Message, ctx: Flow, professional: Professional) -> None:
    documents = list(await ctx.state.get_value(DOCUMENTS, []))
    if message.document is not None:
        found = Document("document", message.document.file_id, short(message.document.file_name or "", 100))
    elif message.photo:
        found = Document("photo", message.photo[-1].file_id)
    else:
        await send(ctx, await ask_documents(ctx))
        return
    if len(documents) >= verification.MAX_DOCUMENTS:
        question = await ask_documents(ctx)
        limit = _("That is the most I take: {count} documents.").format(count=verification.MAX_DOCUMENTS)
        await send(ctx, Rendered(f"{limit}\n\n{question.text}", question.reply_markup))
        return
    documents.append(found.to_json())
    await ctx.state.update_data({DOCUMENTS: documents})
    await send(ctx, await ask_documents(ctx))


# --- the operators' side ---------------------------------------------------------------------------


def verification_document(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    caption = _("Verification document from {name}").format(name=payload.get("name") or "?")
    if payload.get("kind") == "photo":
        return Rendered(caption, photo=str(payload["file_id"]))
    return Rendered(caption, document=str(payload["file_id"]))


def verification_request(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    lines = [
        _("🪪 Verification request"),
        _("Professional: {name} ({slug})").format(name=payload.get("name") or "?", slug=payload.get("slug")),
    ]
    if payload.get("headline"):
        lines.append(str(payload["headline"]))
    lines += [
        _("Licence or registration number: {value}").format(value=payload.get("licence_number")),
        _("Issued by: {value}").format(value=payload.get("licensing_body")),
        _("Country: {value}").format(value=payload.get("country")),
        _("Documents: {count} (sent above).").format(count=payload.get("documents", 0)),
    ]
    missing = payload.get("missing") or []
    if missing:
        parts = ", ".join(part_label(str(part)) for part in missing)
        lines.append(_("Their profile still misses: {parts} (listed only once complete).").format(parts=parts))
    request_id = int(payload["request_id"])
    keyboard = inline_keyboard(
        [
            (_("✓ Approve"), DecideCb(id=request_id, approve=True)),
            (_("✗ Reject"), DecideCb(id=request_id, approve=False)),
        ]
    )
    return Rendered("\n".join(lines), keyboard)


def verification_outcome(payload: Mapping[str, Any], reader: Reader) -> Rendered:
    if payload.get("approved"):
        lines = [_("✓ You are verified.")]
        missing = payload.get("missing") or []
        if missing:
            parts = ", ".join(part_label(str(part)) for part in missing)
            lines.append(_("To be listed, your profile still needs: {parts}. /profile").format(parts=parts))
        else:
            lines.append(_("Clients find you in the directory now."))
        return Rendered("\n".join(lines))
    lines = [
        _("Your verification request was not approved."),
        _("Reason: {reason}").format(reason=payload.get("reason") or "—"),
        _("You can send a new request from /profile."),
    ]
    return Rendered("\n".join(lines))


class MayDecide(Filter):
    """An operator, or a button pressed on a message in the support chat."""

    async def __call__(self, event: TelegramObject, settings: Settings) -> bool:
        if isinstance(event, CallbackQuery):
            chat_id = event.message.chat.id if event.message is not None else None
            return verification.may_decide(event.from_user.id, chat_id, settings.support_chat_id, settings.admin_ids)
        if isinstance(event, Message) and event.from_user is not None:
            return verification.may_decide(
                event.from_user.id, event.chat.id, settings.support_chat_id, settings.admin_ids
            )
        return False


def _decided_note(error: AlreadyDecided) -> str:
    if error.state == VerificationState.APPROVED:
        return _("This request was approved already (operator {id}).").format(id=error.by)
    return _("This request was rejected already (operator {id}).").format(id=error.by)


async def decide_pressed(query: CallbackQuery, callback_data: DecideCb, ctx: Flow) -> None:
    try:
        request, _pro = await verification.request_view(ctx.session, callback_data.id)
    except NotFound:
        await answer_stale(query)
        return
    if request.state != VerificationState.PENDING:
        await answer(query, _decided_note(AlreadyDecided(request.state, request.decided_by_telegram_id)))
        return
    if not callback_data.approve:
        await ctx.state.set_state(Reject.reason)
        await ctx.state.update_data({REQUEST: request.id})
        await answer(query)
        await send(ctx, await ask_reason(ctx))
        return
    try:
        decision = await verification.decide(
            ctx.session,
            request.id,
            approve=True,
            operator_telegram_id=query.from_user.id,
            reason=None,
            now=ctx.clock.now(),
        )
    except AlreadyDecided as exc:
        await answer(query, _decided_note(exc))
        return
    text = _("✓ Approved: {name} is verified ({by}).").format(
        name=decision.professional.name or decision.professional.slug, by=query.from_user.first_name
    )
    await replace(query, ctx, Rendered(text))


async def ask_reason(ctx: Flow) -> Rendered:
    request_id = await ctx.state.get_value(REQUEST)
    name = "?"
    if request_id is not None:
        try:
            _request, professional = await verification.request_view(ctx.session, int(request_id))
            name = professional.name or professional.slug
        except NotFound:
            pass
    text = _("Why is {name}'s request rejected? Reply with the reason: they will read it.").format(name=name)
    return Rendered(text, ForceReply(selective=True))


async def reason_typed(message: Message, ctx: Flow) -> None:
    request_id = await ctx.state.get_value(REQUEST)
    await ctx.state.clear()
    if request_id is None or message.from_user is None:
        return
    try:
        decision = await verification.decide(
            ctx.session,
            int(request_id),
            approve=False,
            operator_telegram_id=message.from_user.id,
            reason=message.text or "",
            now=ctx.clock.now(),
        )
    except AlreadyDecided as exc:
        await send(ctx, Rendered(_decided_note(exc)))
        return
    except ProfileInputError as exc:
        await ctx.state.set_state(Reject.reason)
        await ctx.state.update_data({REQUEST: request_id})
        question = await ask_reason(ctx)
        await send(ctx, Rendered(f"{input_problem(exc)}\n\n{question.text}", question.reply_markup))
        return
    except NotFound:
        await send(ctx, Rendered(_("That request no longer exists.")))
        return
    name = decision.professional.name or decision.professional.slug
    await send(ctx, Rendered(_("✗ Rejected: {name} is told the reason.").format(name=name)))


# --- routers ---------------------------------------------------------------------------------------


def make_router(registry: Registry) -> Router:
    registry.renderers.register("verification_document")(verification_document)
    registry.renderers.register("verification_request")(verification_request)
    registry.renderers.register("verification_outcome")(verification_outcome)
    registry.state_prompt(Verify.licence, ask_licence)
    registry.state_prompt(Verify.body, ask_body)
    registry.state_prompt(Verify.country, ask_country)
    registry.state_prompt(Verify.documents, ask_documents)
    registry.state_prompt(Reject.reason, ask_reason)
    typing = (F.text, ~F.text.startswith("/"))
    linked = professionals_only("verification-linked")
    linked.callback_query.register(verify_pressed, VerifyCb.filter())
    linked.message.register(licence_typed, Verify.licence, *typing)
    linked.message.register(body_typed, Verify.body, *typing)
    linked.message.register(country_typed, Verify.country, *typing)
    linked.message.register(document_sent, Verify.documents, F.document | F.photo)
    operators = Router(name="verification-operators")
    operators.callback_query.filter(MayDecide())
    operators.message.filter(MayDecide())
    operators.callback_query.register(decide_pressed, DecideCb.filter())
    operators.message.register(reason_typed, Reject.reason, *typing)
    router = Router(name="verification")
    router.include_routers(linked, operators)
    return router


def make_operator_chat_router(registry: Registry) -> Router:
    """The reason for a rejection typed in the support chat (a group): the one message the bot reads there."""
    router = Router(name="verification-support-chat")
    router.message.filter(F.chat.type != ChatType.PRIVATE, MayDecide())
    router.message.register(reason_typed, Reject.reason, F.text, ~F.text.startswith("/"))
    return router
