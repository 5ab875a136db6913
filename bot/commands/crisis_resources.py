"""`bookbot crisis-resources`: what the crisis reply gives a client of each country (or one country),
with the source and date every number was checked against."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.cli_errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "crisis-resources",
        help="print the crisis lines and emergency numbers clients are given, by country",
        description=(
            "Print the crisis lines and emergency number a client of each country gets in a crisis reply, with "
            "the page and date each was checked against (bot/services/crisis/resources.yaml). Exit code 2 for "
            "a country with no entry."
        ),
    )
    parser.add_argument("--country", metavar="XX", help="one country, ISO 3166-1 alpha-2 (e.g. UA, US, GB)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=_print_resources)


def _print_resources(args: argparse.Namespace) -> int:
    from bot.services.crisis.resources import CountryResources, default_resources

    resources = default_resources()
    if args.country:
        found = resources.country(args.country)
        if found is None:
            known = ", ".join(sorted(resources.countries))
            raise UsageError(f"crisis-resources: no entry for {args.country!r} (known: {known})")
        chosen: list[CountryResources] = [found]
    else:
        chosen = [resources.countries[code] for code in sorted(resources.countries)]
    directory = {"name": resources.directory_name, "url": resources.directory_url}
    if args.json:
        payload: dict[str, Any] = {"international": directory, "countries": {c.code: _as_json(c) for c in chosen}}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    for country in chosen:
        print(f"{country.code}")
        for line in country.lines:
            extras = [part for part in (line.hours, line.text and f"text {line.text}", line.chat) if part]
            extra = f" ({'; '.join(extras)})" if extras else ""
            print(f"  crisis line: {line.name}: {line.number}{extra}")
            print(f"    checked {line.checked} against {line.source}")
        if not country.lines:
            print("  crisis line: none verified; the reply points to the international directory")
        if country.emergency is not None:
            print(f"  emergency: {country.emergency.number}")
            print(f"    checked {country.emergency.checked} against {country.emergency.source}")
        else:
            print("  emergency: not verified; the reply says 'your local emergency number'")
    print(f"everywhere: {directory['name']} {directory['url']}")
    return 0


def _as_json(country: Any) -> dict[str, Any]:
    return {
        "lines": [
            {
                "name": line.name,
                "number": line.number,
                "tel": line.tel,
                "hours": line.hours,
                "text": line.text,
                "chat": line.chat,
                "source": line.source,
                "checked": line.checked.isoformat(),
            }
            for line in country.lines
        ],
        "emergency": None
        if country.emergency is None
        else {
            "number": country.emergency.number,
            "source": country.emergency.source,
            "checked": country.emergency.checked.isoformat(),
        },
    }
