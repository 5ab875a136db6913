"""`button_grid` (handlers/common.py) lays buttons out as aiogram's InlineKeyboardBuilder would, within
Telegram's limits, without the builder's copy of the whole keyboard per button."""

from __future__ import annotations

import pytest
from aiogram.types import InlineKeyboardButton
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.common import MAX_BUTTONS, MAX_ROW_WIDTH, Callback, button_grid


class PickCb(Callback, prefix="tpk"):
    id: int


def _items(count: int) -> list[tuple[str, Callback] | InlineKeyboardButton]:
    return [
        (f"#{n}", PickCb(id=n)) if n % 3 else InlineKeyboardButton(text=f"#{n}", url="https://example.org")
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [0, 1, 7, 8, 16, 17])
@pytest.mark.parametrize("columns", [1, 2, 3, 8])
def test_rows_are_the_builders(count: int, columns: int) -> None:
    builder = InlineKeyboardBuilder()
    for item in _items(count):
        builder.add(
            item
            if isinstance(item, InlineKeyboardButton)
            else InlineKeyboardButton(text=item[0], callback_data=item[1].pack())
        )
    builder.adjust(columns)

    assert button_grid(_items(count), columns).model_dump() == builder.as_markup().model_dump()


def test_rows_of_three() -> None:
    rows = button_grid(_items(7), columns=3).inline_keyboard
    assert [[button.text for button in row] for row in rows] == [["#0", "#1", "#2"], ["#3", "#4", "#5"], ["#6"]]
    assert rows[0][1].callback_data == "tpk:1"


@pytest.mark.parametrize("columns", [0, MAX_ROW_WIDTH + 1])
def test_a_row_telegram_would_refuse_is_refused(columns: int) -> None:
    with pytest.raises(ValueError, match="to a row"):
        button_grid(_items(3), columns)


def test_too_many_buttons_are_refused() -> None:
    button_grid(_items(MAX_BUTTONS), columns=4)
    with pytest.raises(ValueError, match="at most"):
        button_grid(_items(MAX_BUTTONS + 1), columns=4)
