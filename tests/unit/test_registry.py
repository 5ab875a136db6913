"""Each app's registry (handlers/registry.py): its own routers and entries, and one owner per callback prefix."""

from __future__ import annotations

import re

import pytest
from aiogram import Router
from aiogram.types import CallbackQuery

from handlers import setup_routers
from handlers.common import Callback
from handlers.registry import Registry
from handlers.start import Profile


class FirstCb(Callback, prefix="zq"):
    id: int


class SecondCb(Callback, prefix="zq"):
    id: int


async def pressed(query: CallbackQuery) -> None:
    await query.answer()


def test_two_factories_with_one_prefix_are_refused() -> None:
    registry = Registry()
    first, second = Router(name="first"), Router(name="second")
    first.callback_query.register(pressed, FirstCb.filter())
    second.callback_query.register(pressed, SecondCb.filter())
    registry.claim_callbacks(first)
    registry.claim_callbacks(first)  # the same factory again is its own
    taken = "callback prefix 'zq' is taken by tests.unit.test_registry.FirstCb"
    with pytest.raises(ValueError, match=re.escape(taken)):
        registry.claim_callbacks(second)


def test_every_app_builds_its_own_routers_and_registry() -> None:
    one, two = Registry(), Registry()
    root_one, root_two = setup_routers(one), setup_routers(two)
    assert root_one is not root_two
    assert not {id(router) for router in root_one.chain_tail} & {id(router) for router in root_two.chain_tail}
    assert one.prompt_for(Profile.zone.state) is not None and two.prompt_for(Profile.zone.state) is not None
    assert [command.name for command in one.commands()] == [command.name for command in two.commands()]
    assert one.renderers is not two.renderers and one.renderers.kinds() == two.renderers.kinds() != frozenset()
