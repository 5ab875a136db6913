"""Browsing: the list of verified professionals (the home screen), filtered by category and language,
five to a page, and a professional's profile, which the deep link `/start pro_<slug>` opens too (so a
professional can share a link to their own page).

A profile's services lead into the booking flow (handlers/booking.py).
"""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.render import Rendered, format_price, zone_label
from bot.services import directory
from bot.services.directory import Facets, ProfileView
from bot.services.errors import NotFound
from handlers.client_callbacks import (
    CAT,
    LANG,
    PAGE,
    PRO,
    BookingsCb,
    BrowseCb,
    FilterCb,
    ProfileCb,
    WeekCb,
    as_int,
    category_code,
)
from handlers.client_wording import category_label, language_label, rating_label, service_facts
from handlers.common import (
    Button,
    Flow,
    answer_stale,
    button_grid,
    buttons_expected,
    inline_keyboard,
    replace,
)
from handlers.instant import InstantListCb
from handlers.packages import package_buttons, package_line
from handlers.registry import Registry
from models import ServiceMode

BIO_LIMIT = 2000


class Browse(StatesGroup):
    list = State()
    profile = State()


def _category(code: str, facets: Facets) -> str | None:
    """The category slug a code stands for, among those listed now; None for "" or an unknown code."""
    return next((slug for slug in facets.categories if category_code(slug) == code), None) if code else None


# --- the list --------------------------------------------------------------------------------------


async def show_list(ctx: Flow, cat: str = "", lang: str = "", page: int = 0) -> Rendered:
    """The list for these filters (codes that are no longer valid count as "all")."""
    if not cat and not lang:
        # The home screen: its filters' choices and the page in one statement.
        _facets, found = await directory.unfiltered_page(ctx.session, page=page)
        category = language = None
    else:
        facets = await directory.facets(ctx.session)
        category = _category(cat, facets)
        language = lang if lang in facets.languages else None
        cat, lang = (category_code(category) if category else ""), (language or "")
        found = await directory.list_professionals(ctx.session, category=category, language=language, page=page)
    await ctx.state.set_state(Browse.list)
    await ctx.state.update_data({CAT: cat, LANG: lang, PAGE: found.page})

    filters = [
        _("Category: {category}").format(category=category_label(category) if category else _("all")),
        _("Language: {language}").format(language=language_label(language, ctx.locale) if language else _("any")),
    ]
    filter_row: list[Button] = [
        ("🗂 " + _("Category"), FilterCb(kind="c", cat=cat, lang=lang)),
        ("🌐 " + _("Language"), FilterCb(kind="l", cat=cat, lang=lang)),
        ("⚡ " + _("Available now"), InstantListCb()),
    ]
    if found.total == 0 and not (category or language):
        text = _("No professionals are listed yet; please come back soon. /help lists what I can do.")
        return Rendered(text, inline_keyboard([(_("My sessions"), BookingsCb())]))
    if found.total == 0:
        text = "\n".join([_("Nobody matches these filters."), *filters])
        return Rendered(text, inline_keyboard(filter_row, [(_("Clear filters"), BrowseCb())]))

    lines = [_("Find a professional ({count} listed)").format(count=found.total), " · ".join(filters)]
    people: list[Button] = []
    for item in found.items:
        languages = ", ".join(language_label(code, ctx.locale) for code in item.languages)
        lines += ["", f"• {item.name}"]
        if item.headline:
            lines.append(f"  {item.headline}")
        lines.append(f"  {languages} · {rating_label(item.rating, ctx.locale)}")
        people.append((item.name, ProfileCb(id=item.id, cat=cat, lang=lang, page=found.page)))
    if found.pages > 1:
        lines += ["", _("Page {page} of {pages}").format(page=found.page + 1, pages=found.pages)]
    paging: list[Button] = []
    if found.page > 0:
        paging.append(("◀ " + _("Previous"), BrowseCb(cat=cat, lang=lang, page=found.page - 1)))
    if found.page + 1 < found.pages:
        paging.append((_("Next") + " ▶", BrowseCb(cat=cat, lang=lang, page=found.page + 1)))
    rows: list[list[Button]] = [[person] for person in people]
    rows += [filter_row, paging, [(_("My sessions"), BookingsCb())]]
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def home(ctx: Flow, _argument: str) -> Rendered:
    return await show_list(ctx)


async def ask_list(ctx: Flow) -> Rendered:
    data = await ctx.state.get_data()
    return await show_list(ctx, str(data.get(CAT, "")), str(data.get(LANG, "")), as_int(data, PAGE))


async def browse(query: CallbackQuery, callback_data: BrowseCb, ctx: Flow) -> None:
    facets = await directory.facets(ctx.session)
    stale_category = callback_data.cat and _category(callback_data.cat, facets) is None
    stale_language = callback_data.lang and callback_data.lang not in facets.languages
    if stale_category or stale_language:
        await answer_stale(query)
        return
    await replace(query, ctx, await show_list(ctx, callback_data.cat, callback_data.lang, callback_data.page))


