"""`bookbot zone-search`: which zones a typed place means, with the very search the chat's zone step uses."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.services.zone_search import ZoneMatch

LANGUAGES = ("en", "uk", "ru", "es", "de", "fr", "pl", "it")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "zone-search",
        help="audit the time zone search on typed places",
        description=(
            "Print the time zones a place means, best first, as the chat offers them: a city ('Kharkiv', "
            "'San Francisco, CA'), a country ('USA', 'Україна'), an IANA name, an abbreviation ('EST') or an "
            "offset ('UTC+3'). With QUERY words, one query; without, one query per line on standard input and "
            "one result per line on standard output, in order (an empty line, or [] with --json, for no match). "
            "The first search loads the place index (a few seconds). Exit code 2 on a bad argument."
        ),
    )
    parser.add_argument("query", nargs="*", metavar="QUERY", help="the place as a person would type it")
    parser.add_argument(
        "--lang",
        default="en",
        metavar="LL",
        help=f"language of the country names in the labels, one of {', '.join(LANGUAGES)} (default: en)",
    )
    parser.add_argument(
        "--now",
        metavar="ISO-8601",
        help="the instant offsets such as UTC+3 are compared at, with a UTC offset (default: the real now)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print JSON arrays of {"zone", "label", "place", "region", "country", "country_code", "certain"}',
    )
    parser.set_defaults(handler=_zone_search)


def _zone_search(args: argparse.Namespace) -> int:
    from datetime import datetime

    from bot.services.clock import SystemClock
    from bot.services.zone_search import search_zones

    if args.lang not in LANGUAGES:
        print(f"bookbot: --lang {args.lang!r} is not one of {', '.join(LANGUAGES)}", file=sys.stderr)
        return 2
    if args.now is None:
        now = SystemClock().now()
    else:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"bookbot: --now {args.now!r} is not an ISO-8601 date and time", file=sys.stderr)
            return 2
        if now.tzinfo is None:
            print("bookbot: --now needs a UTC offset, e.g. 2026-12-01T09:00:00+00:00", file=sys.stderr)
            return 2

    def answer(query: str) -> list[ZoneMatch]:
        return search_zones(query, args.lang, at=now)

    try:
        _print_answers(args, answer)
    except BrokenPipeError:
        # `bookbot zone-search < queries | head`: the reader has what it wanted; no traceback.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout once more at exit
    return 0


def _print_answers(args: argparse.Namespace, answer: Callable[[str], list[ZoneMatch]]) -> None:
    if args.query:
        matches = answer(" ".join(args.query))
        if args.json:
            print(json.dumps([_as_json(match) for match in matches], ensure_ascii=False))
        else:
            for match in matches:
                print(match.label)
        return
    _each_line(sys.stdin, sys.stdout, answer, as_json=args.json)


def _each_line(lines: TextIO, out: TextIO, answer: Callable[[str], list[ZoneMatch]], *, as_json: bool) -> None:
    for line in lines:
        matches = answer(line.rstrip("\n"))
        if as_json:
            out.write(json.dumps([_as_json(match) for match in matches], ensure_ascii=False) + "\n")
        else:
            out.write(" | ".join(match.label for match in matches) + "\n")
        out.flush()


def _as_json(match: ZoneMatch) -> dict[str, str | bool | None]:
    return {
        "zone": match.zone,
        "label": match.label,
        "place": match.place,
        "region": match.region,
        "country": match.country,
        "country_code": match.country_code,
        # false for a guess (a beginning, a typo): the chat asks even when it is the only candidate
        "certain": match.certain,
    }
