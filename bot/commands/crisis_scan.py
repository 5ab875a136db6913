"""`bookbot crisis-scan`: the audit tool for the crisis phrase data (one message per line on stdin, one
JSON object per line on stdout), running the very detector the chat runs."""

from __future__ import annotations

import argparse
import json
import re
import sys

# What Telegram's language_code looks like ("en", "pt-br", "zh-hans"): any such code is taken as the
# chat takes it; something else is an operator's typo.
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "crisis-scan",
        help="check lines of text for signs of crisis, as the bot does (JSON lines out)",
        description=(
            'Read one message per line on stdin; print one JSON object per line, in order: {"crisis": '
            'true|false, "lang": "es", "matched": "<rule id or null>"}. The phrase data is in '
            'bot/services/crisis/phrases/<lang>.yaml; matched is "model:<exemplar id>" when only the model layer '
            "(bot/services/crisis/exemplars/exemplars.tsv) found it."
        ),
    )
    parser.add_argument(
        "--lang",
        type=_language_code,
        metavar="CODE",
        help="the language to report when the text itself does not tell (as Telegram's language_code does)",
    )
    parser.add_argument(
        "--no-model",
        action="store_true",
        help="the phrase data alone, without the model layer (to audit the phrase data by itself)",
    )
    parser.set_defaults(handler=_scan)


def _language_code(text: str) -> str:
    if not _LANGUAGE_CODE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a language code such as en, uk or pt-br")
    return text


def _scan(args: argparse.Namespace) -> int:
    # Imported here so `bookbot --help` does not load and compile the phrase data.
    from bot.services.crisis.detect import default_detector

    detector = default_detector()
    loading = None
    if not args.no_model:
        from bot.services.crisis.model import AwaitedLayer, ModelLoading

        # Loaded in the background while lines are read; a line the model would be asked about waits for it,
        # so every line gets the answer the bot gives once the layer has loaded (a layer that cannot load says
        # so in one warning line, and the phrase data answers alone). Lines the phrase data decides, or too
        # short for the model, are answered at once. The loading starts once the first line is answered (or
        # when that line needs the model), so that it does not slow that answer down; at once when someone is
        # typing the lines.
        loading = ModelLoading(detector)
        detector.model = AwaitedLayer(loading, start=True)
        if sys.stdin.isatty():
            loading.start()
    for line in sys.stdin:
        found = detector.detect(line.rstrip("\r\n"), args.lang)
        print(json.dumps(found.as_json(), ensure_ascii=False), flush=True)
        if loading is not None:
            loading.start()
    return 0