async def pick_filter(query: CallbackQuery, callback_data: FilterCb, ctx: Flow) -> None:
    facets = await directory.facets(ctx.session)
    cat, lang = callback_data.cat, callback_data.lang
    buttons: list[Button]
    if callback_data.kind == "c":
        text = _("Which kind of professional are you looking for?")
        options = sorted(facets.categories, key=category_label)
        buttons = [(("✓ " if not cat else "") + _("All categories"), BrowseCb(lang=lang))]
        for slug in options:
            code = category_code(slug)
            mark = "✓ " if code == cat else ""
            buttons.append((mark + category_label(slug), BrowseCb(cat=code, lang=lang)))
    elif callback_data.kind == "l":
        text = _("Which language should they speak?")
        options = sorted(facets.languages, key=lambda code: language_label(code, ctx.locale))
        buttons = [(("✓ " if not lang else "") + _("Any language"), BrowseCb(cat=cat))]
        for code in options:
            mark = "✓ " if code == lang else ""
            buttons.append((mark + language_label(code, ctx.locale), BrowseCb(cat=cat, lang=code)))
    else:
        await answer_stale(query)
        return
    await replace(query, ctx, Rendered(text, button_grid(buttons, columns=2)))


# --- a profile -------------------------------------------------------------------------------------


async def show_profile(ctx: Flow, view: ProfileView, cat: str = "", lang: str = "", page: int = 0) -> Rendered:
    professional = view.professional
    await ctx.state.set_state(Browse.profile)
    await ctx.state.update_data({PRO: professional.id, CAT: cat, LANG: lang, PAGE: page})
    bio = professional.bio.strip()
    if len(bio) > BIO_LIMIT:
        bio = bio[: BIO_LIMIT - 1].rstrip() + "…"
    lines = [professional.name]
    if professional.headline:
        lines.append(professional.headline)
    lines.append("✓ " + _("Verified professional"))
    if bio:
        lines += ["", bio]
    lines.append("")
    if professional.categories:
        categories = ", ".join(category_label(slug) for slug in professional.categories)
        lines.append(_("Fields: {categories}").format(categories=categories))
    languages = ", ".join(language_label(code, ctx.locale) for code in professional.languages)
    lines.append(_("Languages: {languages}").format(languages=languages or "—"))
    lines.append(_("Based in: {place}").format(place=zone_label(professional.timezone, ctx.locale, ctx.clock.now())))
    if professional.address and any(service.mode == ServiceMode.IN_PERSON for service in view.services):
        lines.append(_("In person at: {address}").format(address=professional.address))
        if professional.access_notes:
            lines.append(_("Access: {notes}").format(notes=professional.access_notes))
    lines.append(_("Rating: {rating}").format(rating=rating_label(view.rating, ctx.locale)))
    lines += [f"💬 “{comment}”" for comment in view.comments]
    lines.append("")
    rows: list[list[Button]] = []
    own = professional.telegram_id is not None and professional.telegram_id == ctx.user.telegram_id
    if view.services:
        lines.append(_("Services:"))
        for service in view.services:
            lines.append(f"• {service.name}: {service_facts(service, ctx.locale)}")
            price = format_price(service.price_minor, service.currency, ctx.locale)
            if not own:
                rows.append([(f"{service.name} · {price}", WeekCb(svc=service.id))])
        lines.append("")
        if own:
            lines.append(_("This is your own profile, as clients see it; you can't book a session with yourself."))
        else:
            lines.append(_("Pick a service to see its free times."))
    else:
        lines.append(_("{name} has no services to book right now.").format(name=professional.name))
    if view.packages:
        lines += ["", _("Packages (1 credit = 1 session):")]
        lines += [f"• {package_line(package, ctx.locale)}" for package in view.packages]
        if not own:
            rows += package_buttons(list(view.packages), ctx.locale)
    rows.append([("◀ " + _("All professionals"), BrowseCb(cat=cat, lang=lang, page=page))])
    return Rendered("\n".join(lines), inline_keyboard(*rows))


async def open_link(ctx: Flow, slug: str) -> Rendered:
    try:
        view = await directory.profile_by_slug(ctx.session, slug)
    except NotFound:
        await ctx.state.set_state(None)
        text = _("I couldn't find that professional. The link may be old: ask them for a new one.")
        return Rendered(text, inline_keyboard([(_("Find a professional"), BrowseCb())]))
    return await show_profile(ctx, view)


async def ask_profile(ctx: Flow) -> Rendered:
    data = await ctx.state.get_data()
    cat, lang, page = str(data.get(CAT, "")), str(data.get(LANG, "")), as_int(data, PAGE)
    try:
        view = await directory.profile_by_id(ctx.session, as_int(data, PRO))
    except NotFound:
        return await show_list(ctx, cat, lang, page)
    return await show_profile(ctx, view, cat, lang, page)


async def open_profile(query: CallbackQuery, callback_data: ProfileCb, ctx: Flow) -> None:
    # NotFound (unverified, unknown, forged) reads "This button is no longer available." (fallback).
    view = await directory.profile_by_id(ctx.session, callback_data.id)
    await replace(
        query, ctx, await show_profile(ctx, view, callback_data.cat, callback_data.lang, max(callback_data.page, 0))
    )


def make_router(registry: Registry) -> Router:
    router = Router(name="catalog")
    registry.home_screen(home)
    registry.state_prompt(Browse.list, ask_list, expects=buttons_expected)
    registry.deep_link("pro", open_link)
    registry.state_prompt(Browse.profile, ask_profile, expects=buttons_expected)
    registry.read_only_callbacks(BrowseCb, FilterCb, ProfileCb)
    router.callback_query.register(browse, BrowseCb.filter())
    router.callback_query.register(pick_filter, FilterCb.filter())
    router.callback_query.register(open_profile, ProfileCb.filter())
    return router
