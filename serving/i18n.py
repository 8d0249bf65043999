"""Every user-facing string in English and French, and the plain-language estimate message.

Strings live in `locales/en.json` and `locales/fr.json` with the same keys (a test compares the
catalogues); dates are written out in words because "14/01/2027" is read differently in each
language and badly by screen readers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def has(key: str, lang: Lang) -> bool:
    """Whether the catalogue of `lang` holds `key`."""
    return key in catalogue(lang)


def label(kind: str, code: str, lang: Lang) -> str:
    """The readable name of a service, channel or region code; the code itself if it has none."""
    key = f"{kind}.{code}"
    return t(key, lang) if has(key, lang) else code


def join_or(items: Sequence[str], lang: Lang) -> str:
    """A list read as a choice: A, B or C / A, B ou C."""
    if len(items) < 2:
        return "".join(items)
    return t("list.or", lang, head=", ".join(items[:-1]), last=items[-1])


def whole_number(value: int, lang: Lang) -> str:
    """1,234 / 1 234 (a no-break space, so the number never wraps)."""
    return f"{value:,}".replace(",", "," if lang == "en" else "\u00a0")


def percent(share: float, lang: Lang) -> str:
    """0.873 -> 87% / 87 %."""
    return t("format.percent", lang, value=round(100 * share))


def day_count(days: int, lang: Lang, *, business: bool = False) -> str:
    """A number of days in words: 1 day, 5 days / 1 jour, 5 jours (French: 0 is singular)."""
    one = days == 1 if lang == "en" else days in (0, 1)
    kind = "business_days" if business else "days"
    return t(f"format.{kind}.{'one' if one else 'other'}", lang, count=whole_number(days, lang))
