"""Answers as JSON bytes, serialised once per model and language, so an estimate is a dict lookup.

An estimate is written out the first time it is asked for and kept with its model version (a
few tens of MB at most: segments x 456 days x 2 languages); writing all of them at load would
cost seconds of CPU for answers nobody asks for. A request that misses is checked field by field,
which is also how an invalid one learns exactly what was wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from forecasting.models.base import MAX_DAYS_AHEAD
from forecasting.schema import DEFAULT_REGION
from serving.errors import InputError, Problem, echo, summary
from serving.i18n import LANGUAGES, Lang, catalogue, estimate_message
from serving.lookup import DAYS_BACK, Estimate, EstimateTable, Segment

# service, channel, region and submitted_on exactly as a valid query spells them.
Key = tuple[str, str, str, str]
Index = Mapping[str, Mapping[str, tuple[str, ...]]]
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_FORMAT = "a date as YYYY-MM-DD"


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def label(kind: str, code: str) -> dict[str, str]:
    """A code with its English and French names; the code itself where none is catalogued."""
    return {
        "code": code,
        **{lang: catalogue(lang).get(f"{kind}.{code}", code) for lang in LANGUAGES},
    }


def segment_labels(segment: Segment) -> dict[str, dict[str, str]]:
    service, channel, region = segment
    return {
        "service": label("service", service),
        "channel": label("channel", channel),
        "region": label("region", region),
    }


@dataclass(frozen=True)
class Prepared:
    """One model version's answers; the table never changes, the caches only fill."""

    table: EstimateTable
    tag: str
    index: Index
    services: bytes
    # Serialised estimates by language, filled on first request (only for valid keys).
    bodies: Mapping[Lang, dict[Key, bytes]] = field(
        default_factory=lambda: {lang: {} for lang in LANGUAGES}, repr=False
    )
    # Processing-times pages by reference day, filled on first request (one a day).
    times: dict[date, bytes] = field(default_factory=dict, repr=False)

    def etag(self, suffix: str) -> str:
        return f'"{self.tag}-{suffix}"'


def prepare(table: EstimateTable) -> Prepared:
    """What every request needs of `table`: its segments index, services answer and ETag."""
    index: dict[str, dict[str, list[str]]] = {}
    for service, channel, region in table.segments:
        index.setdefault(service, {}).setdefault(channel, []).append(region)
    frozen = {s: {c: tuple(sorted(r)) for c, r in cs.items()} for s, cs in index.items()}
    return Prepared(
        table=table, tag=_tag(table), index=frozen, services=_dumps(services_dict(table))
    )


def _tag(table: EstimateTable) -> str:
    """Changes with the model and with the wording the answers carry (the catalogues)."""
    digest = hashlib.sha256()
    digest.update(f"{table.model_version}\0{table.as_of}\0{len(table.estimates)}\0".encode())
    for lang in LANGUAGES:
        digest.update(_dumps(catalogue(lang)))
    return digest.hexdigest()[:20]


def estimate_dict(estimate: Estimate, table: EstimateTable, lang: Lang) -> dict[str, Any]:
    assert estimate.p50 and estimate.p80 and estimate.p90
    return {
        "service": estimate.service,
        "channel": estimate.channel,
        "region": estimate.region,
        "submitted_on": estimate.submitted_on.isoformat(),
        "as_of": table.as_of.isoformat(),
        "model_version": table.model_version,
        "p50": _percentile(estimate.p50, estimate.p50_business_days, estimate.delivery_p50),
        "p80": _percentile(estimate.p80, estimate.p80_business_days, estimate.delivery_p80),
        "p90": _percentile(estimate.p90, estimate.p90_business_days, estimate.delivery_p90),
        "past_usual_time": estimate.past_usual_time,
        "lang": lang,
        "message": estimate_message(
            p50=estimate.p50, p80=estimate.p80, past_usual_time=estimate.past_usual_time, lang=lang
        ),
    }


def _percentile(completed: date, business_days: int | None, delivered: date | None) -> dict:
    return {
        "completed_by": completed.isoformat(),
        "business_days": business_days,
        "delivered_by": delivered.isoformat() if delivered else None,
    }


def services_dict(table: EstimateTable) -> dict[str, Any]:
    return {
        "model_version": table.model_version,
        "as_of": table.as_of.isoformat(),
        "first_submitted_on": table.first_day.isoformat(),
        "last_submitted_on": table.last_day.isoformat(),
        "segments": [segment_labels(segment) for segment in table.segments],
    }


# --- one estimate ------------------------------------------------------------------------------
def estimate_body(
    prepared: Prepared,
    lang: Lang,
    service: str | None,
    channel: str | None,
    region: str | None,
    submitted_on: str | None,
    *,
    location: str = "query",
) -> bytes:
    """The serialised estimate; raises `InputError` naming every problem when there is none."""
    key = (service, channel, region, submitted_on)
    body = prepared.bodies[lang].get(key)  # type: ignore[arg-type]
    if body is None:
        body = _first_time(prepared, lang, service, channel, region, submitted_on, location)
    return body


