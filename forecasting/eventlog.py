"""Adapter from event logs (one row per event) to the applications contract (one row per case).

A mapping names the log's columns, the activities that submit, complete and deliver a case, and
where service, channel, region and priority come from. Every case becomes exactly one row, even
when it lacks the activity that would submit it: the validator quarantines such rows with a
reason, so nothing is dropped here. Dates come out as naive `pl.Datetime("us")` holding
wall-clock time in the mapping's time zone, so `.dt.date()` is the local calendar date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from forecasting.errors import DataContractError
from forecasting.schema import (
    APPLICATION_ID,
    CHANNEL,
    CLOSED_AT,
    COMPLETED_AT,
    CONTRACT_COLUMNS,
    DEFAULT_REGION,
    DELIVERED_AT,
    PRIORITY,
    REGION,
    SERVICE,
    SUBMITTED_AT,
)
from forecasting.tables import SUPPORTED_SUFFIXES, require_columns, scan_table
from forecasting.xes import ACTIVITY, CASE_ID, TIMESTAMP, read_xes

# Contract columns that describe a case and so may come from an attribute or a constant.
CASE_COLUMNS: Final = (SERVICE, CHANNEL, REGION, PRIORITY)
_MUST_BE_MAPPED: Final = (SERVICE, CHANNEL)

# Working names; the double underscore keeps them clear of contract and source columns.
_CASE: Final = "__case"
_ACTIVITY: Final = "__activity"
_TIME: Final = "__time"
_SUBMITTED: Final = "__submitted"
_COMPLETED: Final = "__completed"
_DELIVERED: Final = "__delivered"
_CLOSED: Final = "__closed"
_LAST: Final = "__last"
_LOG_END: Final = "__log_end"
# Joins a case's scope columns and id into one application id.
SCOPE_SEPARATOR: Final = "/"
_UTC: Final = "UTC"
_UTC_TIME: Final = pl.Datetime("us", _UTC)

_EVENT_LOG: Final = "event log"
_XES_SUFFIXES: Final = (".xes", ".xes.gz")
_KNOWN_FORMATS: Final = "a CSV, Parquet, XES (.xes or .xes.gz) file or a folder of Parquet files"


@dataclass(frozen=True)
class EventLogMapping:
    """How to read one event log as applications.

    `start_activities`: the case's first event of one of these submits it; None means the case's
    first event does. A case where none occurs still yields a row, with `submitted_at` empty.
    `end_activities`: None means the case's last event completes it (a closed log); otherwise
    the first of these at or after submission does, and cases without one stay open
    (`completed_at` empty). `delivered_activities` work like end activities for `delivered_at`.
    `case_scope` names columns that qualify the case id when ids are unique only within them
    (BPIC 2015 reuses ids across municipalities); the application id is then the scope values
    and the case id joined by "/", e.g. "5/4020737".
    `attributes` maps a contract column (service, channel, region, priority) to the source
    column holding it (the value on the case's earliest event that has one is taken); `constants`
    gives one value for every case instead. Service and channel must be given one way or the
    other; region defaults to "all" and priority stays empty for the validator to default.
    `timezone` is the zone whose calendar the log lives in: instants are converted to it
    (timestamps without a zone are taken to be UTC, so leave "UTC" for logs of naive local times).
    `quiet_days` is for logs that do not record every way a case ends. A case not completed by
    an end activity whose last event lies at least this many days before the log's end (within
    its `case_scope`, since offices' extracts can end on different days) is over at that last
    event: closed without completion (`closed_at`) when the mapping has end activities, and
    completed there when it has none. A case quiet for less is still open. None (the default)
    keeps every case without an end activity open, and completes every case at its last event
    when there are no end activities.
    """

    case_id: str = CASE_ID
    case_scope: tuple[str, ...] = ()
    activity: str = ACTIVITY
    timestamp: str = TIMESTAMP
    start_activities: tuple[str, ...] | None = None
    end_activities: tuple[str, ...] | None = None
    delivered_activities: tuple[str, ...] | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, str] = field(default_factory=dict)
    timezone: str = _UTC
    quiet_days: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "case_scope", tuple(self.case_scope))
        for name in ("start_activities", "end_activities", "delivered_activities"):
            activities = getattr(self, name)
            _check_activities(name, activities)
            if activities is not None:
                object.__setattr__(self, name, tuple(activities))
        _check_case_columns(self.attributes, self.constants)
        _check_timezone(self.timezone)
        if self.quiet_days is not None and (
            isinstance(self.quiet_days, bool)
            or not isinstance(self.quiet_days, int)
            or self.quiet_days < 1
        ):
            raise DataContractError(
                "quiet_days", "None or a whole number of days >= 1", repr(self.quiet_days)
            )
        # Read-only copies: the mapping is frozen, and a caller's dict must not change it later.
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        object.__setattr__(self, "constants", MappingProxyType(dict(self.constants)))

    def source_columns(self) -> tuple[str, ...]:
        """The event-log columns this mapping reads, each once."""
        columns = (
            *self.case_scope,
            self.case_id,
            self.activity,
            self.timestamp,
            *self.attributes.values(),
        )
        return tuple(dict.fromkeys(columns))


def read_events(path: Path, mapping: EventLogMapping) -> pl.LazyFrame:
    """Open an event log as a frame of events: CSV, Parquet (a file or a folder) or XES.

    CSV is read as text, like every table delai reads (so case ids like "007" survive), and a
    text timestamp column is parsed to UTC. XES is parsed here, in full, by
    `forecasting.xes.read_xes`: columns `case_id`, `activity`, `timestamp` and the trace
    attributes as `case:<key>`.
    """
    if not path.exists():
        raise DataContractError(
            _EVENT_LOG, "an existing file or folder", f"'{path}', which does not exist"
        )
    if path.name.lower().endswith(_XES_SUFFIXES):
        return read_xes(path).lazy()
    if path.is_file() and path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise DataContractError(
            _EVENT_LOG, _KNOWN_FORMATS, f"'{path.name}' (unknown format '{path.suffix}')"
        )
    events = scan_table(path, field=_EVENT_LOG)
    if events.collect_schema().get(mapping.timestamp) == pl.String:
        parsed = _utc_times(pl.col(mapping.timestamp), pl.String(), mapping)
        events = events.with_columns(parsed.alias(mapping.timestamp))
    return events


def events_to_applications(events: pl.LazyFrame, mapping: EventLogMapping) -> pl.LazyFrame:
    """One row per case in the applications contract's columns, before validation.

    Rows come in the order of each case's earliest event. A case whose start activity never
    occurs still gets a row, with `submitted_at` empty, for the validator to quarantine with a
    reason; an open case has `completed_at` empty. See `EventLogMapping` for the rules.
    """
    schema = require_columns(events, mapping.source_columns(), table=_EVENT_LOG)
    time = _utc_times(pl.col(mapping.timestamp), schema[mapping.timestamp], mapping)
    scope = [pl.col(column).cast(pl.String) for column in mapping.case_scope] or [pl.lit("")]
    per_event = events.select(
        _case_key(mapping).alias(_CASE),
        pl.col(mapping.activity).cast(pl.String).alias(_ACTIVITY),
        time.alias(_TIME),
        time.max().over(scope).alias(_LOG_END),
        *[pl.col(source).cast(pl.String).alias(col) for col, source in mapping.attributes.items()],
    )
    submitted = _first_of(mapping.start_activities, after=None, default=pl.col(_TIME).min())
    ended = _first_of(mapping.end_activities, after=submitted, default=None)
    delivered = _first_of(mapping.delivered_activities, after=submitted, default=None)
    per_case = (
        # Stable sort: "earliest event" and "first that has it" break ties in file order.
        per_event.sort(_TIME, nulls_last=True, maintain_order=True)
        .group_by(_CASE, maintain_order=True)
        .agg(
            submitted.alias(_SUBMITTED),
            ended.alias(_COMPLETED),
            delivered.alias(_DELIVERED),
            pl.col(_TIME).max().alias(_LAST),
            pl.col(_LOG_END).first(),
            *[pl.col(column).drop_nulls().first() for column in mapping.attributes],
        )
        .with_columns(_endings(mapping))
    )
    contract = {
        APPLICATION_ID: pl.col(_CASE),
        **{column: _case_column(column, mapping) for column in CASE_COLUMNS},
        SUBMITTED_AT: _local(pl.col(_SUBMITTED), mapping.timezone),
        COMPLETED_AT: _local(pl.col(_COMPLETED), mapping.timezone),
        DELIVERED_AT: _local(pl.col(_DELIVERED), mapping.timezone),
        CLOSED_AT: _local(pl.col(_CLOSED), mapping.timezone),
    }
    return per_case.select(contract[column].alias(column) for column in CONTRACT_COLUMNS)


def _endings(mapping: EventLogMapping) -> list[pl.Expr]:
    """Completion and closure per case, from its end activity, last event and the log's end."""
    last = pl.col(_LAST)
    if mapping.quiet_days is None:
        over = pl.lit(True) if mapping.end_activities is None else pl.lit(False)
    else:
        over = pl.col(_LOG_END) - last >= timedelta(days=mapping.quiet_days)
    if mapping.end_activities is None:
        return [
            pl.when(over).then(last).alias(_COMPLETED),
            pl.lit(None, dtype=_UTC_TIME).alias(_CLOSED),
        ]
    return [pl.when(pl.col(_COMPLETED).is_null() & over).then(last).alias(_CLOSED)]


def _case_key(mapping: EventLogMapping) -> pl.Expr:
    parts = [pl.col(column).cast(pl.String) for column in (*mapping.case_scope, mapping.case_id)]
    return pl.concat_str(parts, separator=SCOPE_SEPARATOR) if mapping.case_scope else parts[0]


def _first_of(
    activities: tuple[str, ...] | None, *, after: pl.Expr | None, default: pl.Expr | None
) -> pl.Expr:
    """Time of the case's first event of `activities` at or after `after`, within a group."""
    if activities is None:
        return pl.lit(None, dtype=_UTC_TIME) if default is None else default
    wanted = pl.col(_ACTIVITY).is_in(list(activities))
    if after is not None:
        # Without a submission there is no "after": any occurrence counts.
        wanted = wanted & (pl.col(_TIME) >= after).fill_null(True)
    return pl.col(_TIME).filter(wanted).min()


def _case_column(column: str, mapping: EventLogMapping) -> pl.Expr:
    if column in mapping.attributes:
        return pl.col(column)
    if column in mapping.constants:
        return pl.lit(mapping.constants[column], dtype=pl.String)
    return pl.lit(DEFAULT_REGION if column == REGION else None, dtype=pl.String)


def _utc_times(times: pl.Expr, dtype: pl.DataType, mapping: EventLogMapping) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        # No zone means UTC, as in the event frames every reader here produces.
        zoned = times.dt.convert_time_zone if dtype.time_zone else times.dt.replace_time_zone
        return zoned(_UTC).dt.cast_time_unit("us")
    if dtype == pl.Date:
        # A bare date is a day on the log's own calendar: its local midnight.
        local = times.cast(pl.Datetime("us")).dt.replace_time_zone(mapping.timezone)
        return local.dt.convert_time_zone(_UTC)
    if dtype == pl.String:
        return times.str.to_datetime(time_zone=_UTC, time_unit="us")
    raise DataContractError(
        f"timestamp column {mapping.timestamp!r}",
        "Datetime, Date or ISO 8601 text",
        str(dtype),
    )


def _local(times: pl.Expr, timezone: str) -> pl.Expr:
    return times.dt.convert_time_zone(timezone).dt.replace_time_zone(None)


def _check_activities(name: str, activities: tuple[str, ...] | None) -> None:
    # A bare string would be read as a tuple of one-letter activities, silently matching none.
    if activities is not None and (isinstance(activities, str) or not activities):
        raise DataContractError(
            name, "None or a non-empty tuple of activity names", repr(activities)
        )


def _check_case_columns(attributes: Mapping[str, str], constants: Mapping[str, str]) -> None:
    unknown = sorted((set(attributes) | set(constants)) - set(CASE_COLUMNS))
    if unknown:
        raise DataContractError(
            "EventLogMapping attributes and constants",
            f"keyed by contract columns ({', '.join(CASE_COLUMNS)})",
            ", ".join(unknown),
        )
    both = sorted(set(attributes) & set(constants))
    if both:
        raise DataContractError(
            "EventLogMapping attributes and constants",
            "disjoint",
            f"{', '.join(both)} in both",
        )
    unmapped = [column for column in _MUST_BE_MAPPED if column not in {*attributes, *constants}]
    if unmapped:
        raise DataContractError(
            f"EventLogMapping {' and '.join(_MUST_BE_MAPPED)}",
            "given as an attribute or a constant",
            f"nothing for {', '.join(unmapped)}",
        )


def _check_timezone(timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise DataContractError(
            "timezone", "an IANA time zone such as Europe/Rome", repr(timezone)
        ) from error
