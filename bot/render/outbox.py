"""Renderers for outbox messages: kind -> function(payload, reader) -> Rendered.

Each app owns one registry (handlers/registry.py: `Registry.renderers`); a feature module registers
one renderer per kind it enqueues, next to the handlers that speak about the same thing::

    from bot.render import Reader, Rendered, format_instant
    from aiogram.utils.i18n import gettext as _

    def booking_created_pro(payload: Mapping[str, Any], reader: Reader) -> Rendered:
        starts = datetime.fromisoformat(payload["starts_at"])
        return Rendered(_("New booking: {when}").format(when=format_instant(starts, reader.zone, reader.locale)))

    def make_router(registry: Registry) -> Router:
        registry.renderers.register("booking_created_pro")(booking_created_pro)
        ...

`reader` is the recipient as the users table has them when the message is sent (their language and
zone then, not when the row was written). The worker calls the renderer inside
``i18n.use_locale(reader.locale)``, so `_` speaks their language; pass `reader.locale` on to the Babel
helpers. Payloads are JSON: ids, ISO instants, zone names, amounts in minor units, a booking's view
(bot.services.booking_view); everything a renderer needs, so it never has to reach for the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiogram.utils.i18n import I18n

from bot.render.message import Rendered


@dataclass(frozen=True)
class Reader:
    """Who a message is rendered for: their language and IANA zone at the moment it is sent."""

    locale: str
    zone: str


Renderer = Callable[[Mapping[str, Any], Reader], Rendered]


class UnknownKind(LookupError):
    pass


class RendererRegistry:
    def __init__(self) -> None:
        self._renderers: dict[str, Renderer] = {}

    def register(self, kind: str) -> Callable[[Renderer], Renderer]:
        def decorator(renderer: Renderer) -> Renderer:
            existing = self._renderers.get(kind)
            if existing is not None and _name(existing) != _name(renderer):
                raise ValueError(f"outbox kind {kind!r} already has a renderer: {_name(existing)}")
            self._renderers[kind] = renderer
            return renderer

        return decorator

    def kinds(self) -> frozenset[str]:
        return frozenset(self._renderers)

    def render(self, kind: str, payload: Mapping[str, Any], reader: Reader, i18n: I18n) -> Rendered:
        renderer = self._renderers.get(kind)
        if renderer is None:
            raise UnknownKind(kind)
        with i18n.context(), i18n.use_locale(reader.locale):
            return renderer(payload, reader)


def _name(renderer: Renderer) -> str:
    return f"{renderer.__module__}.{getattr(renderer, '__qualname__', repr(renderer))}"