def _first_time(
    prepared: Prepared,
    lang: Lang,
    service: str | None,
    channel: str | None,
    region: str | None,
    submitted_on: str | None,
    location: str,
) -> bytes:
    """Check the request field by field; serialise and keep the answer when it has one."""
    found = _segment_problems(prepared.index, service, channel, region, location)
    day, day_problems = _parse_day(prepared.table, submitted_on, location)
    found += day_problems
    if found:
        raise InputError(found)
    assert service and channel and region and submitted_on and day
    table = prepared.table
    estimate = table.get((service, channel, region), day)
    if estimate is None or estimate.error or not (estimate.p50 and estimate.p80 and estimate.p90):
        reason = estimate.error if estimate and estimate.error else "no estimate for this day"
        expected = f"a day the model can estimate for this segment ({reason})"
        raise InputError([Problem("submitted_on", expected, submitted_on, location)])
    body = _dumps(estimate_dict(estimate, table, lang))
    # A dict store is atomic under the GIL; two first requests at once both write the same bytes.
    prepared.bodies[lang][(service, channel, region, submitted_on)] = body
    return body


def _segment_problems(
    index: Index, service: str | None, channel: str | None, region: str | None, location: str
) -> list[Problem]:
    if service is None or service not in index:
        return [Problem("service", _one_of(index), echo(service), location)]
    channels = index[service]
    if channel is None or channel not in channels:
        expected = f"{_one_of(channels)} for {service}"
        return [Problem("channel", expected, echo(channel), location)]
    regions = channels[channel]
    if region not in regions:
        expected = f"{_one_of(regions)} for {service} {channel}"
        return [Problem("region", expected, echo(region), location)]
    return []


def _one_of(codes: Iterable[str]) -> str:
    return "one of " + ", ".join(sorted(codes))


def _parse_day(
    table: EstimateTable, text: str | None, location: str
) -> tuple[date | None, list[Problem]]:
    if not text or not _ISO_DAY.fullmatch(text):
        return None, [Problem("submitted_on", _DAY_FORMAT, echo(text), location)]
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None, [
            Problem("submitted_on", "a real calendar date as YYYY-MM-DD", echo(text), location)
        ]
    if day > table.last_day:
        expected = (
            f"a date no later than {table.last_day} ({MAX_DAYS_AHEAD} days after the data's "
            f"as-of date {table.as_of})"
        )
        return None, [Problem("submitted_on", expected, text, location)]
    if day < table.first_day:
        expected = (
            f"a date no earlier than {table.first_day} ({DAYS_BACK} days before the data's "
            f"as-of date {table.as_of})"
        )
        return None, [Problem("submitted_on", expected, text, location)]
    return day, []


# --- a batch -----------------------------------------------------------------------------------
def batch_body(prepared: Prepared, lang: Lang, items: Iterable[Mapping[str, Any]]) -> bytes:
    """Every item answered or refused on its own, in order; the estimates' bytes are reused."""
    table = prepared.table
    parts: list[bytes] = []
    failed = 0
    for item in items:
        region = item.get("region")
        try:
            body = estimate_body(
                prepared,
                lang,
                item.get("service"),
                item.get("channel"),
                DEFAULT_REGION if region is None else region,
                item.get("submitted_on"),
                location="body",
            )
        except InputError as refused:
            failed += 1
            error = {
                "message": summary(refused.problems),
                "problems": [p.as_dict() for p in refused.problems],
            }
            parts.append(b'{"estimate":null,"error":' + _dumps(error) + b"}")
            continue
        parts.append(b'{"estimate":' + body + b',"error":null}')
    head = {
        "model_version": table.model_version,
        "as_of": table.as_of.isoformat(),
        "lang": lang,
        "answered": len(parts) - failed,
        "failed": failed,
    }
    return _dumps(head)[:-1] + b',"results":[' + b",".join(parts) + b"]}"


# --- processing times --------------------------------------------------------------------------
def reference_day(table: EstimateTable, today: date) -> date:
    """Today, when the table covers it; else the as-of date, the model's own today."""
    return today if table.first_day <= today <= table.last_day else table.as_of


def processing_times_body(prepared: Prepared, day: date) -> bytes:
    """One row per segment: P80 for a file submitted on `day`, and measured accuracy."""
    cached = prepared.times.get(day)
    if cached is None:
        cached = prepared.times[day] = _dumps(processing_times_dict(prepared.table, day))
    return cached


def processing_times_dict(table: EstimateTable, day: date) -> dict[str, Any]:
    rows = []
    for segment in table.segments:
        estimate = table.get(segment, day)
        p80 = estimate.p80 if estimate and not estimate.error else None
        accuracy = table.accuracy.get(segment)
        rows.append(
            {
                **segment_labels(segment),
                "p80_days": (p80 - day).days if p80 else None,
                "p80_business_days": estimate.p80_business_days if estimate and p80 else None,
                "p80_date": p80.isoformat() if p80 else None,
                "accuracy": None
                if accuracy is None
                else {
                    "files_scored": accuracy.files_scored,
                    "coverage_p80": _round(accuracy.coverage_p80, 3),
                    "mae_p50_days": _round(accuracy.mae_p50_days, 2),
                    "published_mae_p50_days": _round(accuracy.published_mae_p50_days, 2),
                },
                "error": None
                if p80
                else (
                    estimate.error if estimate and estimate.error else "no estimate for this day"
                ),
            }
        )
    return {
        "model_version": table.model_version,
        "as_of": table.as_of.isoformat(),
        "submitted_on": day.isoformat(),
        "rows": rows,
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)
