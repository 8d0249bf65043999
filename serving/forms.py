"""The status page's form: read it from the query string and check it, one small check per field.

Every check says what was expected in the reader's language, and all problems are reported at
once, each tied to the input it concerns, so the page can list them in an error summary that
links to the fields (the GOV.UK and GC Design System error pattern).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from serving.i18n import Lang, join_or, label, long_date, t
from serving.lookup import EstimateTable, Segment

FIELDS = ("service", "channel", "region", "day", "month", "year")
DATE_PARTS = ("day", "month", "year")
# Order of the fields on the page: the error summary lists problems in this order.
_PAGE_ORDER = ("service", "channel", "region", "submitted")
# Long enough for any real answer; a longer value is cut before it is echoed back.
_MAX_LENGTH = 20
_DIGITS = re.compile(r"[0-9]{1,4}")


@dataclass(frozen=True)
class StatusForm:
    """The form's values as sent (stripped and cut to a sane length), echoed back on errors."""

    service: str = ""
    channel: str = ""
    region: str = ""
    day: str = ""
    month: str = ""
    year: str = ""


@dataclass(frozen=True)
class FieldError:
    """One problem: which field, which input the summary links to, and what to do about it."""

    field: str
    anchor: str
    message: str
    # For the date: the parts (day, month, year) that are wrong, so only those are marked.
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Options:
    """What the form offers: the codes present in the estimate table, and the segments."""

    services: tuple[str, ...]
    channels: tuple[str, ...]
    regions: tuple[str, ...]
    segments: frozenset[Segment]


@dataclass(frozen=True)
class Checked:
    """A checked form: the segment and date when every check passed, else the errors."""

    segment: Segment | None
    submitted_on: date | None
    errors: tuple[FieldError, ...]


def read_form(params: Mapping[str, str]) -> StatusForm | None:
    """The form as sent, or None when none of its fields was sent (the page's first visit)."""
    if not any(name in params for name in FIELDS):
        return None
    return StatusForm(**{name: params.get(name, "").strip()[:_MAX_LENGTH] for name in FIELDS})


def options(table: EstimateTable, lang: Lang) -> Options:
    """The services, channels and regions of the table, each sorted by its name in `lang`."""

    def by_name(kind: str, codes: set[str]) -> tuple[str, ...]:
        return tuple(sorted(codes, key=lambda code: sort_key(label(kind, code, lang))))

    return Options(
        services=by_name("service", {s for s, _, _ in table.segments}),
        channels=by_name("channel", {c for _, c, _ in table.segments}),
        regions=by_name("region", {r for _, _, r in table.segments}),
        segments=frozenset(table.segments),
    )


def check_form(form: StatusForm, table: EstimateTable, lang: Lang) -> Checked:
    """Every check at once; the segment and date are set only when there is no error."""
    offered = options(table, lang)
    service = check_choice("service", form.service, offered.services, lang)
    channel = check_choice("channel", form.channel, offered.channels, lang)
    region = check_choice("region", form.region, offered.regions, lang)
    errors = [e for e in (service, channel, region) if e is not None]
    segment: Segment = (form.service, form.channel, form.region)
    if not errors:
        combination = check_segment(segment, offered, lang)
        if combination is not None:
            errors.append(combination)
    submitted_on, date_error = check_date(form, table.first_day, table.last_day, lang)
    if date_error is not None:
        errors.append(date_error)
    if errors:
        ordered = sorted(errors, key=lambda e: _PAGE_ORDER.index(e.field))
        return Checked(None, None, tuple(ordered))
    return Checked(segment, submitted_on, ())


def check_choice(field: str, value: str, allowed: tuple[str, ...], lang: Lang) -> FieldError | None:
    """A radio or select answer must be one of the options offered (else: choose one)."""
    if value in allowed:
        return None
    return FieldError(field, field, t(f"error.{field}.missing", lang))


def check_segment(segment: Segment, offered: Options, lang: Lang) -> FieldError | None:
    """The three answers must name a segment we estimate; if not, say which ones exist."""
    if segment in offered.segments:
        return None
    service, channel, region = segment
    names = {
        "service": label("service", service, lang),
        "channel": label("channel.phrase", channel, lang),
        "region": label("region", region, lang),
    }
    channels = [c for c in offered.channels if (service, c, region) in offered.segments]
    if channels:
        choices = [label("channel.phrase", c, lang) for c in channels]
        message = t("error.segment.channel", lang, **names, choices=join_or(choices, lang))
        return FieldError("channel", "channel", message)
    regions = [
        r
        for r in offered.regions
        if any((service, c, r) in offered.segments for c in offered.channels)
    ]
    choices = [label("region", r, lang) for r in regions]
    message = t("error.segment.region", lang, **names, choices=join_or(choices, lang))
    return FieldError("region", "region", message)


def check_date(
    form: StatusForm, first: date, last: date, lang: Lang
) -> tuple[date | None, FieldError | None]:
    """Day, month and year must make a real date within the table's first and last days."""
    given = {"day": form.day, "month": form.month, "year": form.year}
    missing = tuple(part for part in DATE_PARTS if not given[part])
    if len(missing) == len(DATE_PARTS):
        return None, _date_error(t("error.date.missing", lang), DATE_PARTS)
    if missing:
        return None, _date_error(t(f"error.date.missing.{'_'.join(missing)}", lang), missing)
    not_numbers = tuple(part for part in DATE_PARTS if not _DIGITS.fullmatch(given[part]))
    if not_numbers:
        return None, _date_error(t("error.date.not_real", lang), not_numbers)
    if len(form.year) != 4:
        return None, _date_error(t("error.date.year_digits", lang), ("year",))
    day, month, year = int(form.day), int(form.month), int(form.year)
    try:
        submitted_on = date(year, month, day)
    except ValueError:
        wrong = ("month",) if not 1 <= month <= 12 else ("day",)
        return None, _date_error(t("error.date.not_real", lang), wrong)
    if submitted_on > last:
        message = t("error.date.too_late", lang, limit=long_date(last, lang))
        return None, _date_error(message, DATE_PARTS)
    if submitted_on < first:
        message = t("error.date.too_early", lang, limit=long_date(first, lang))
        return None, _date_error(message, DATE_PARTS)
    return submitted_on, None


def date_input_id(part: str) -> str:
    """The id of the day, month or year input."""
    return f"submitted-{part}"


def _date_error(message: str, parts: tuple[str, ...]) -> FieldError:
    # The summary links to the first wrong part, where the reader starts correcting.
    return FieldError("submitted", date_input_id(parts[0]), message, parts)


def sort_key(name: str) -> str:
    """Alphabetical order that files Île and Québec under I and Q, not after Z."""
    plain = unicodedata.normalize("NFKD", name)
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()
