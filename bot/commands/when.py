"""`bookbot when`: audit the free-text time parser, one message per line in, one JSON object per line out.

The parser (and dateparser behind it) is imported inside the handler: bot/cli.py imports every command
module at startup, and `bookbot --help` should not pay for it.
"""

from __future__ import annotations

import argparse
import io
import sys
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

LANGUAGES_HELP = "en, es, ru, uk, de, fr"


class _BadArgument(Exception):
    """One line on stderr, exit code 2."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "when",
        help="read messages (one a line) as requests for a session time, print one JSON object a line",
        description=(
            "Read each line of standard input as a client's reply to a reminder, with the chat's own parser "
            "(bot/services/time_request), and print "
            'one JSON object per line, in order: {"understood": true, "from": ISO, "to": ISO} (the earliest '
            'and latest session start asked for, in --tz with its offset) or {"understood": false}. '
            "Exit code 2 on a bad argument."
        ),
    )
    parser.add_argument("--tz", required=True, metavar="ZONE", help="the client's IANA time zone, e.g. Europe/Kyiv")
    parser.add_argument(
        "--now",
        required=True,
        metavar="ISO-8601",
        help="when the message was sent, e.g. 2026-12-01T10:00:00-05:00 (without an offset: local time in --tz)",
    )
    parser.add_argument(
        "--lang", default="en", metavar="LL", help=f"the client's language: {LANGUAGES_HELP} (default: en)"
    )
    parser.add_argument(
        "--any-language",
        action="store_true",
        help="read each line as the chat reads a reply: in whichever language reads most of it, --lang on a tie",
    )
    parser.add_argument(
        "--session",
        metavar="ISO-8601",
        help='the booked session\'s start, for phrases about it ("an hour later", "same time next week"); '
        "without it they are not understood",
    )
    parser.set_defaults(handler=_when)


def _when(args: argparse.Namespace) -> int:
    try:
        zone, now, lang, session = _arguments(args)
        langs = _languages(lang, any_language=bool(args.any_language))
    except _BadArgument as exc:
        print(f"bookbot: {exc}", file=sys.stderr)
        return 2
    for stream in (sys.stdin, sys.stdout):
        # Messages are UTF-8 whatever the operator's locale; a byte that is not becomes U+FFFD, not a traceback.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="replace")
    _answer_each_line(sys.stdin, sys.stdout, zone=zone, now=now, langs=langs, session=session)
    return 0


def _languages(lang: str, *, any_language: bool) -> list[str]:
    """`--lang` alone, or (as the chat reads a reply to a reminder) it first, then every other language."""
    from bot.services.time_request import LANGUAGES

    return list(dict.fromkeys([lang, *LANGUAGES])) if any_language else [lang]


def _arguments(args: argparse.Namespace) -> tuple[ZoneInfo, datetime, str, datetime | None]:
    from bot.services.errors import InvalidTimeZone
    from bot.services.time_request import LANGUAGES
    from bot.services.timezones import zone as zone_named

    try:
        zone = zone_named(args.tz)
    except InvalidTimeZone:
        raise _BadArgument(f"--tz {args.tz!r} is not a time zone: use an IANA name such as Europe/Kyiv") from None
    lang = args.lang.strip().lower().replace("_", "-").split("-")[0]
    if lang not in LANGUAGES:
        raise _BadArgument(f"--lang {args.lang!r} is not one of {LANGUAGES_HELP}")
    now = _instant("--now", args.now, zone)
    session = _instant("--session", args.session, zone) if args.session is not None else None
    return zone, now, lang, session


def _instant(option: str, text: str, zone: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _BadArgument(
            f"{option} {text!r} is not an ISO-8601 date and time, e.g. 2026-12-01T10:00:00-05:00"
        ) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _answer_each_line(
    lines: TextIO, out: TextIO, *, zone: ZoneInfo, now: datetime, langs: list[str], session: datetime | None
) -> None:
    import json

    from bot.services.time_request import read_in_languages

    for line in lines:
        reading = read_in_languages(line.rstrip("\r\n"), langs, zone=zone, now=now, session=session)
        asked = reading.request if reading is not None else None
        answer: dict[str, object] = (
            {"understood": False}
            if asked is None
            else {
                "understood": True,
                "from": asked.earliest.isoformat(timespec="seconds"),
                "to": asked.latest.isoformat(timespec="seconds"),
            }
        )
        # Flushed line by line, so a pipe in both directions gets each answer as its message goes in.
        out.write(json.dumps(answer) + "\n")
        out.flush()
