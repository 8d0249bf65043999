"""Every user-facing string in English and French, and the plain-language estimate message.

Strings live in `locales/en.json` and `locales/fr.json` with the same keys (a test compares the
catalogues); dates are written out in words because "14/01/2027" is read differently in each
language and badly by screen readers.
"""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

Lang = Literal["en", "fr"]
LANGUAGES: tuple[Lang, ...] = ("en", "fr")
_LOCALES = Path(__file__).parent / "locales"
_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}


@cache
def catalogue(lang: Lang) -> dict[str, str]:
    """The strings of one language, read once."""
    return json.loads((_LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def t(key: str, lang: Lang, **values: object) -> str:
    """The string `key` in `lang`, with `{name}` placeholders filled."""
    return catalogue(lang)[key].format(**values)


def long_date(day: date, lang: Lang) -> str:
    """14 January 2027 / 14 janvier 2027 (1er janvier in French)."""
    number = "1er" if lang == "fr" and day.day == 1 else str(day.day)
    return f"{number} {_MONTHS[lang][day.month - 1]} {day.year}"


def pick_language(query: str | None, accept_language: str | None) -> Lang:
    """`lang` from the query if given, else the first supported one in Accept-Language, else en."""
    if query in LANGUAGES:
        return query  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code  # type: ignore[return-value]
    return "en"


def estimate_message(*, p50: date, p80: date, past_usual_time: bool, lang: Lang) -> str:
    """The sentence a status page shows and a screen reader reads."""
    key = "estimate.message.past_usual" if past_usual_time else "estimate.message"
    return t(key, lang, p50=long_date(p50, lang), p80=long_date(p80, lang))
