"""Stripe's settings are checked before anything runs: a key without its webhook secret, or either
malformed, stops `bookbot run` (and `bookbot import`) with one line naming the variable, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

EXAMPLE_CATALOG = Path(__file__).resolve().parents[2] / "examples" / "catalog.yaml"


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"STRIPE_SECRET_KEY": "sk_test_abc"}, "STRIPE_WEBHOOK_SECRET"),
        ({"STRIPE_SECRET_KEY": "pk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc"}, "STRIPE_SECRET_KEY"),
        ({"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "abc"}, "STRIPE_WEBHOOK_SECRET"),
        ({"STRIPE_API_BASE": "localhost:12111"}, "STRIPE_API_BASE"),
        ({"PLATFORM_FEE_PERCENT": "150"}, "PLATFORM_FEE_PERCENT"),
        ({"PLATFORM_FEE_PERCENT": "-1"}, "PLATFORM_FEE_PERCENT"),
        ({"PLATFORM_FEE_PERCENT": "ten"}, "PLATFORM_FEE_PERCENT"),
        ({"PLATFORM_FEE_PERCENT": "2.555"}, "PLATFORM_FEE_PERCENT"),
    ],
    ids=[
        "key without webhook secret",
        "publishable key",
        "webhook secret malformed",
        "api base not an address",
        "fee over 100",
        "fee negative",
        "fee not a number",
        "fee with three decimals",
    ],
)
def test_bad_stripe_settings_stop_run_at_startup_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    variables: dict[str, str],
    named: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    monkeypatch.setenv("BOT_TOKEN", "123456:ABCdefGhIJKlmnOPQRstuVWXyz0123456789")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(["run"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("bookbot: ") and named in err and err.count("\n") == 1
    assert "sk_test_abc" not in err and "whsec_abc" not in err  # secrets are never echoed


@pytest.mark.parametrize(("raw", "percent"), [("", "0"), ("2.5", "2.5"), ("10 %", "10"), ("100", "100"), ("0", "0")])
def test_the_platform_fee_percent_reads_plain_numbers(raw: str, percent: str) -> None:
    from decimal import Decimal

    from bot.settings import Settings

    assert Settings(platform_fee_percent=raw, _env_file=None).platform_fee_percent == Decimal(percent)


@pytest.mark.parametrize(
    ("amount", "percent", "fee"),
    [(6000, "2.5", 150), (99, "2.5", 2), (101, "2.5", 3), (27000, "0", 0), (6000, "100", 6000), (1, "50", 1)],
    ids=["exact", "2.475 rounds down", "2.525 rounds up", "no fee", "all of it", "half a cent rounds up"],
)
def test_the_platform_fee_is_integer_minor_units_rounded_half_up(amount: int, percent: str, fee: int) -> None:
    from decimal import Decimal

    from bot.services.payments.gateway import platform_fee

    assert platform_fee(amount, Decimal(percent)) == fee


def test_a_restricted_key_with_its_webhook_secret_is_accepted() -> None:
    from bot.settings import Settings

    settings = Settings(stripe_secret_key="rk_test_abc", stripe_webhook_secret="whsec_abc", _env_file=None)
    assert settings.stripe_secret_key is not None


def test_import_refuses_holds_stripe_cannot_honour(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_abc")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_abc")
    short = EXAMPLE_CATALOG.read_text(encoding="utf-8").replace("hold_minutes: 30 ", "hold_minutes: 20 ", 1)
    (tmp_path / "catalog.yaml").write_text(short, encoding="utf-8")
    assert main(["import", "catalog.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bookbot: catalog.yaml: hold_minutes must be at least 30") and "anna-koval (20)" in err
    assert not (tmp_path / "never.db").exists()
